"""Fixtures shared by test files: checkpoints of the two demos, trained once per session, and
of the same two models with seeded weights (the same on every machine: golden files).

    def test_x(demo_checkpoint):
        config, checkpoint, work_dir = demo_checkpoint
        procs.run([sys.executable, 'tools/test.py', config, checkpoint, ...], cwd=work_dir, ...)

`work_dir` is the training's --work-dir and also its current folder: the demo's data lies in
`work_dir/data/...`, where the config's relative `data_prefix` finds it, so run a tool with
`cwd=work_dir`. One epoch on 64 images (64 evaluated during training); data.test is the
demo's whole test split (1,000 CIFAR-like images; 500 JPEGs for the folder demo).
Treat the files as read-only: other tests share them.
"""
import contextlib
import logging
import os
import signal
import sys
from collections import namedtuple
from pathlib import Path

import pytest
import torch

import procs
import tiny  # noqa: F401  (puts the repository on sys.path)

ROOT = Path(__file__).resolve().parent.parent
Trained = namedtuple('Trained', 'config checkpoint work_dir')


def train_demo(work_dir, config):
    """train.py on configs/<config>, one epoch of 64 images, in `work_dir` (data there too)."""
    r = procs.run([sys.executable, str(ROOT / 'train.py'),
                   '--config', str(ROOT / 'configs' / config), '--work-dir', str(work_dir),
                   '--cfg-options', 'total_epochs=1', 'data.train.num_samples=64',
                   'data.val.num_samples=64', 'data.workers_per_gpu=0'],
                  cwd=work_dir, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-3000:]
    return Trained(str(ROOT / 'configs' / config), str(work_dir / 'epoch_1.pth'), str(work_dir))


@pytest.fixture(scope='session')
def demo_checkpoint(tmp_path_factory):
    """configs/demo.py (ResNet_CIFAR on the synthetic CIFAR-10 pickles): Trained(config,
    checkpoint, work_dir)."""
    return train_demo(tmp_path_factory.mktemp('demo'), 'demo.py')


@pytest.fixture(scope='session')
def folder_checkpoint(tmp_path_factory):
    """configs/demo_folder.py (mmcls's ImageNet ResNet on a folder of JPEGs, an ann_file for
    data.test): Trained(config, checkpoint, work_dir)."""
    return train_demo(tmp_path_factory.mktemp('demo_folder'), 'demo_folder.py')


def seeded_checkpoint(trained, name):
    """The config's model with weights drawn from seed 0 (no training, so the same on every
    machine; BN statistics and the head drawn too, so the scores differ from image to image),
    saved as a minicls checkpoint is: meta CLASSES (the demo's names) and config (mmcls text)."""
    from config import load_config
    from extras.bridge.mmcls_config import to_mmcls_text
    from model import build_classifier
    cfg = load_config(trained.config)
    torch.manual_seed(0)
    model = build_classifier(cfg.model)
    model.init_weights()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t, low, high in ((m.weight.data, 0.5, 1.0), (m.bias.data, -0.2, 0.2),
                                 (m.running_mean, -0.1, 0.1), (m.running_var, 0.5, 1.5)):
                t.copy_(torch.rand(t.shape, generator=g) * (high - low) + low)
    model.head.fc.weight.data.copy_(torch.randn(model.head.fc.weight.shape, generator=g) * 0.5)
    classes = torch.load(trained.checkpoint, weights_only=True)['meta']['CLASSES']
    path = os.path.join(trained.work_dir, name)
    torch.save(dict(meta=dict(CLASSES=classes, config=to_mmcls_text(cfg)),
                    state_dict=model.state_dict()), path)
    return Trained(trained.config, path, trained.work_dir)


@pytest.fixture(scope='session')
def demo_seeded(demo_checkpoint):
    """configs/demo.py's model with seeded weights, beside demo_checkpoint's data."""
    return seeded_checkpoint(demo_checkpoint, 'seeded.pth')


@pytest.fixture(scope='session')
def folder_seeded(folder_checkpoint):
    """configs/demo_folder.py's model with seeded weights, beside folder_checkpoint's data."""
    return seeded_checkpoint(folder_checkpoint, 'seeded.pth')


# ---- What an in-process run changes in this process ------------------------------------------

@pytest.fixture(autouse=True)
def fresh_minicls_logger():
    """train.py's main points the 'minicls' logger at the stdout of its moment (a capture that
    ends with its test) and turns its propagation off (extras/run/logger.py): every test, and
    what runs after it, gets the logger as a fresh process has it. torch's thread count, which
    a run sets, comes back too."""
    def reset():
        logger = logging.getLogger('minicls')
        for handler in logger.handlers:
            with contextlib.suppress(OSError):       # a test may have planted a full disk
                handler.close()
        logger.handlers.clear()
        logger.propagate, logger.level = True, logging.NOTSET
    threads = torch.get_num_threads()
    reset()
    yield
    reset()
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def fresh_signals():
    """A worker's or a run's set-up called in this process (worker_init_fn, a StopSignalHook
    stopped before after_run) can leave signal handlers, or SIGTERM blocked, behind; every
    process a later test starts inherits the blocked mask and would never see its SIGTERM.
    Both come back after each test."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for s, handler in handlers.items():
        if handler is not None:
            signal.signal(s, handler)


# ---- The real mmcv / mmcls ($MMREF) ------------------------------------------------------------

@pytest.fixture
def mmref():
    """The folder $MMREF names, made by benchmarks/mmcv_reference_setup.sh (mmcv 1.7.2 and
    mmcls 0.25.0 in src/, their dependencies in deps/); the test is skipped when $MMREF is
    unset or does not name such a folder. Run them with PYTHONPATH=f'{mmref}/src:{mmref}/deps'."""
    folder = os.environ.get('MMREF')
    if not folder or not all(os.path.isdir(os.path.join(folder, 'src', package))
                             for package in ('mmcv', 'mmcls')):
        pytest.skip(f'$MMREF={folder!r} holds no src/mmcv and src/mmcls' if folder else
                    'set $MMREF to a folder made by benchmarks/mmcv_reference_setup.sh')
    return folder
