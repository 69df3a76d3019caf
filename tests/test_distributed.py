"""Distributed training with torchrun on the CPU (gloo): a short run and a resume, one step
of 2 x 64 equal to 1 x 128, and distributed evaluation equal to the single-process one."""
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

import tiny
import data
from config import BackboneConfig, HeadConfig, ModelConfig, OptimizerConfig, test_pipeline
from hooks import single_gpu_test
from model import build_classifier
from runner import build_optimizer
from runner import EpochBasedRunner
import procs

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2']
SMALL = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4', 'model.backbone.num_stages=1',
         'model.backbone.out_indices=[0]', 'model.head.in_channels=4', 'data.workers_per_gpu=0',
         'log_config.interval=5']


# Tried again: --standalone picks free ports, and another process may take one first; gloo's
# threads can abort a process at interpreter exit, after its work is done and checked below
# ("terminate called without an active exception", pytorch#190489); and under load one rank's
# gloo pair can see its peer's socket closed ("Connection closed by peer", once in CI).
RETRY = ('EADDRINUSE', 'Address already in use', 'terminate called without an active exception',
         'Connection closed by peer')


def torchrun(*args, cwd, timeout=300, work=None):
    """torchrun ... args, tried up to 3 times on a RETRY failure only; `work` (a folder the
    run writes) is put back as it was before each new try, so a try sees what the first saw."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    before = Path(cwd) / '.before_torchrun'
    if work is not None:
        shutil.rmtree(before, ignore_errors=True)
        if work.exists():
            shutil.copytree(work, before, symlinks=True)
    for _ in range(3):
        r = procs.run([*TORCHRUN, *args], cwd=cwd, timeout=timeout, env=env)
        if r.returncode == 0 or not any(s in r.stderr for s in RETRY):
            break
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
            if before.exists():
                shutil.copytree(before, work, symlinks=True)
    shutil.rmtree(before, ignore_errors=True)
    return r


def test_torchrun_trains_and_resumes(tmp_path):
    train = [str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'), '--launcher', 'pytorch',
             '--work-dir', 'w', '--cfg-options', *SMALL, 'data.train.num_samples=2560',
             'data.val.num_samples=256']
    r = torchrun(*train, 'total_epochs=1', cwd=tmp_path, work=tmp_path / 'w')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Warning' not in r.stderr, r.stderr[-3000:]      # e.g. a deprecated DDP argument
    work = tmp_path / 'w'
    logs = list(work.glob('*.log.json'))
    assert len(logs) == 1                                   # rank 0 alone writes logs
    lines = [json.loads(x) for x in logs[0].open()][1:]
    assert [x['iter'] for x in lines if x['mode'] == 'train'] == [5, 10]     # 2560 / 2 ranks / 128
    assert any(x['mode'] == 'val' for x in lines)
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])      # loads without DDP too
    r = torchrun(*train, 'total_epochs=2', '--resume', 'auto', cwd=tmp_path, work=tmp_path / 'w')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch 1, iter 10' in r.stdout
    assert torch.load(work / 'epoch_2.pth', weights_only=True)['meta']['iter'] == 20


def test_two_processes_of_64_equal_one_of_128(tmp_path):
    r = torchrun(str(ROOT / 'tests' / 'dist_worker.py'), 'step', str(tmp_path / 'ddp.pth'), cwd=ROOT / 'tests')
    assert r.returncode == 0, r.stderr[-3000:]
    torch.manual_seed(0)
    model = tiny.TinyModel()
    x, y = torch.randn(128, 4, generator=torch.Generator().manual_seed(1)), torch.arange(128) % 3
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4))
    loss = model.train_step({'img': x, 'gt_label': y})['loss']
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    ddp = torch.load(tmp_path / 'ddp.pth', weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.allclose(v, ddp[k], atol=1e-6), k


def test_distributed_eval_equals_single_process_on_101_images(tmp_path):
    r = torchrun(str(ROOT / 'tests' / 'dist_worker.py'), 'eval', str(tmp_path / 'eval.json'), str(tmp_path / 'd'),
                 str(tmp_path / 'w'), cwd=ROOT / 'tests')
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads((tmp_path / 'eval.json').read_text())
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                                                 base_channels=4, stem_channels=4),
                                         head=HeadConfig(in_channels=4)))
    model.init_weights()
    sys.path.insert(0, str(ROOT / 'tests'))
    from dist_worker import Small
    dataset = Small(str(tmp_path / 'd'), test_pipeline, test_mode=True)
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path / 'w1'),
                              logging.getLogger('single'))
    results = single_gpu_test(runner.model, data.build_dataloader(dataset, 16, 0, shuffle=False))
    assert got['n'] == len(results) == 101                  # padding duplicates dropped
    assert got['metrics'] == dataset.evaluate(results)
    want = [v for r in results[:5] for v in r.tolist()]
    assert [v for r in got['scores'] for v in r] == pytest.approx(want, abs=1e-6)   # same order too


def test_sync_buffer_averages_bn_statistics_before_saving(tmp_path):
    r = torchrun(str(ROOT / 'tests' / 'dist_worker.py'), 'buffers', str(tmp_path / 'b.pth'), str(tmp_path / 'w'),
                 cwd=ROOT / 'tests')
    assert r.returncode == 0, r.stderr[-3000:]
    got = torch.load(tmp_path / 'b.pth', weights_only=True)
    first, second = got['rank_means']
    assert not torch.allclose(first, second)                    # each process saw other images
    assert torch.allclose(got['saved_mean'], (first + second) / 2, atol=1e-6)


def test_launcher_pytorch_without_torchrun_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR')}
    r = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
                        '--launcher', 'pytorch'], cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 2 and 'torchrun --nproc_per_node=N' in r.stderr and 'Traceback' not in r.stderr


class EpochsSeen(torch.utils.data.SequentialSampler):
    """A sampler that records every set_epoch it is given."""

    def __init__(self, data_source):
        super().__init__(data_source)
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_dist_sampler_seed_hook_gives_the_sampler_the_epoch_itself(tmp_path):
    """mmcv's DistSamplerSeedHook.before_epoch calls set_epoch(runner.epoch): 0, 1,
    2 for three epochs (not 1, 2, 3), and 2, 3 after a resume from epoch_2.pth (seed + epoch
    is the sampler's order: epoch + 1 would shift every order by one epoch)."""
    from config import CheckpointConfig
    from hooks import DistSamplerSeedHook
    from test_lr_updater import bare_runner

    def run(max_epochs, resume=None):
        dataset = tiny.TinyDataset(4)
        sampler = EpochsSeen(dataset)
        runner = bare_runner(tmp_path, max_epochs, checkpoint=CheckpointConfig(interval=1))
        runner.register_hook(DistSamplerSeedHook())
        if resume:
            runner.resume(str(tmp_path / resume))
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, sampler=sampler)
        runner.run([loader], [('train', 1)])
        return sampler.epochs
    assert run(3) == [0, 1, 2]
    assert run(4, resume='epoch_2.pth') == [2, 3]
