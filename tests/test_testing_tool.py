"""tools/test.py (mmcls: tools/test.py) on the two demos' checkpoints: mmcls's printed lines and
--out layout, the same evaluation function as training's EvalHook, several processes, the
numbers of the real mmcls (golden file; with $MMREF, mmcls itself), the one-line errors, and
--device (extras/run/device.py) for the tools and for training."""
import dataclasses
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
from config import ConfigError, load_config
from data import build_dataset

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / 'golden' / 'after_training_test.json'
METRICS = ['accuracy', 'precision', 'recall', 'f1_score', 'support']
# the golden cases: (fixture, tools/test.py's options). The folder demo's images are resized,
# where minicls's bilinear (torch's) and mmcv's (opencv's fixed point) differ by up to one grey
# level (tests/test_image_pipeline.py): its scores agree to 5e-3 (3.5e-3 the largest difference
# seen in 500 images), the CIFAR demo's to 1e-5; the labels and every metric exactly.
CASES = {
    'demo': ('demo_seeded', ['--metrics', *METRICS]),
    'demo_thrs_none': ('demo_seeded', ['--metrics', *METRICS, '--metric-options',
                                       'thrs=(0,0.3)', 'average_mode=none', 'topk=(1,3)']),
    'folder': ('folder_seeded', ['--metrics', *METRICS, '--metric-options', 'topk=2']),
}


def run_tool(trained, *args, tool='test.py', timeout=600):
    return procs.run([sys.executable, str(ROOT / 'tools' / tool), *args], cwd=trained.work_dir,
                     timeout=timeout)


def load_tool():
    spec = importlib.util.spec_from_file_location('minicls_test_tool', ROOT / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metric_values(stdout):
    """{key: printed value} of mmcls's `\\n{key} : {value}` lines."""
    lines = [line for line in stdout.split('\n') if ' : ' in line]
    return {k: v for k, v in (line.split(' : ', 1) for line in lines)}


def test_the_cifar_demo_prints_mmcls_lines_and_writes_its_layout(demo_checkpoint, tmp_path,
                                                                  monkeypatch):
    out = tmp_path / 'r.json'
    r = run_tool(demo_checkpoint, demo_checkpoint.config, demo_checkpoint.checkpoint,
                 '--metrics', *METRICS, '--out', str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(out.read_text())
    keys = ['accuracy_top-1', 'accuracy_top-5', 'support', 'precision', 'recall', 'f1_score']
    # mmcls: print(f'\n{k} : {v}') for each metric, rounded to 2 places, then the dump line
    assert r.stdout == ''.join(f'\n{k} : {round(results[k], 2)}\n' for k in keys) + \
        f'\ndumping results to {out}\n'
    assert list(results) == keys + ['class_scores', 'pred_score', 'pred_label', 'pred_class']
    scores = np.array(results['class_scores'])
    assert scores.shape == (1000, 10) and np.allclose(scores.sum(1), 1, atol=1e-5)
    assert results['pred_label'] == scores.argmax(1).tolist()
    assert np.allclose(results['pred_score'], scores.max(1))
    classes = torch.load(demo_checkpoint.checkpoint, weights_only=True)['meta']['CLASSES']
    assert results['pred_class'] == [classes[i] for i in results['pred_label']]
    # the numbers are BaseDataset.evaluate's on those scores
    cfg = load_config(demo_checkpoint.config)
    monkeypatch.chdir(demo_checkpoint.work_dir)
    dataset = build_dataset(cfg.data.test)
    assert dataset.evaluate(list(scores.astype(np.float32)), METRICS) == \
        {k: results[k] for k in keys}


def test_the_folder_demo_and_out_items(folder_checkpoint, tmp_path):
    out = tmp_path / 'r.json'
    r = run_tool(folder_checkpoint, folder_checkpoint.config, folder_checkpoint.checkpoint,
                 '--out', str(out), '--out-items', 'pred_label', 'pred_class')
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout == f'\ndumping results to {out}\n'       # no --metrics: no metrics
    results = json.loads(out.read_text())
    assert list(results) == ['pred_label', 'pred_class'] and len(results['pred_label']) == 500
    r = run_tool(folder_checkpoint, folder_checkpoint.config, folder_checkpoint.checkpoint,
                 '--metrics', 'accuracy', '--out', str(out), '--out-items', 'none')
    assert r.returncode == 0, r.stderr[-3000:]
    assert list(json.loads(out.read_text())) == ['accuracy_top-1', 'accuracy_top-5']


def test_the_same_numbers_as_the_evaluation_during_training(demo_checkpoint, tmp_path):
    """EvalHook and tools/test.py call one single_gpu_test and one evaluate: on the 64 images
    training evaluated, the same accuracies as its log."""
    log = next(Path(demo_checkpoint.work_dir).glob('*.log.json'))
    val = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    val = [line for line in val if line.get('mode') == 'val'][-1]
    out = tmp_path / 'r.json'
    r = run_tool(demo_checkpoint, demo_checkpoint.config, demo_checkpoint.checkpoint,
                 '--metrics', 'accuracy', '--out', str(out), '--out-items', 'none',
                 '--cfg-options', 'data.test.num_samples=64')
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(out.read_text())
    for key in ('accuracy_top-1', 'accuracy_top-5'):
        assert round(got[key], 5) == val[key]          # the log keeps 5 decimals, as mmcv's


def test_a_progress_bar_on_a_terminal_only(monkeypatch):
    from hooks import single_gpu_test
    from tiny import TinyModel
    batches = [{'img': torch.ones(2, 4)}] * 3

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    for stream, bar in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, 'stderr', stream)
        assert len(single_gpu_test(TinyModel(), batches)) == 6
        assert ('3/3' in stream.getvalue()) is bar
        stream = Terminal()
        monkeypatch.setattr(sys, 'stderr', stream)
        single_gpu_test(TinyModel(), batches, progress=False)    # a rank other than 0
        assert stream.getvalue() == ''


def test_several_processes_give_the_one_process_numbers(demo_seeded, tmp_path):
    from test_distributed import torchrun
    args = [demo_seeded.config, demo_seeded.checkpoint, '--metrics', *METRICS]
    one = run_tool(demo_seeded, *args, '--out', str(tmp_path / 'one.json'))
    assert one.returncode == 0, one.stderr[-3000:]
    two = torchrun(str(ROOT / 'tools' / 'test.py'), *args, '--out', str(tmp_path / 'two.json'),
                   '--launcher', 'pytorch', cwd=demo_seeded.work_dir)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.replace('two.json', 'one.json') == one.stdout
    a, b = (json.loads((tmp_path / f'{n}.json').read_text()) for n in ('one', 'two'))
    assert a['pred_label'] == b['pred_label']
    assert np.allclose(a['class_scores'], b['class_scores'], atol=1e-6)   # same order


# ---- The numbers of the real mmcls -------------------------------------------------------

def ours(trained, options, tmp_path):
    out = tmp_path / 'ours.json'
    r = run_tool(trained, trained.config, trained.checkpoint, *options, '--out', str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.replace(str(out), 'OUT'), json.loads(out.read_text())


def summary(stdout, results):
    """What the golden file keeps: the printed lines, the metrics, every pred_label, the
    first 20 rows of class_scores."""
    return dict(stdout=stdout, pred_label=results['pred_label'],
                class_scores_20=results['class_scores'][:20],
                metrics={k: v for k, v in results.items()
                         if k not in ('class_scores', 'pred_score', 'pred_label', 'pred_class')})


def check_against(want, got, case):
    assert got['stdout'] == want['stdout']
    assert got['metrics'].keys() == want['metrics'].keys()
    for key, value in want['metrics'].items():
        assert np.allclose(got['metrics'][key], value, rtol=0, atol=1e-9), key
    assert got['pred_label'] == want['pred_label']
    atol = 5e-3 if case.startswith('folder') else 1e-5
    assert np.allclose(got['class_scores_20'], want['class_scores_20'], rtol=0, atol=atol)


@pytest.mark.parametrize('case', list(CASES))
def test_the_numbers_of_the_real_mmcls_golden(case, request, tmp_path):
    """tests/golden/after_training_test.json: what mmcls 0.25's tools/test.py printed and
    wrote for the seeded checkpoints (recorded by the $MMREF test below)."""
    fixture, options = CASES[case]
    trained = request.getfixturevalue(fixture)
    check_against(json.loads(GOLDEN.read_text())[case], summary(*ours(trained, options, tmp_path)),
                  case)


def test_the_real_mmcls_tools_test_py_and_record_the_golden_file(request, tmp_path, mmref):
    """mmcls's own tools/test.py (tests/mmcls_after_training_ref.py) on each case's checkpoint
    and on the trained demo's: every printed line and metric equal, the scores within 1e-5
    (5e-3 with a resize, CASES); and the golden file is what it gives (MMREF_RECORD=1 writes
    the file anew instead)."""
    golden = {}
    for case, (fixture, options) in [*CASES.items(), ('trained', ('demo_checkpoint',
                                                                  CASES['demo'][1]))]:
        trained = request.getfixturevalue(fixture)
        config = Path(tmp_path) / f'{case}_mmcls.py'      # the mmcls text it carries
        config.write_text(torch.load(trained.checkpoint, weights_only=True)['meta']['config'])
        out = tmp_path / f'{case}_mmcls.json'
        r = procs.run([sys.executable, str(ROOT / 'tests' / 'mmcls_after_training_ref.py'),
                       'test', str(config), trained.checkpoint, *options, '--out', str(out),
                       # mmcls: torch refuses persistent workers without workers
                       '--cfg-options', 'data.persistent_workers=False'],
                      cwd=trained.work_dir, timeout=900,
                      env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
        assert r.returncode == 0, r.stderr[-3000:]
        # mmcls's progress bar is on stdout too, its last piece ends in 'ETA: 0s', no newline
        tail = r.stdout[r.stdout.rindex('ETA:'):]
        theirs = summary(tail[tail.index('\n'):].replace(str(out), 'OUT'),
                         json.loads(out.read_text()))
        check_against(theirs, summary(*ours(trained, options, tmp_path)), case)
        if case != 'trained':
            golden[case] = theirs
    if os.environ.get('MMREF_RECORD') != '1':
        for case, theirs in golden.items():
            check_against(json.loads(GOLDEN.read_text())[case], theirs, case)
        return
    GOLDEN.write_text(json.dumps(dict(
        note='mmcls 0.25.0 tools/test.py (real mmcv 1.7.2) on tests/conftest.py seeded '
             'checkpoints; written by tests/test_testing_tool.py with $MMREF', **golden)) + '\n')


# ---- One line for bad input -----------------------------------------------------------------

def error_of(args, capsys):
    with pytest.raises(SystemExit) as e:
        load_tool().cli(args)
    err = capsys.readouterr().err
    assert e.value.code != 0 and err.startswith('error: ') and err.count('\n') == 1, err
    return err


def test_bad_input_is_one_line(demo_seeded, folder_seeded, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(demo_seeded.work_dir)
    config, ckpt = demo_seeded.config, demo_seeded.checkpoint
    not_a_checkpoint = tmp_path / 'notes.pth'
    not_a_checkpoint.write_text('not a checkpoint')
    renamed = tmp_path / 'renamed.pth'
    saved = torch.load(ckpt, weights_only=True)
    saved['meta']['CLASSES'] = saved['meta']['CLASSES'][::-1]
    torch.save(saved, renamed)
    no_test = tmp_path / 'no_test.py'          # an mmcls config file without data.test
    no_test.write_text(saved['meta']['config'] + "\ndata.pop('test')\n")
    rows = [
        ([config, str(tmp_path / 'missing.pth'), '--metrics', 'accuracy'], 'missing.pth'),
        ([config, str(not_a_checkpoint), '--metrics', 'accuracy'], 'notes.pth'),
        ([str(no_test), ckpt, '--metrics', 'accuracy'], 'data.test'),
        ([config, ckpt, '--metrics', 'mAP'],
         "--metrics: 'mAP' is not a metric; valid: accuracy, precision, recall, f1_score, support"),
        ([config, ckpt, '--metrics', 'accuracy', '--metric-options', 'topx=1'],
         "--metric-options: 'topx' is not an option; valid: topk, thrs, average_mode"),
        ([config, ckpt, '--metrics', 'accuracy', '--metric-options', 'topk=11'],
         '--metric-options: topk=11; allowed: an int 1..10'),
        ([config, ckpt, '--metrics', 'accuracy', '--metric-options', 'topk=(1,0)'],
         '--metric-options: topk=(1, 0); allowed'),
        ([config, ckpt, '--metrics', 'recall', '--metric-options', 'thrs=high'],
         "--metric-options: thrs='high'; allowed: a number or a tuple of them"),
        ([config, ckpt, '--metrics', 'recall', '--metric-options', 'average_mode=micro'],
         "--metric-options: average_mode='micro'; allowed: macro, none"),
        ([config, ckpt, '--metrics', 'accuracy', '--metric-options', 'topk'],
         "--metric-options: 'topk' is not of the form key=value"),
        ([config, ckpt], 'give --metrics, --out or both'),
        ([config, ckpt, '--out', 'r.pkl'], "--out 'r.pkl': only .json is written"),
        ([config, ckpt, '--out', str(tmp_path / 'no' / 'r.json')], 'does not exist'),
        ([config, str(renamed), '--metrics', 'accuracy'],
         f"{renamed} was trained on 10 classes ('frame', 'circle', 'x_cross', 'plus', ...), "
         "data.test (SyntheticCIFAR10 at 'data/demo_cifar10') has 10 ('h_stripes', "
         "'v_stripes', 'checker', 'target', ...)"),
        ([config, folder_seeded.checkpoint, '--metrics', 'accuracy'],
         "its weights do not fit the config's model"),
        ([str(ROOT / 'configs' / 'demo_folder_finetune.py'), folder_seeded.checkpoint,
          '--metrics', 'accuracy'],
         f'{folder_seeded.checkpoint} has a head of 10 classes (head.fc.weight (10, 64)), '
         'the config model.head.num_classes=5'),
        ([config, ckpt, '--metrics', 'accuracy', '--device', 'cuda:7'],
         "device 'cuda:7' is not available here; available: cpu"),
    ]
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    for args, words in rows:
        assert words in error_of(args, capsys), (args, words)


# ---- --device, for the tools and for training ---------------------------------------------------

def test_devices_are_checked_against_what_torch_sees(monkeypatch):
    from extras.run.device import available_devices, resolve_device
    import train
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    assert available_devices() == ['cpu', 'cuda', 'cuda:0', 'cuda:1']
    assert [resolve_device(d) for d in ('auto', 'cpu', 'cuda', 'cuda:1')] == \
        ['cuda', 'cpu', 'cuda', 'cuda:1']
    with pytest.raises(ConfigError, match=r"^device 'cuda:2' is not available here; "
                                          r"available: cpu, cuda, cuda:0, cuda:1$"):
        resolve_device('cuda:2')
    with pytest.raises(ConfigError, match="device 'mps' is not available"):
        resolve_device('mps')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: True)
    assert resolve_device('auto') == 'cpu' and resolve_device('mps') == 'mps'
    cfg = load_config(str(ROOT / 'configs' / 'demo.py'))
    for device in ('cuda', 'cuda:0'):
        with pytest.raises(ConfigError, match=f"^device '{device}' is not available here; "
                                              'available: cpu, mps$'):
            train.select_device(dataclasses.replace(cfg, device=device), 'none')


@pytest.mark.parametrize('device, ok', [('cuda:12', True), ('mps', True), ('gpu', False),
                                        ('cuda:', False), ('cuda:-1', False)])
def test_the_config_field_takes_the_device_forms(device, ok):
    from config import check_config
    cfg = load_config(str(ROOT / 'configs' / 'demo.py'))
    cfg = dataclasses.replace(cfg, device=device)
    if ok:
        check_config(cfg)
    else:
        with pytest.raises(ConfigError, match=f"device='{device}' is out of range; allowed: "
                                              "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"):
            check_config(cfg)



@pytest.mark.parametrize('tool, raises_in, error, argv', [
    ('test.py', 'main', 'CheckpointError', []), ('predict.py', 'main', 'DatasetError', []),
    ('vis_lr.py', 'main', 'ToolError', []),           # the picture tools' run_tool
    ('convert_config.py', 'read_mmcls_config', 'ConfigError', ['mm.py']),
    ('convert_torchvision.py', 'convert', 'CheckpointError', ['a.pth', 'b.pth'])])
def test_a_message_quoting_a_file_reaches_the_terminal_escaped(tool, raises_in, error, argv,
                                                                monkeypatch, capsys):
    """Whatever a message quotes (a file's content, a path), the tools print it escaped:
    an escape sequence cannot clear the terminal, a newline cannot forge a second line."""
    spec = importlib.util.spec_from_file_location(f'escaped_{tool[:-3]}', ROOT / 'tools' / tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from checkpoint import CheckpointError
    from data import DatasetError
    from extras.after_training.common import ToolError
    kind = dict(CheckpointError=CheckpointError, DatasetError=DatasetError, ToolError=ToolError,
                ConfigError=ConfigError)[error]

    def fails(*args, **kwargs):
        raise kind('m.pth: \x1b[2J\x1b[31mevil\nerror: forged')
    monkeypatch.setattr(module, raises_in, fails)
    try:
        if tool == 'vis_lr.py':
            status = module.run_tool(module.main, argv)
        else:
            status = getattr(module, 'cli', module.main)(argv)
    except SystemExit as e:
        status = e.code
    assert status not in (0, None)
    err = capsys.readouterr().err                 # one line, its escapes written out
    assert err.startswith('error: m.pth: \\x1b[2J\\x1b[31mevil') and err.endswith('forged\n')
    assert err.count('\n') == 1 and err.isascii() and '\x1b' not in err, err
