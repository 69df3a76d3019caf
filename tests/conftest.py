"""Fixtures shared by test files: checkpoints of the two demos, trained once per session.

    def test_x(demo_checkpoint):
        config, checkpoint, work_dir = demo_checkpoint
        procs.run([sys.executable, 'tools/test.py', config, checkpoint, ...], cwd=work_dir, ...)

`work_dir` is the training's --work-dir and also its current folder: the demo's data lies in
`work_dir/data/...`, where the config's relative `data_prefix` finds it, so run a tool with
`cwd=work_dir`. One epoch on 64 images (64 evaluated during training); data.test is the
demo's whole test split (1,000 CIFAR-like images; 500 JPEGs for the folder demo).
Treat the files as read-only: other tests share them.
"""
import os
import sys
from collections import namedtuple
from pathlib import Path

import pytest

import procs

ROOT = Path(__file__).resolve().parent.parent
Trained = namedtuple('Trained', 'config checkpoint work_dir')


def train_demo(work_dir, config):
    """train.py on configs/<config>, one epoch of 64 images, in `work_dir` (data there too)."""
    r = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / config),
                   '--work-dir', str(work_dir), '--cfg-options', 'total_epochs=1',
                   'data.train.num_samples=64', 'data.val.num_samples=64',
                   'data.workers_per_gpu=0'],
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
