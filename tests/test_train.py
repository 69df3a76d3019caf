"""train.py: config files, --cfg-options, value checks, the CLI's errors, and the demo
end to end (train 2 epochs, then resume from epoch_1.pth)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import config
from config import ConfigError
from extras.options.cfg_options import apply_cfg_options
from config import check_config, config_to_json, load_config
import procs
import train

ROOT = Path(__file__).resolve().parent.parent


def test_config_py_is_the_article_config():
    cfg = config.cfg
    assert (cfg.model.backbone.depth, cfg.model.head.in_channels, cfg.data.samples_per_gpu) == (50, 2048, 128)
    assert (cfg.optimizer.type, cfg.optimizer.lr, cfg.optimizer.momentum, cfg.optimizer.weight_decay) == \
        ('SGD', 0.1, 0.9, 0.0001)
    assert (cfg.lr_config.policy, cfg.lr_config.step, cfg.total_epochs) == ('step', [100, 150], 200)
    assert cfg.work_dir == 'work_dirs' and cfg.workflow == [('train', 1)] and cfg.checkpoint_config.interval == 1
    assert [t['type'] for t in cfg.data.train.pipeline] == ['RandomCrop', 'RandomFlip', 'Normalize',
                                                            'ImageToTensor', 'ToTensor', 'Collect']
    assert cfg.data.train.pipeline[2]['to_rgb'] is True


def test_config_round_trips_through_json():
    text = config_to_json(config.cfg)
    assert json.loads(text)['optimizer']['lr'] == 0.1
    assert config_to_json(load_config(str(ROOT / 'configs' / 'demo.py'))) != text


def test_cfg_options_override_with_types():
    cfg = apply_cfg_options(config.cfg, ['total_epochs=4', 'optimizer.lr=0.05', 'data.samples_per_gpu=64',
                                         'lr_config.step=[30,60]', 'optimizer_config.grad_clip.max_norm=10',
                                         'model.backbone.depth=18', 'work_dir=runs/x', 'optimizer.lr=1'])
    assert (cfg.total_epochs, cfg.optimizer.lr, cfg.data.samples_per_gpu) == (4, 1.0, 64)
    assert isinstance(cfg.optimizer.lr, float) and cfg.lr_config.step == [30, 60]
    assert cfg.optimizer_config.grad_clip == config.GradClipConfig(max_norm=10.0)
    assert cfg.work_dir == 'runs/x' and config.cfg.total_epochs == 200     # the original is untouched


@pytest.mark.parametrize('option, words', [
    ('optimiser.lr=0.1', ["no field 'optimiser'", 'optimizer']),
    ('optimizer.lrr=0.1', ["no field 'lrr'", 'lr', 'momentum']),
    ('total_epochs=four', ['total_epochs', "'four'", 'expected int']),
    ('optimizer.lr=[1]', ['optimizer.lr', 'expected float']),
    ('total_epochs', ['not of the form key.sub=value']),
    ('optimizer=1', ['optimizer is a group']),
])
def test_bad_cfg_options_are_named(option, words):
    with pytest.raises(ConfigError) as e:
        apply_cfg_options(config.cfg, [option])
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize('field, value, words', [
    ('total_epochs', 0, 'total_epochs=0'),
    ('optimizer.lr', -0.1, 'optimizer.lr=-0.1'),
    ('data.samples_per_gpu', 0, 'data.samples_per_gpu=0'),
    ('workflow', [('test', 1)], "workflow entry ('test', 1)"),
])
def test_out_of_range_values(field, value, words):
    cfg = apply_cfg_options(config.cfg, [f'{field}={value!r}'])
    with pytest.raises(ConfigError, match=words.replace('(', r'\(').replace(')', r'\)')):
        check_config(cfg)


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match='does not exist'):
        load_config(str(tmp_path / 'nope.py'))
    bad = tmp_path / 'bad.py'
    bad.write_text('from config import cfg\ncfg = cfg.no_such_thing\n')
    with pytest.raises(ConfigError, match='failed to run: AttributeError'):
        load_config(str(bad))
    none = tmp_path / 'none.py'
    none.write_text('x = 1\n')
    with pytest.raises(ConfigError, match='must define `cfg'):
        load_config(str(none))


def run_here(*args, capsys):
    """train.py's cli in this process: (returncode, stdout, stderr), as a process's would be;
    a user's error is one line and an exit status, a bug an exception."""
    try:
        train.cli(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_cli_errors_are_short_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    r = run_here('--config', str(ROOT / 'config.py'), '--cfg-options', 'optimizer.lr=-1',
                 capsys=capsys)
    assert r.returncode == 2 and 'optimizer.lr=-1' in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_missing_cifar10_is_a_clear_message(tmp_path, monkeypatch, capsys):
    """No CIFAR-10 on disk and no network: a message saying where to put it, exit 1."""
    monkeypatch.chdir(tmp_path)
    r = run_here('--config', str(ROOT / 'config.py'), '--device', 'cpu', capsys=capsys)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'cifar-10' in r.stderr.lower() and 'data/cifar10' in r.stderr


def test_demo_trains_and_resumes(tmp_path, monkeypatch, capsys):
    """The demo for 2 epochs, then --resume epoch_1.pth: epoch, iter and LR continue (train.py's
    cli in this process: what it trains and prints is checked, not the process)."""
    demo = str(ROOT / 'configs' / 'demo.py')
    opts = ['--cfg-options', 'total_epochs=2', 'lr_config.step=[1]', 'data.workers_per_gpu=0',
            'data.val.num_samples=256']
    monkeypatch.chdir(tmp_path)
    r = run_here('--config', demo, '--work-dir', 'w', *opts, capsys=capsys)
    assert r.returncode == 0, r.stderr[-3000:]
    work = tmp_path / 'w'
    assert {'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'} <= set(os.listdir(work))
    logs = sorted(work.glob('*.log.json'))
    assert len(logs) == 1 and (work / logs[0].name[:-len('.json')]).exists()
    first = [json.loads(x) for x in logs[0].open()]
    assert 'env_info' in first[0] and json.loads(first[0]['minicls_config'])['total_epochs'] == 2 and 'runner = dict(' in first[0]['config']
    train = [x for x in first[1:] if x['mode'] == 'train']
    val = [x for x in first[1:] if x['mode'] == 'val']
    assert [x['epoch'] for x in val] == [1, 2] and val[-1]['accuracy_top-1'] > 20   # 10 classes: chance is 10
    assert {x['lr'] for x in train if x['epoch'] == 2} == {0.01}

    # A fresh run into the same work dir must not overwrite its checkpoints.
    again = run_here('--config', demo, '--work-dir', 'w', *opts, capsys=capsys)
    assert again.returncode == 2 and 'already holds checkpoints' in again.stderr

    ckpt = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 40 and len(ckpt['meta']['CLASSES']) == 10
    r = run_here('--config', demo, '--work-dir', 'w', *opts, '--resume', 'w/epoch_1.pth',
                 capsys=capsys)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch 1, iter 40' in r.stdout
    # the first run's epoch_2.pth was moved aside, not overwritten
    aside = list(work.glob('superseded_*/epoch_2.pth'))
    assert len(aside) == 1 and (work / 'epoch_2.pth').exists() and 'moved 1 checkpoints' in r.stdout
    resumed = [json.loads(x) for x in sorted(work.glob('*.log.json'))[-1].open()][1:]
    assert resumed[0]['epoch'] == 2 and resumed[0]['lr'] == 0.01
    assert [x['iter'] for x in resumed if x['mode'] == 'train'] == [x['iter'] for x in train if x['epoch'] == 2]


def test_batched_pipeline_through_train_py(tmp_path, monkeypatch, capsys):
    """data.*.batched=True: the demo trains and evaluates with the pipeline run once per batch;
    an option the batched transforms lack is refused before any data is read."""
    demo = str(ROOT / 'configs' / 'demo.py')
    monkeypatch.chdir(tmp_path)
    r = run_here('--config', demo, '--debug', '--cfg-options', 'data.train.batched=True',
                 'data.val.batched=True', capsys=capsys)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Epoch(val) [1]' in r.stdout and 'accuracy_top-1' in r.stdout
    edge = "data.train.pipeline=[{'type': 'RandomCrop', 'size': 32, 'padding': 4, 'padding_mode': 'edge'}]"
    bad = run_here('--config', demo, '--cfg-options', 'data.train.batched=True', edge, capsys=capsys)
    assert bad.returncode == 2 and "padding_mode='edge'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


@pytest.mark.parametrize('given, read', [({}, ('PASSIVE', '10000')), ({'OMP_WAIT_POLICY': 'ACTIVE',
                                                                      'GOMP_SPINCOUNT': '5'}, ('ACTIVE', '5'))])
def test_torchs_openmp_reads_trains_wait_policy_unless_the_user_set_one(given, read):
    """libgomp (torch's OpenMP on Linux) prints what it read when torch loads it (OMP_DISPLAY_ENV)."""
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    r = procs.run([sys.executable, '-c', 'import train'], cwd=ROOT, timeout=300,
                  env=dict(env, OMP_DISPLAY_ENV='VERBOSE', **given))
    assert r.returncode == 0, r.stderr
    if 'OPENMP DISPLAY ENVIRONMENT' not in r.stderr:
        pytest.skip('torch does not use libgomp here')
    assert f"OMP_WAIT_POLICY = '{read[0]}'" in r.stderr and f"GOMP_SPINCOUNT = '{read[1]}'" in r.stderr
