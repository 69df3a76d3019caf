"""Exact resume: 4 epochs straight and 2 epochs + --resume for 2 more give bit-identical
weights, optimizer state and per-iteration losses (mmcv's resume does not: it restores
neither the random states nor the data order)."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import procs
import train as train_py

ROOT = Path(__file__).resolve().parent.parent
# The demo, shrunk to a 4-channel one-stage ResNet so that an epoch takes about a second.
SMALL = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4', 'model.backbone.num_stages=1',
         'model.backbone.out_indices=[0]', 'model.head.in_channels=4', 'log_config.interval=1',
         'lr_config.step=[3]']


def train(cwd, work_dir, workers, epochs, *extra):
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', work_dir, '--deterministic', '--no-validate', '--cfg-options', *SMALL,
            f'data.workers_per_gpu={workers}', f'total_epochs={epochs}',
            'num_threads=1', *extra]   # one thread: the same sums, however busy the machine
    r = procs.run(args, cwd=cwd, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def losses(work_dir):
    rows = []
    for log in sorted(Path(work_dir).glob('*.log.json')):
        rows += [(x['epoch'], x['iter'], x['loss']) for x in map(json.loads, log.open()) if x.get('mode') == 'train']
    return rows


def assert_same_checkpoint(a, b):
    a, b = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k]['momentum_buffer'], sb[k]['momentum_buffer']) for k in sa)
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter'])


def start(cwd, work_dir, workers, epochs, *extra, env=None):
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', work_dir, '--deterministic', '--no-validate', '--cfg-options', *SMALL,
            f'data.workers_per_gpu={workers}', f'total_epochs={epochs}',
            'num_threads=1', *extra]   # one thread: the same sums, however busy the machine
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)     # its own group: procs.kill_group ends it and its workers


FEW = ['data.samples_per_gpu=16', 'data.train.num_samples=128']       # 8 batches an epoch


def train_here(cwd, work_dir, workers, epochs, *extra):
    """What train() runs, in this process (these runs are checked by their result, not as a
    process); its stdout."""
    out, previous = io.TextIOWrapper(io.BytesIO(), 'utf-8'), os.getcwd()    # cli reconfigures it
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            train_py.cli(['--config', str(ROOT / 'configs' / 'demo.py'), '--work-dir', work_dir,
                          '--deterministic', '--no-validate', '--cfg-options', *SMALL,
                          f'data.workers_per_gpu={workers}', f'total_epochs={epochs}',
                          'num_threads=1', *extra])
    finally:
        os.chdir(previous)
    out.flush()
    return out.buffer.getvalue().decode()


@pytest.fixture(scope='module')
def straight_demo(tmp_path_factory):
    """4 epochs uninterrupted: the work dir. 0 and 2 loader workers give the same batches (the
    order and each sample's augmentation come from (seed, epoch)), so both runs below compare
    against this one."""
    folder = tmp_path_factory.mktemp('straight_demo')
    train_here(folder, 'w', 0, 4, *FEW)
    return folder / 'w'


@pytest.mark.parametrize('workers', [0, 2])
def test_resume_after_epoch_2_and_after_sigterm_in_epoch_3_are_bit_identical(workers, straight_demo,
                                                                               tmp_path):
    """--resume epoch_2.pth, and a SIGTERM sent to train.py from outside after iteration 6 of
    epoch 3 (the process waits there for it: tests/tiny.py's PauseAt), then --resume auto: the
    losses of every iteration, the weights and the optimizer state are the straight run's."""
    train_here(tmp_path, 'interrupted', workers, 2, *FEW)
    train_here(tmp_path, 'interrupted', workers, 4, *FEW, '--resume', 'interrupted/epoch_2.pth')
    straight, interrupted = losses(straight_demo), losses(tmp_path / 'interrupted')
    assert len(straight) == 4 * 8 and straight == interrupted
    assert_same_checkpoint(straight_demo / 'epoch_4.pth', tmp_path / 'interrupted' / 'epoch_4.pth')

    pause = "custom_hooks=[{'type': 'tiny:PauseAt', 'iter': %d, 'folder': %r}]" % (2 * 8 + 5,
                                                                                  str(tmp_path))
    proc = start(tmp_path, 'stopped', workers, 4, *FEW, pause,
                 env=dict(os.environ, PYTHONPATH=str(ROOT / 'tests')))
    try:
        assert procs.signal_when_paused(proc, tmp_path, signal.SIGTERM), proc.communicate()[1]
        out, err = proc.communicate(timeout=300)
    finally:
        procs.kill_group(proc)
    assert proc.returncode == 143, err[-2000:]
    assert 'SIGTERM received' in err and '--resume' in err and 'Traceback' not in err
    assert (tmp_path / 'stopped' / 'last_checkpoint').read_text() == 'iter_22.pth'
    meta = torch.load(tmp_path / 'stopped' / 'iter_22.pth', weights_only=True)['meta']
    assert (meta['epoch'], meta['batches_done']) == (2, 6)                  # inside epoch 3
    out = train_here(tmp_path, 'stopped', workers, 4, *FEW, '--resume', 'auto')
    assert 'resuming from stopped/iter_22.pth' in out
    assert losses(straight_demo) == losses(tmp_path / 'stopped')
    assert_same_checkpoint(straight_demo / 'epoch_4.pth', tmp_path / 'stopped' / 'epoch_4.pth')


def test_sigterm_to_the_process_group_with_loader_workers_saves_and_resumes(tmp_path):
    """Slurm, systemd, `timeout` and `kill -TERM -<pgid>` signal the whole process group: the
    loader workers ignore SIGTERM (as SIGINT and SIGHUP), so the main process finishes the
    iteration, saves iter_N.pth, exits 128 + 15 with no traceback, and --resume auto goes on.
    The group is signalled after iteration 4 of epoch 1, where tests/tiny.py's PauseAt holds
    the main process (its workers are up, loading ahead)."""
    pause = "custom_hooks=[{'type': 'tiny:PauseAt', 'iter': 3, 'folder': %r}]" % str(tmp_path)
    proc = start(tmp_path, 'stopped', 2, 2, *FEW, pause,
                 env=dict(os.environ, PYTHONPATH=str(ROOT / 'tests')))
    try:
        assert procs.signal_when_paused(proc, tmp_path, signal.SIGTERM, group=True), \
            proc.communicate()[1]
        out, err = proc.communicate(timeout=300)
    finally:
        procs.kill_group(proc)
    assert proc.returncode == 143 and 'Traceback' not in err, err[-3000:]
    assert 'SIGTERM received' in err and 'resume with --resume' in err
    assert (tmp_path / 'stopped' / 'last_checkpoint').read_text() == 'iter_4.pth'
    out = train_here(tmp_path, 'stopped', 2, 2, *FEW, '--resume', 'auto')
    assert 'resuming from stopped/iter_4.pth' in out
    assert torch.load(tmp_path / 'stopped' / 'epoch_2.pth', weights_only=True)['meta']['iter'] == 16


KILL_WHILE_SAVING = '''
import os, signal, sys
sys.path.insert(0, {root!r})
sys.argv = ['train.py'] + {args!r}
import checkpoint, train
write = checkpoint.atomic_write
def dying_write(path, data):
    if path.endswith('epoch_2.pth'):           # half the temp file is on disk: kill -9 now
        folder, name = os.path.split(path)
        with open(os.path.join(folder, '.' + name + '.k1ll3d_x' + checkpoint.TEMP_SUFFIX), 'wb') as f:
            f.write(data[:len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, data)
checkpoint.atomic_write = dying_write
train.cli()
'''


def test_sigkill_while_saving_keeps_the_previous_checkpoint(tmp_path):
    args = ['--config', str(ROOT / 'configs' / 'demo.py'), '--work-dir', 'w', '--no-validate',
            '--cfg-options', *SMALL, *FEW, 'data.workers_per_gpu=0', 'total_epochs=3']
    r = procs.run([sys.executable, '-c', KILL_WHILE_SAVING.format(root=str(ROOT), args=args)],
                  cwd=tmp_path, timeout=300)
    assert r.returncode == -signal.SIGKILL
    work = tmp_path / 'w'
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth' and not (work / 'epoch_2.pth').exists()
    assert torch.load(work / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1
    orphan = work / '.epoch_2.pth.k1ll3d_x.minicls.tmp'
    assert orphan.exists()
    (work / 'not_ours.tmp').write_text('a user file')           # a name this project never writes
    os.symlink(work / 'not_ours.tmp', work / '.link.pth.abcdefgh.minicls.tmp')   # a link: not removed
    out = train_here(tmp_path, 'w', 0, 3, *FEW, '--resume', 'auto')
    assert 'resuming from w/epoch_1.pth' in out and 'resumed epoch 1, iter 8' in out
    assert 'removed 1 temp files that an interrupted run left' in out and not orphan.exists()
    assert (work / 'not_ours.tmp').exists() and os.path.islink(work / '.link.pth.abcdefgh.minicls.tmp')
    assert torch.load(work / 'epoch_3.pth', weights_only=True)['meta']['iter'] == 24


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('flag', ['--resume', '--load-from'])
def test_a_checkpoint_that_would_run_code_is_refused(flag, tmp_path, monkeypatch, capsys):
    marker = tmp_path / 'pwned'
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': {}, 'payload': RunsCode(marker)},
               tmp_path / 'evil.pth')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:             # train.py's cli: one line, exit 1
        train_py.cli(['--config', str(ROOT / 'configs' / 'demo.py'), '--work-dir', 'w',
                      '--cfg-options', *SMALL, *FEW, 'total_epochs=1', flag, 'evil.pth'])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 1 and len(err) == 1, err
    assert 'could run code' in err[0] and '--trust-checkpoint' in err[0]
    assert not marker.exists()


# ---- Resume restores random, numpy and torch's generators ----------------------------------
import random  # noqa: E402

import numpy as np  # noqa: E402

from config import CheckpointConfig  # noqa: E402
from hooks import Hook  # noqa: E402
from test_lr_updater import bare_runner  # noqa: E402
from tiny import loader  # noqa: E402


class Draws(Hook):
    """One draw from each generator at every training iteration."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner):
        self.rows.append((runner.epoch, runner.iter, random.random(), float(np.random.random()),
                          float(torch.rand(1))))


def test_resume_restores_python_numpy_and_torch_random_states(tmp_path):
    """Epochs 3-4 resumed from epoch_2.pth draw, from random, np.random and torch, what the
    uninterrupted 4-epoch run drew there, whatever the generators held before the resume."""
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    full = bare_runner(tmp_path / 'full', 4, checkpoint=CheckpointConfig(interval=1))
    full_draws = Draws()
    full.register_hook(full_draws, 'LOWEST')
    full.run([loader(n=3)], [('train', 1)])

    random.seed(101), np.random.seed(102), torch.manual_seed(103)
    resumed = bare_runner(tmp_path / 'resumed', 4)
    draws = Draws()
    resumed.register_hook(draws, 'LOWEST')
    resumed.resume(str(tmp_path / 'full' / 'epoch_2.pth'))
    resumed.run([loader(n=3)], [('train', 1)])
    want = full_draws.rows[6:]
    assert [r[:2] for r in draws.rows] == [r[:2] for r in want] == \
        [(e, i) for e in (2, 3) for i in range(3 * e, 3 * e + 3)]
    for name, column in (('random', 2), ('numpy', 3), ('torch', 4)):
        assert [r[column] for r in draws.rows] == [r[column] for r in want], name
    # the draws differ from iteration to iteration (no state reset to a seed on the way)
    assert len({r[3] for r in full_draws.rows}) == len(full_draws.rows)


# ---- A stop at any iteration of an epoch resumes to the bit --------------------------------
from test_work_dir import cli, config  # noqa: E402,F401  (fixtures: 4 iterations an epoch, 3 epochs)
from extras.run.guards import StopSignalHook  # noqa: E402


@pytest.fixture(scope='module')
def straight(config, tmp_path_factory):
    """The uninterrupted run's epoch_3.pth state_dict, and what torch's threads were."""
    folder, threads = tmp_path_factory.mktemp('straight'), torch.get_num_threads()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        train_py.cli(['--config', config, '--no-validate', '--cfg-options', 'num_threads=1'])
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)
    return torch.load(folder / 'w' / 'epoch_3.pth', weights_only=True)['state_dict']


@pytest.mark.parametrize('stop_at', [4, 6, 7, 11])   # epoch 2's first, a middle, last; epoch 3's last
def test_a_stop_at_any_iteration_resumes_bit_identical(stop_at, straight, cli, tmp_path,
                                                       monkeypatch):
    """SIGTERM in iteration `stop_at` (0-based, 4 an epoch) saves iter_<stop_at + 1>.pth; the
    last iteration's (batches_done == the epoch's length) resumes too, running the epoch's end."""
    class SignalAt(StopSignalHook):
        def after_train_iter(self, runner):
            if runner.iter == stop_at:
                os.kill(os.getpid(), signal.SIGTERM)     # a real signal, at a known iteration
            super().after_train_iter(runner)

    threads = torch.get_num_threads()
    monkeypatch.setattr(train_py, 'StopSignalHook', SignalAt)
    args = ['--no-validate', '--cfg-options', 'num_threads=1']
    try:
        code, out, err = cli(*args)
        assert code == 143 and 'SIGTERM received' in err, err
        assert (tmp_path / 'w' / 'last_checkpoint').read_text() == f'iter_{stop_at + 1}.pth'
        meta = torch.load(tmp_path / 'w' / f'iter_{stop_at + 1}.pth', weights_only=True)['meta']
        assert (meta['epoch'], meta['batches_done']) == (stop_at // 4, stop_at % 4 + 1)
        monkeypatch.setattr(train_py, 'StopSignalHook', StopSignalHook)
        code, out, err = cli('--resume', 'auto', *args)
    finally:
        torch.set_num_threads(threads)
    assert code == 0 and f'resuming from w/iter_{stop_at + 1}.pth' in out, err
    resumed = torch.load(tmp_path / 'w' / 'epoch_3.pth', weights_only=True)['state_dict']
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    epoch_end = torch.load(tmp_path / 'w' / f'epoch_{stop_at // 4 + 1}.pth', weights_only=True)
    assert epoch_end['meta']['epoch'] == stop_at // 4 + 1       # the stopped epoch's end ran
