"""Predict (extras/after_training/inference.py: mmcls's init_model and inference_model;
tools/predict.py) on the two demos' checkpoints: a file, an array, a folder in batches, the
class names, the real mmcls's labels and scores (golden file; with $MMREF, mmcls itself), and
the one-line errors."""
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
from config import ConfigError, load_config
from data import DatasetError, build_dataset
from extras.after_training.inference import inference_model, init_model, predict_scores
from extras.images.image_pipeline import imread

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / 'golden' / 'after_training_predict.json'


def images(trained, count=4):
    """Some of data.test's images as files: the folder demo's JPEGs, and PNGs of 36x48 cut
    from them (its Resize to a short side of 36 leaves them as they are); the CIFAR demo's
    arrays written as PNGs (RGB, as the pickles hold them) into `cifar_png/`."""
    if 'folder' in Path(trained.config).name:
        os.makedirs(Path(trained.work_dir) / 'folder_png', exist_ok=True)
        paths = [f'data/demo_folder/val/{i:05d}.jpg' for i in range(count)]
        for i, path in enumerate(paths[:2]):
            with Image.open(Path(trained.work_dir) / path) as im:
                im.crop((0, 0, 48, 36)).save(Path(trained.work_dir) / f'folder_png/{i}.png')
        return paths + [f'folder_png/{i}.png' for i in range(2)]
    os.makedirs(Path(trained.work_dir) / 'cifar_png', exist_ok=True)
    cwd = os.getcwd()
    os.chdir(trained.work_dir)
    try:
        dataset = build_dataset(load_config(trained.config).data.test)
        paths = []
        for i in range(count):
            paths.append(f'cifar_png/{i}.png')
            Image.fromarray(dataset.data_infos[i]['img']).save(paths[-1])
    finally:
        os.chdir(cwd)
    return paths


def run_predict(trained, *args):
    return procs.run([sys.executable, str(ROOT / 'tools' / 'predict.py'), *args],
                     cwd=trained.work_dir, timeout=600)


@pytest.mark.parametrize('fixture', ['demo_checkpoint', 'folder_checkpoint'])
def test_a_file_an_array_and_the_result_dict(fixture, request, monkeypatch):
    trained = request.getfixturevalue(fixture)
    paths = images(trained)
    monkeypatch.chdir(trained.work_dir)
    model = init_model(trained.config, trained.checkpoint)
    classes = torch.load(trained.checkpoint, weights_only=True)['meta']['CLASSES']
    assert model.CLASSES == classes and not model.training
    result = inference_model(model, paths[0])
    assert list(result) == ['pred_label', 'pred_score', 'pred_class']
    scores = predict_scores(model, paths, batch_size=3)       # 3 + 1 images
    assert result['pred_label'] == int(scores[0].argmax())
    assert result['pred_score'] == pytest.approx(float(scores[0].max()), abs=1e-6)
    assert result['pred_class'] == classes[result['pred_label']]
    # an HxWx3 BGR uint8 array, as mmcv.imread gives: the same as its file
    assert inference_model(model, imread(paths[0])) == pytest.approx(result)
    one_by_one = np.stack([predict_scores(model, [p])[0] for p in paths])
    assert np.allclose(scores, one_by_one, atol=1e-6)
    assert np.allclose(scores.sum(1), 1, atol=1e-5)


def test_a_folder_goes_in_batches(folder_checkpoint, monkeypatch):
    monkeypatch.chdir(folder_checkpoint.work_dir)
    model = init_model(folder_checkpoint.config, folder_checkpoint.checkpoint)
    forwards = []
    model.head.fc.register_forward_hook(lambda m, i, o: forwards.append(len(i[0])))
    paths = [f'data/demo_folder/val/{i:05d}.jpg' for i in range(70)]
    predict_scores(model, paths, batch_size=64)
    assert forwards == [64, 6]


def test_images_of_different_sizes_without_a_resize(demo_checkpoint, tmp_path, monkeypatch):
    """The CIFAR pipeline has no Resize: images of another size go through in their own
    forward, and the others keep their batch."""
    monkeypatch.chdir(demo_checkpoint.work_dir)
    model = init_model(demo_checkpoint.config, demo_checkpoint.checkpoint)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
              for h, w in ((32, 32), (40, 24), (32, 32))]
    scores = predict_scores(model, arrays, batch_size=3)
    assert np.allclose(scores, np.stack([predict_scores(model, [a])[0] for a in arrays]),
                       atol=1e-6)


def test_tools_predict_prints_a_line_per_image_and_writes_json(folder_checkpoint, tmp_path):
    r = run_predict(folder_checkpoint, 'data/demo_folder/val', folder_checkpoint.config,
                    folder_checkpoint.checkpoint, '--topk', '3', '--out', str(tmp_path / 'p.json'))
    assert r.returncode == 0, r.stderr[-3000:]
    found = json.loads((tmp_path / 'p.json').read_text())
    lines = r.stdout.splitlines()
    assert len(lines) == len(found) == 500
    first = found[0]
    assert first['path'] == 'data/demo_folder/val/00000.jpg' and len(first['topk']) == 3
    assert first['topk'][0] == [first['pred_class'], first['pred_score']]
    assert first['topk'][0][1] >= first['topk'][1][1] >= first['topk'][2][1]
    (a, sa), (b, sb) = first['topk'][1:]
    assert lines[0] == (f"data/demo_folder/val/00000.jpg  {first['pred_class']}  "
                        f"{first['pred_score']:.4f}  (then {a} {sa:.4f}, {b} {sb:.4f})")
    r = run_predict(folder_checkpoint, 'data/demo_folder/val/00001.jpg', folder_checkpoint.config,
                    folder_checkpoint.checkpoint)
    assert r.returncode == 0 and r.stdout.count('\n') == 1 and 'then' not in r.stdout
    assert r.stdout.startswith(f"data/demo_folder/val/00001.jpg  {found[1]['pred_class']}  ")


def test_class_names_without_meta(demo_checkpoint, tmp_path, monkeypatch):
    """No CLASSES in the meta: ImageNet's names for a 1000-class head (mmcls's rule), the
    labels as text for any other head (mmcls would name them after ImageNet's first ten)."""
    from config import replace
    cfg = load_config(demo_checkpoint.config)
    saved = torch.load(demo_checkpoint.checkpoint, weights_only=True)
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=saved['state_dict']), bare)
    with pytest.warns(UserWarning, match='no class names in its meta'):
        assert init_model(cfg, str(bare)).CLASSES == [str(i) for i in range(10)]
    cfg = replace(cfg, model=replace(cfg.model, head=replace(cfg.model.head, num_classes=1000)))
    torch.save(dict(state_dict=init_model(cfg).state_dict()), bare)
    with pytest.warns(UserWarning, match="ImageNet's"):
        names = init_model(cfg, str(bare)).CLASSES
    assert len(names) == 1000 and names[0] == 'tench, Tinca tinca'
    saved['meta']['CLASSES'] = ['a', 'b']
    torch.save(saved, bare)
    with pytest.raises(Exception, match=r"meta CLASSES=\"\['a', 'b'\]\" is not a list of 10 "
                                        r'names \(its head has 10 classes\)'):
        init_model(demo_checkpoint.config, str(bare))


# ---- The labels and scores of the real mmcls ------------------------------------------------

def cases(request):
    """{name: (trained, [image path, or 'array:' + path])} for the seeded checkpoints."""
    out = {}
    for name in ('demo_seeded', 'folder_seeded'):
        trained = request.getfixturevalue(name)
        paths = images(trained)
        out[name] = (trained, paths + ['array:' + p for p in paths[:2]])
    return out


def ours(trained, inputs):
    cwd = os.getcwd()
    os.chdir(trained.work_dir)
    try:
        model = init_model(trained.config, trained.checkpoint)
        return [inference_model(model, imread(i[6:]) if i.startswith('array:') else i)
                for i in inputs]
    finally:
        os.chdir(cwd)


def check_against(want, got, inputs):
    """The same labels and classes; the same scores to 1e-5, or to 5e-3 for the folder demo's
    JPEGs, which its pipeline resizes: minicls's bilinear (torch's) and mmcv's (opencv's fixed
    point) differ by up to one grey level (tests/test_testing_tool.py: CASES)."""
    assert [w['pred_label'] for w in want] == [g['pred_label'] for g in got]
    assert [w['pred_class'] for w in want] == [g['pred_class'] for g in got]
    for w, g, i in zip(want, got, inputs):
        atol = 5e-3 if 'demo_folder/' in i else 1e-5
        assert abs(w['pred_score'] - g['pred_score']) <= atol, (i, w, g)


def test_the_labels_and_scores_of_the_real_mmcls_golden(request):
    golden = json.loads(GOLDEN.read_text())
    for name, (trained, inputs) in cases(request).items():
        assert golden[name]['inputs'] == inputs
        check_against(golden[name]['results'], ours(trained, inputs), inputs)


def test_the_real_mmcls_inference_model_and_record_the_golden_file(request, tmp_path, mmref):
    """mmcls's init_model and inference_model (tests/mmcls_after_training_ref.py) on the same
    checkpoints and images (files, and mmcv.imread's arrays): the same labels and classes,
    scores within 1e-5 (check_against); and the golden file is what it gives (MMREF_RECORD=1
    writes the file anew instead)."""
    golden = {}
    all_cases = dict(cases(request), trained=(request.getfixturevalue('folder_checkpoint'), None))
    all_cases['trained'] = (all_cases['trained'][0], all_cases['folder_seeded'][1])
    for name, (trained, inputs) in all_cases.items():
        config = tmp_path / f'{name}_mmcls.py'
        config.write_text(torch.load(trained.checkpoint, weights_only=True)['meta']['config'])
        out = tmp_path / f'{name}.json'
        r = procs.run([sys.executable, str(ROOT / 'tests' / 'mmcls_after_training_ref.py'),
                       'predict', str(config), trained.checkpoint, str(out), *inputs],
                      cwd=trained.work_dir, timeout=600,
                      env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
        assert r.returncode == 0, r.stderr[-3000:]
        theirs = json.loads(out.read_text())
        check_against(theirs, ours(trained, inputs), inputs)
        if name != 'trained':
            golden[name] = dict(inputs=inputs, results=theirs)
    if os.environ.get('MMREF_RECORD') != '1':
        recorded = json.loads(GOLDEN.read_text())
        for name, found in golden.items():
            assert recorded[name]['inputs'] == found['inputs']
            check_against(recorded[name]['results'], found['results'], found['inputs'])
        return
    GOLDEN.write_text(json.dumps(dict(
        note='mmcls 0.25.0 apis/inference.py (real mmcv 1.7.2) on tests/conftest.py seeded '
             'checkpoints; written by tests/test_predict.py with $MMREF', **golden)) + '\n')


# ---- One line for bad input -----------------------------------------------------------------

def load_tool():
    spec = importlib.util.spec_from_file_location('minicls_predict', ROOT / 'tools' / 'predict.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_input_is_one_line(folder_seeded, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(folder_seeded.work_dir)
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'notes.jpg').write_text('not an image')
    config, ckpt = folder_seeded.config, folder_seeded.checkpoint
    img = 'data/demo_folder/val/00000.jpg'
    rows = [
        ([str(tmp_path / 'missing.jpg'), config, ckpt], 'missing.jpg'),
        ([str(tmp_path / 'empty'), config, ckpt], 'holds no image files'),
        ([str(tmp_path / 'notes.jpg'), config, ckpt], "notes.jpg' is not an image PIL can read"),
        ([img, config, str(tmp_path / 'missing.pth')], 'missing.pth'),
        ([img, config, ckpt, '--topk', '11'], '--topk 11: allowed 1..10'),
        ([img, config, ckpt, '--out', 'p.pkl'], "--out 'p.pkl': only .json is written"),
        ([img, config, ckpt, '--device', 'mps'], "device 'mps' is not available here"),
    ]
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    tool = load_tool()
    for args, words in rows:
        with pytest.raises(SystemExit) as e:
            tool.cli(args)
        err = capsys.readouterr().err
        assert e.value.code != 0 and err.startswith('error: ') and err.count('\n') == 1, err
        assert words in err, (args, err)
    model = init_model(config, ckpt)
    for bad in (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), [[0]]):
        with pytest.raises(ConfigError, match='img must be a file path or an HxWx3 uint8'):
            inference_model(model, bad)
    with pytest.raises(DatasetError):
        inference_model(model, str(tmp_path / 'notes.jpg'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        inference_model(model, img)          # no warning for a checkpoint with names
