"""The pictures a class looks at after training (tools/vis_lr.py, vis_pipeline.py,
analyze_results.py, confusion_matrix.py, vis_cam.py, report.py), on both demos' checkpoints
(tests/conftest.py: demo_checkpoint, folder_checkpoint) and on hand-made schedules:

- vis_lr's numbers are the LR and momentum a real training loop sets at each iteration (step
  with warmup, cosine by iteration, warmup by epoch with a momentum schedule), a step
  schedule's values worked out by hand, and mmcls 0.25's vis_lr.py's (recorded in
  golden/vis_lr_mmcls.json; with $MMREF, run again and compared with it, MMREF_RECORD=1
  records it anew: tests/mmcls_pictures_ref.py);
  iterations per epoch from --dataset-size and --ngpus;
- vis_pipeline's pictures hold the dataset's own pixels, and a Normalize kept in the pipeline
  is undone to the same picture as one skipped;
- analyze_results picks the images a plain sort of the result file picks, and shows them;
- the confusion matrix is the counts of (true, predicted) pairs, from a checkpoint and from
  the result file alike;
- vis_cam draws the input and its CAM; without grad-cam, one line says how to install it;
- report.html holds its pictures as data: URIs, loads nothing, escapes names from files;
- bad input is one line on stderr and a non-zero status.
"""
import base64
import io
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from config import (Config, DataConfig, LrConfig, MomentumConfig, OptimizerConfig,  # noqa: E402
                    OptimizerHookConfig)
from hooks import Hook  # noqa: E402
from runner import EpochBasedRunner, build_optimizer  # noqa: E402

import tiny  # noqa: E402


def tool(name, *args, cwd=None, env=None, timeout=300):
    return procs.run([sys.executable, os.path.join(ROOT, 'tools', name), *map(str, args)],
                     timeout=timeout, cwd=cwd, env=env)


def ok(r):
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def png(path_or_bytes):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, 'rb').read()
    image = Image.open(io.BytesIO(data))
    assert image.format == 'PNG'
    return np.asarray(image.convert('RGB'))


def enlarged(img, factor):
    return np.repeat(np.repeat(img, factor, 0), factor, 1)


# ---- vis_lr -------------------------------------------------------------------------------

class Recorder(Hook):
    """What the optimizer holds when the iteration's step runs."""

    def __init__(self):
        self.lrs, self.momentums = [], []

    def before_train_iter(self, runner):
        self.lrs.append(runner.current_lr())
        self.momentums.append(runner.current_momentum())


SCHEDULES = {
    'step_warmup': (LrConfig(policy='step', step=[2, 4], warmup='linear', warmup_iters=6,
                             warmup_ratio=0.1), None),
    'cosine_by_iter': (LrConfig(policy='CosineAnnealing', by_epoch=False, min_lr=0.001,
                                warmup='exp', warmup_iters=3), None),
    'warmup_by_epoch_momentum': (
        LrConfig(policy='CosineAnnealing', min_lr_ratio=0.01, warmup='constant', warmup_iters=1,
                 warmup_by_epoch=True),
        MomentumConfig(policy='CosineAnnealing', min_momentum_ratio=0.5)),
}


def schedule_cfg(lr_config, momentum_config):
    """5 epochs of 10 samples in batches of 3: 4 iterations an epoch, the last one short."""
    return Config(data=DataConfig(samples_per_gpu=3),
                  optimizer=OptimizerConfig(type='SGD', lr=0.1, momentum=0.9),
                  lr_config=lr_config, momentum_config=momentum_config, total_epochs=5)


@pytest.mark.parametrize('name', SCHEDULES)
def test_vis_lr_gives_the_values_of_a_real_training_loop(name):
    from extras.after_training.lr_curve import simulate
    cfg = schedule_cfg(*SCHEDULES[name])
    curve = simulate(cfg, dataset_size=10)
    model = tiny.TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, cfg.optimizer),
                              logger=tiny.quiet_logger(), max_epochs=cfg.total_epochs)
    runner.register_training_hooks(cfg.lr_config, OptimizerHookConfig(),
                                   momentum_config=cfg.momentum_config)
    recorder = Recorder()
    runner.register_hook(recorder, 'LOWEST')
    runner.run([tiny.loader(n=10, batch_size=3)], [('train', 1)])
    assert curve['iters_per_epoch'] == 4 and len(curve['lr']) == 20
    assert curve['lr'] == recorder.lrs
    assert curve['momentum'] == recorder.momentums
    assert len({v[0] for v in curve['lr']}) > 2          # the schedule does change the LR


GOLDEN = os.path.join(ROOT, 'tests', 'golden', 'vis_lr_mmcls.json')


def golden_cfg(case):
    """An mmcls case of the golden file as a minicls Config."""
    return Config(data=DataConfig(samples_per_gpu=case['samples_per_gpu']),
                  optimizer=OptimizerConfig(**case['optimizer']),
                  lr_config=LrConfig(**case['lr_config']), total_epochs=case['max_epochs'])


def check_against_mmcls(recorded):
    from extras.after_training.lr_curve import simulate
    for name, theirs in recorded.items():
        case = theirs['case']
        ours = simulate(golden_cfg(case), case['dataset_size'], case['ngpus'])
        assert ours['iters_per_epoch'] == theirs['iters_per_epoch'], name
        assert len(ours['lr']) == len(theirs['lr']), name
        for i, (a, b) in enumerate(zip(ours['lr'], theirs['lr'])):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15), (name, i)


def test_vis_lr_equals_mmcls_vis_lr_recorded():
    """mmcls 0.25's vis_lr.py, recorded in golden/: iterations per epoch from dataset_size and
    ngpus, and the LR of every iteration."""
    with open(GOLDEN) as f:
        check_against_mmcls(json.load(f)['cases'])


def test_the_real_mmcls_vis_lr_and_record_the_golden_file(mmref, tmp_path):
    with open(GOLDEN) as f:
        golden = json.load(f)
    (tmp_path / 'cases.json').write_text(json.dumps(
        {name: c['case'] for name, c in golden['cases'].items()}))
    ok(procs.run([sys.executable, os.path.join(ROOT, 'tests', 'mmcls_pictures_ref.py'),
                  tmp_path / 'cases.json', tmp_path / 'out.json'], timeout=300,
                 env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')))
    theirs = json.loads((tmp_path / 'out.json').read_text())
    recorded = {name: dict(case=golden['cases'][name]['case'], **theirs[name])
                for name in theirs}
    check_against_mmcls(recorded)
    if os.environ.get('MMREF_RECORD') != '1':         # the golden file is what mmcls gives
        for name, found in recorded.items():
            assert found['iters_per_epoch'] == golden['cases'][name]['iters_per_epoch'], name
            assert np.allclose(found['lr'], golden['cases'][name]['lr'], rtol=1e-12, atol=0)
        return
    with open(GOLDEN, 'w') as f:                      # MMREF_RECORD=1: written anew
        f.write(json.dumps(dict(note=golden['note'], cases=recorded)) + '\n')


def test_vis_lr_step_schedule_by_hand():
    from extras.after_training.lr_curve import simulate
    cfg = schedule_cfg(LrConfig(policy='step', step=[2], warmup='linear', warmup_iters=3,
                                warmup_ratio=0.1), None)
    lrs = [v[0] for v in simulate(cfg, dataset_size=10)['lr']]
    warmup = [0.1 * (1 - (1 - i / 3) * 0.9) for i in range(3)]     # 0.01, 0.04, 0.07
    assert lrs == pytest.approx(warmup + [0.1] * 5 + [0.01] * 12, abs=1e-15)


def test_vis_lr_cli_counts_iterations_from_dataset_size_and_ngpus(tmp_path):
    r = ok(tool('vis_lr.py', os.path.join(ROOT, 'configs', 'demo.py'), '--dataset-size', 1000,
                '--ngpus', 2, '--out', tmp_path / 'lr.json', '--save-path', tmp_path / 'lr.png'))
    curve = json.loads((tmp_path / 'lr.json').read_text())
    per_epoch = math.ceil(1000 / (128 * 2))                  # demo.py: samples_per_gpu=128
    assert curve['iters_per_epoch'] == per_epoch == 4 and f'{per_epoch} iterations' in r.stdout
    # configs/demo.py: lr 0.1, step=[4], 5 epochs
    assert [v[0] for v in curve['lr']] == pytest.approx([0.1] * 16 + [0.01] * 4)
    assert png(tmp_path / 'lr.png').shape == (320, 700, 3)     # figsize 7 x 3.2 at 100 dpi


# ---- vis_pipeline -------------------------------------------------------------------------

def test_vis_pipeline_shows_the_datasets_own_pixels_cifar(demo_checkpoint, tmp_path,
                                                          monkeypatch):
    from data import build_dataset
    from extras.after_training.common import load_cfg
    from extras.after_training.pipeline_view import pipeline_pictures
    monkeypatch.chdir(demo_checkpoint.work_dir)
    cfg = load_cfg(demo_checkpoint.config)
    infos = build_dataset(cfg.data.train).data_infos
    pictures = list(pipeline_pictures(cfg, 'train', 3, 'original'))
    assert [name for name, _ in pictures] == ['0.png', '1.png', '2.png']
    for i, (_, picture) in enumerate(pictures):     # RGB arrays, 32 x 32, enlarged 4 times
        assert (np.asarray(picture)[:128, :128] == enlarged(infos[i]['img'], 4)).all()
    ok(tool('vis_pipeline.py', demo_checkpoint.config, '--output-dir', tmp_path, '--number', 2,
            cwd=demo_checkpoint.work_dir))
    assert sorted(os.listdir(tmp_path)) == ['0.png', '1.png']
    concat = png(tmp_path / '0.png')                 # src and transformed, side by side
    assert concat.shape[1] == 2 * 128 + 8
    assert (concat[:128, :128] == enlarged(infos[0]['img'], 4)).all()


def test_vis_pipeline_folder_undoes_a_kept_normalize(folder_checkpoint, tmp_path):
    from extras.images.image_pipeline import imread
    common = ['--phase', 'test', '--number', 2, '--mode', 'concat']
    ok(tool('vis_pipeline.py', folder_checkpoint.config, '--output-dir', tmp_path / 'skipped',
            *common, cwd=folder_checkpoint.work_dir))
    ok(tool('vis_pipeline.py', folder_checkpoint.config, '--output-dir', tmp_path / 'kept',
            '--skip-type', 'Collect', *common, cwd=folder_checkpoint.work_dir))
    names = sorted(os.listdir(tmp_path / 'skipped'))
    assert names == ['0_00000.png', '1_00001.png'] == sorted(os.listdir(tmp_path / 'kept'))
    source = imread(os.path.join(folder_checkpoint.work_dir, 'data/demo_folder/val/00000.jpg'))
    skipped, kept = png(tmp_path / 'skipped' / names[0]), png(tmp_path / 'kept' / names[0])
    # the source: 48 x 64, BGR on disk, enlarged 3 times, shown in RGB
    assert (skipped[:144, :192] == enlarged(source[..., ::-1], 3)).all()
    # after Normalize (to_rgb=True) and ImageToTensor: undone, the same picture to one level
    assert skipped.shape == kept.shape
    assert np.abs(skipped.astype(int) - kept.astype(int)).max() <= 1


# ---- analyze_results and confusion_matrix -------------------------------------------------

@pytest.fixture(scope='module')
def tested(demo_checkpoint, folder_checkpoint, tmp_path_factory):
    """{demo: (Trained, the result file of tools/test.py --out, data.test's labels)}."""
    labels = ('import sys, json; sys.path.insert(0, sys.argv[1]); from config import load_config; '
              'from data import build_dataset; print(json.dumps(build_dataset(load_config('
              'sys.argv[2]).data.test).get_gt_labels().tolist()))')
    out = {}
    for name, trained in (('cifar', demo_checkpoint), ('folder', folder_checkpoint)):
        path = tmp_path_factory.mktemp(name) / 'result.json'
        ok(tool('test.py', trained.config, trained.checkpoint, '--out', path,
                cwd=trained.work_dir))
        r = ok(procs.run([sys.executable, '-c', labels, ROOT, trained.config], timeout=120,
                         cwd=trained.work_dir))
        out[name] = (trained, path, np.array(json.loads(r.stdout)))
    return out


def expected_picks(result, gt, k):
    """The k highest pred_score right and wrong images, by a plain sort (ties: lower index)."""
    pred, score = np.array(result['pred_label']), np.array(result['pred_score'])
    order = sorted(range(len(gt)), key=lambda i: (-score[i], i))
    return ([i for i in order if pred[i] == gt[i]][:k], [i for i in order if pred[i] != gt[i]][:k])


@pytest.mark.parametrize('name', ['cifar', 'folder'])
def test_analyze_results_picks_the_most_confident_right_and_wrong_images(tested, name,
                                                                         tmp_path):
    trained, result_path, gt = tested[name]
    result = json.loads(result_path.read_text())
    ok(tool('analyze_results.py', trained.config, result_path, '--out-dir', tmp_path,
            '--topk', 5, cwd=trained.work_dir))
    want_success, want_fail = expected_picks(result, gt, 5)
    assert want_fail, 'a 1-epoch model gets some wrong'
    for kind, want in (('success', want_success), ('fail', want_fail)):
        entries = json.loads((tmp_path / kind / f'{kind}.json').read_text())
        assert [e['index'] for e in entries] == want
        for e in entries:
            assert e['gt_label'] == gt[e['index']]
            assert e['pred_label'] == result['pred_label'][e['index']]
            assert e['pred_class'] == result['pred_class'][e['index']]
        pictures = sorted(os.listdir(tmp_path / kind))
        assert len(pictures) == len(want) + 1 and png(tmp_path / f'{kind}.png').size
    first = want_fail[0]
    shown = png(next((tmp_path / 'fail').glob(f'{first}*.png')))
    if name == 'cifar':                                 # the sample's own RGB pixels, x4
        from data import build_dataset
        from config import load_config
        cwd = os.getcwd()
        os.chdir(trained.work_dir)
        try:
            img = build_dataset(load_config(trained.config).data.test).data_infos[first]['img']
        finally:
            os.chdir(cwd)
        assert (shown[:128, :128] == enlarged(img, 4)).all()
    else:
        from extras.images.image_pipeline import imread
        path = os.path.join(trained.work_dir, 'data/demo_folder/val', f'{first:05d}.jpg')
        assert (shown[:144, :192] == enlarged(imread(path)[..., ::-1], 3)).all()


def counted(pred, gt, n):
    matrix = np.zeros((n, n), int)
    for p, g in zip(pred, gt):
        matrix[g, p] += 1
    return matrix.tolist()


@pytest.mark.parametrize('name', ['cifar', 'folder'])
def test_confusion_matrix_counts_true_and_predicted_pairs(tested, name, tmp_path):
    trained, result_path, gt = tested[name]
    result = json.loads(result_path.read_text())
    ok(tool('confusion_matrix.py', trained.config, result_path, '--out', tmp_path / 'r.json',
            '--save-path', tmp_path / 'r.png', cwd=trained.work_dir))   # --show-path's alias
    assert png(tmp_path / 'r.png').shape[0] > 300
    from_result = json.loads((tmp_path / 'r.json').read_text())
    assert from_result['matrix'] == counted(result['pred_label'], gt, 10)
    assert len(from_result['classes']) == 10
    if name == 'folder':                              # from the checkpoint: the same matrix
        r = ok(tool('confusion_matrix.py', trained.config, trained.checkpoint, '--out',
                    tmp_path / 'c.json', '--show-path', tmp_path / 'cm.png', '--include-values',
                    cwd=trained.work_dir))
        assert json.loads((tmp_path / 'c.json').read_text()) == from_result
        assert png(tmp_path / 'cm.png').shape[0] > 300 and 'of 500 images' in r.stdout


# ---- vis_cam ------------------------------------------------------------------------------

def test_vis_cam_draws_the_input_and_its_cam(folder_checkpoint, demo_checkpoint, tmp_path):
    pytest.importorskip('pytorch_grad_cam')
    from data import build_dataset
    from config import load_config
    cwd = os.getcwd()
    os.chdir(demo_checkpoint.work_dir)
    try:
        cifar = build_dataset(load_config(demo_checkpoint.config).data.test).data_infos[0]['img']
    finally:
        os.chdir(cwd)
    Image.fromarray(cifar).save(tmp_path / 'cifar.png')
    for trained, img in ((folder_checkpoint, 'data/demo_folder/val/00003.jpg'),
                         (demo_checkpoint, tmp_path / 'cifar.png')):
        out = tmp_path / f'cam_{os.path.basename(trained.work_dir)}.png'
        ok(tool('vis_cam.py', img, trained.config, trained.checkpoint, '--save-path', out,
                cwd=trained.work_dir))
        picture = png(out)                 # two 32 x 32 inputs, enlarged 4 times, captioned
        assert picture.shape[0] == 128 + 3 * 13 + 6
        left, right = picture[:128, :128].astype(int), picture[:128, 136:264].astype(int)
        assert np.abs(left - right).mean() > 5            # the heat map is over the input


def test_vis_cam_without_grad_cam_says_how_to_install_it(folder_checkpoint, tmp_path):
    (tmp_path / 'pytorch_grad_cam').mkdir()
    (tmp_path / 'pytorch_grad_cam' / '__init__.py').write_text('raise ImportError("absent")\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    r = tool('vis_cam.py', 'data/demo_folder/val/00003.jpg', folder_checkpoint.config,
             folder_checkpoint.checkpoint, '--save-path', tmp_path / 'x.png', env=env,
             cwd=folder_checkpoint.work_dir)
    assert r.returncode != 0 and r.stderr.strip().count('\n') == 0
    assert 'pip install' in r.stderr and 'grad-cam' in r.stderr and 'Traceback' not in r.stderr


# ---- report -------------------------------------------------------------------------------

def test_report_is_one_self_contained_escaped_page(tested, tmp_path):
    trained, result_path, gt = tested['folder']
    odd = tmp_path / '<b>run & co'                  # a name from the file system, escaped
    shutil.copytree(trained.work_dir, odd, ignore=shutil.ignore_patterns('data'))
    ok(tool('report.py', odd, '--out', tmp_path / 'report.html', cwd=trained.work_dir))
    page = (tmp_path / 'report.html').read_text()
    assert '&lt;b&gt;run &amp; co' in page and '<b>run' not in page
    assert not re.search(r'https?:|<script|<link|<iframe|url\(', page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 4                          # curves, LR, matrix, wrong images
    for src in sources:
        assert src.startswith('data:image/png;base64,')
        assert png(base64.b64decode(src.split(',', 1)[1])).size
    result = json.loads(result_path.read_text())
    right = sum(p == g for p, g in zip(result['pred_label'], gt))
    assert f'{right} of {len(gt)} test images right' in page
    assert 'StepLrUpdaterHook' in page and 'Not made' not in page
    for checkpoint in odd.glob('*.pth'):            # no checkpoint: the rest of the page
        checkpoint.unlink()
    r = ok(tool('report.py', odd, '--out', tmp_path / 'partial.html', cwd=trained.work_dir))
    page = (tmp_path / 'partial.html').read_text()
    assert page.count('src="data:image/png;base64,') == 2 and 'Not made: no checkpoint' in page
    assert r.stderr.count('note: ') == 1 and 'no checkpoint' in r.stderr


def test_report_draws_the_hook_timeline_of_a_trace_run(folder_checkpoint, tmp_path):
    """With --trace, the hooks part is tools/hook_timeline.py's picture, not the table."""
    work_dir = tmp_path / 'traced'
    ok(procs.run([sys.executable, os.path.join(ROOT, 'train.py'), '--config',
                  folder_checkpoint.config, '--trace', '--work-dir', work_dir, '--cfg-options',
                  'total_epochs=1', 'data.train.num_samples=64', 'data.val.num_samples=64',
                  'data.workers_per_gpu=0'], timeout=600, cwd=folder_checkpoint.work_dir))
    ok(tool('report.py', work_dir, '--out', tmp_path / 'r.html', cwd=folder_checkpoint.work_dir))
    page = (tmp_path / 'r.html').read_text()
    hooks = page[page.index('<h2>Hooks'):]
    assert '<pre>' not in hooks and hooks.count('src="data:image/png;base64,') == 1


def test_the_docs_pictures_are_small_pngs():
    """docs/after_training/: one picture per tool, made by tools/after_training_pictures.py;
    each a PNG of less than 100 KB, as the docs want them."""
    folder = os.path.join(ROOT, 'docs', 'after_training')
    names = sorted(os.listdir(folder))
    assert names == ['analyze_results_fail.png', 'confusion_matrix.png', 'vis_cam.png',
                     'vis_lr.png', 'vis_pipeline.png']
    doc = open(os.path.join(ROOT, 'docs', 'after_training.md')).read()
    for name in names:
        assert os.path.getsize(os.path.join(folder, name)) < 100 * 1024
        assert png(os.path.join(folder, name)).size and f'](after_training/{name})' in doc


# ---- bad input: one line, a non-zero status -----------------------------------------------

def mmcls_config_without_test(folder):
    shutil.copytree(os.path.join(ROOT, 'tests', 'fixtures', 'mmcls', '_base_'), folder / '_base_')
    text = open(os.path.join(ROOT, 'tests', 'fixtures', 'mmcls', 'tiny_synthetic.py')).read()
    text = re.sub(r"\n    test=dict\(.*?\)\)", ')', text)
    assert 'test=' not in text
    (folder / 'no_test.py').write_text(text)
    return folder / 'no_test.py'


BAD = {  # name: (tool, arguments, words the one line holds)
    'missing checkpoint': ('confusion_matrix.py', ['{config}', 'missing.pth', '--out', 'x.json'],
                           'missing.pth'),
    'missing result file': ('analyze_results.py', ['{config}', 'missing.json', '--out-dir', 'o'],
                            'missing.json'),
    'result not JSON': ('analyze_results.py', ['{config}', '{garbage}', '--out-dir', 'o'],
                        'is not JSON'),
    'result of another test set': ('confusion_matrix.py', ['{config}', '{short}', '--out', 'x'],
                                   'has 2 results'),
    'config without data.test': ('confusion_matrix.py', ['{no_test}', '{checkpoint}', '--out',
                                                         'x.json'], 'data.test'),
    'image that is no image': ('vis_cam.py', ['{garbage}', '{config}', '{checkpoint}',
                                              '--save-path', 'x.png'], 'garbage.jpg'),
    'work dir with no log': ('report.py', ['{empty}'], 'no .log.json'),
    'nothing to write': ('vis_lr.py', ['{config}'], '--save-path'),
}


@pytest.mark.parametrize('case', BAD)
def test_bad_input_is_one_line(case, folder_checkpoint, tmp_path):
    name, args, words = BAD[case]
    (tmp_path / 'garbage.jpg').write_text('not an image\n')
    (tmp_path / 'short.json').write_text(json.dumps(dict(
        class_scores=[[0.5, 0.5]] * 2, pred_score=[0.5] * 2, pred_label=[0, 1],
        pred_class=['a', 'b'])))
    (tmp_path / 'empty').mkdir()
    if case == 'image that is no image':
        pytest.importorskip('pytorch_grad_cam')
    values = dict(config=folder_checkpoint.config, checkpoint=folder_checkpoint.checkpoint,
                  garbage=tmp_path / 'garbage.jpg', short=tmp_path / 'short.json',
                  empty=tmp_path / 'empty', no_test='')
    if case == 'config without data.test':
        values['no_test'] = mmcls_config_without_test(tmp_path)
    r = tool(name, *[a.format(**values) for a in args], cwd=folder_checkpoint.work_dir)
    assert r.returncode != 0, r.stdout
    assert r.stderr.startswith('error: ') and r.stderr.strip().count('\n') == 0, r.stderr
    assert words in r.stderr
