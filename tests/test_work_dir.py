"""The work dir under attack and accident: nothing outside it is touched, nothing in it is
lost. Each test plants the attack or the accident, then runs train.py's cli in this process
on a one-stage, 4-channel demo (a fraction of a second per epoch)."""
import errno
import os
import shutil

import pytest
import torch

import runner
import train
from extras.run import work_dir
from extras.run import cpu_threads

CONFIG = '''from config import *
cfg = replace(cfg,
    model=ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,), base_channels=4,
                                              stem_channels=4),
                      head=HeadConfig(num_classes=10, in_channels=4)),
    data=DataConfig(samples_per_gpu=16, workers_per_gpu=0,
        train=DatasetConfig(type='SyntheticCIFAR10', data_prefix={data!r}, pipeline=train_pipeline, num_samples=64),
        val=DatasetConfig(type='SyntheticCIFAR10', data_prefix={data!r}, pipeline=test_pipeline, test_mode=True,
                          num_samples=32)),
    lr_config=LrConfig(policy='step', step=[1]), total_epochs=3, log_config=LogConfig(interval=1), seed=0,
    work_dir='w')
'''


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cfg')
    (folder / 'tiny.py').write_text(CONFIG.format(data=str(folder / 'data')))
    return str(folder / 'tiny.py')


@pytest.fixture
def cli(config, tmp_path, monkeypatch, capsys):
    """cli(*args) -> (exit status, stdout, stderr) of `train.py --config tiny.py *args` in tmp_path."""
    monkeypatch.chdir(tmp_path)

    def run(*args):
        try:
            train.cli(['--config', config, *args])
            code = 0
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


def meta(path):
    return torch.load(path, weights_only=True)['meta']


def test_a_planted_best_ckpt_path_is_never_deleted(cli, tmp_path):
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious')
    assert cli('--cfg-options', 'total_epochs=1')[0] == 0
    ckpt = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)
    ckpt['meta'].setdefault('hook_msgs', {})['best_ckpt'] = str(victim)
    torch.save(ckpt, tmp_path / 'w' / 'epoch_1.pth')
    code, out, err = cli('--resume', 'w/epoch_1.pth', '--cfg-options', 'evaluation.save_best="auto"', 'total_epochs=2')
    assert code == 0, err
    assert victim.read_text() == 'precious'
    assert any(f.startswith('best_') for f in os.listdir(tmp_path / 'w'))


def test_links_planted_at_predictable_names_are_not_followed(cli, tmp_path):
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious')
    os.makedirs(tmp_path / 'w')
    os.symlink(victim, tmp_path / 'w' / 'last_checkpoint')      # replaced by the rename, not written through
    code, out, err = cli('--cfg-options', 'total_epochs=1')
    assert code == 0, err
    assert victim.read_text() == 'precious'
    assert not os.path.islink(tmp_path / 'w' / 'last_checkpoint')
    assert (tmp_path / 'w' / 'last_checkpoint').read_text() == 'epoch_1.pth'
    os.makedirs(tmp_path / 'w4')
    os.symlink(victim, tmp_path / 'w4' / '.lock')
    code, out, err = cli('--work-dir', 'w4', '--cfg-options', 'total_epochs=1')
    assert code == 2 and 'cannot be written' in err and victim.read_text() == 'precious'


@pytest.mark.parametrize('pointer', ['../../../../etc/passwd', '/etc/passwd', '', '\x00\xff junk', 'epoch_9.pth'])
def test_resume_auto_ignores_a_bad_pointer_and_takes_the_newest_checkpoint(cli, tmp_path, pointer):
    assert cli('--cfg-options', 'total_epochs=2')[0] == 0
    (tmp_path / 'w' / 'last_checkpoint').write_bytes(pointer.encode('latin1'))
    code, out, err = cli('--resume', 'auto')
    assert code == 0, err
    assert 'resuming from w/epoch_2.pth' in out
    if pointer:
        assert 'not a checkpoint of this folder' in out
    assert meta(tmp_path / 'w' / 'epoch_3.pth')['epoch'] == 3


def test_resume_auto_after_a_kill_between_rename_and_pointer(cli, tmp_path):
    assert cli('--cfg-options', 'total_epochs=2')[0] == 0
    os.remove(tmp_path / 'w' / 'last_checkpoint')                # the pointer was never written
    shutil.copy(tmp_path / 'w' / 'epoch_2.pth', tmp_path / 'w' / 'iter_999.pth')
    (tmp_path / 'w' / 'iter_999.pth').write_bytes(b'junk')       # a checkpoint that does not load is passed over
    code, out, err = cli('--resume', 'auto')
    assert code == 0 and 'resuming from w/epoch_2.pth' in out, err


@pytest.mark.parametrize('start', ['w/epoch_1.pth', 'copy.pth'])     # in the work dir, and a copy outside
def test_a_resume_moves_later_checkpoints_aside_by_their_meta_not_their_time(cli, tmp_path, start):
    assert cli('--cfg-options', 'total_epochs=3')[0] == 0
    work = tmp_path / 'w'
    later = {f: (work / f).read_bytes() for f in ('epoch_2.pth', 'epoch_3.pth')}
    shutil.copy(work / 'epoch_1.pth', tmp_path / 'copy.pth')
    os.utime(work / 'epoch_1.pth')                 # restored with cp: now the newest file
    code, out, err = cli('--resume', start)
    assert code == 0, err
    asides = [p for p in work.iterdir() if p.name.startswith('superseded_')]
    assert len(asides) == 1 and {f.name: f.read_bytes() for f in asides[0].iterdir()} == later
    assert meta(work / 'epoch_3.pth')['epoch'] == 3 and 'nothing is deleted' in out


def test_nothing_left_to_train_is_said_and_exits_2(cli, tmp_path):
    assert cli('--cfg-options', 'total_epochs=2')[0] == 0
    code, out, err = cli('--resume', 'w/epoch_2.pth', '--cfg-options', 'total_epochs=1')
    assert code == 2 and 'is at epoch 2 and total_epochs=1: nothing is left to train' in err


def test_a_second_run_in_the_same_work_dir_is_refused_with_the_holder_pid(cli, tmp_path):
    held = work_dir.lock(str(tmp_path / 'w'))
    try:
        code, out, err = cli()
    finally:
        os.close(held)
    assert code == 2 and f'in use by another run (pid {os.getpid()})' in err
    assert cli('--cfg-options', 'total_epochs=1')[0] == 0          # free again


def test_a_fresh_run_into_a_shared_out_dir_with_checkpoints_is_refused(cli, tmp_path):
    assert cli('--cfg-options', 'checkpoint_config.out_dir="shared"', 'total_epochs=1')[0] == 0
    assert (tmp_path / 'shared' / 'w' / 'epoch_1.pth').exists()    # mmcv: out_dir/<work dir's name>
    code, out, err = cli('--work-dir', 'other/w', '--cfg-options', 'checkpoint_config.out_dir="shared"')
    assert code == 2 and 'already holds checkpoints' in err and 'shared' in err


def test_a_full_disk_keeps_the_earlier_checkpoints_and_leaves_no_temp_file(cli, tmp_path, monkeypatch):
    real_fsync = os.fsync

    def fsync(fd):           # the disk is full when epoch_2.pth's temp file is flushed
        if '.epoch_2.pth.' in os.readlink(f'/proc/self/fd/{fd}'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        real_fsync(fd)
    monkeypatch.setattr(runner.os, 'fsync', fsync)
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=2')
    assert code == 1 and 'epoch_2.pth could not be written' in err and 'No space left' in err
    work = tmp_path / 'w'
    assert sorted(f for f in os.listdir(work) if 'pth' in f) == ['epoch_1.pth']
    assert meta(work / 'epoch_1.pth')['epoch'] == 1 and (work / 'last_checkpoint').read_text() == 'epoch_1.pth'


@pytest.mark.parametrize('omp, workers, busy, threads', [(None, 0, 0, 3), (None, 2, 0, 1), ('1', 0, 0, 1),
                                                         (None, 0, 2, 1), ('2', 0, 2, 2)])
def test_the_thread_count_is_chosen_from_the_usable_cores_and_logged(cli, monkeypatch, omp, workers, busy, threads):
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1, 2})
    monkeypatch.setattr(cpu_threads, 'busy_elsewhere', lambda cores, processes: busy)    # not this machine's load
    if omp is None:
        monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    else:
        monkeypatch.setenv('OMP_NUM_THREADS', omp)
    previous = torch.get_num_threads()
    try:
        code, out, err = cli('--cfg-options', 'total_epochs=1', f'data.workers_per_gpu={workers}')
        assert code == 0, err
        assert f'3 usable, torch threads: {threads}' in out and torch.get_num_threads() == threads
        assert (f'3 cores - {workers} loader workers - {busy} busy elsewhere' if omp is None
                else '(OMP_NUM_THREADS / num_threads)') in out
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize('start, pointer', [('w/epoch_3.pth', 'epoch_3.pth'), ('copy.pth', 'epoch_2.pth')])
def test_moving_checkpoints_aside_points_last_checkpoint_at_the_newest_that_stays(
        cli, tmp_path, monkeypatch, start, pointer):
    """Four checkpoints kept; a resume from epoch 3 (in the folder) or from a copy
    of epoch 2 (outside it) moves the later ones aside and `last_checkpoint` names the newest
    that stays, not an older one: a resumed run that fails before its first checkpoint (a
    full disk here) is taken up by `--resume auto` where it started."""
    assert cli('--no-validate', '--cfg-options', 'total_epochs=4')[0] == 0
    work = tmp_path / 'w'
    shutil.copy(work / 'epoch_2.pth', tmp_path / 'copy.pth')
    real_fsync = os.fsync

    def fsync(fd):           # the disk is full when the resumed run saves its first checkpoint
        if '.epoch_' in os.readlink(f'/proc/self/fd/{fd}'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        real_fsync(fd)
    monkeypatch.setattr(os, 'fsync', fsync)
    code, out, err = cli('--no-validate', '--resume', start, '--cfg-options', 'total_epochs=4')
    assert code == 1 and 'No space left' in err and 'would overwrite' in out
    assert (work / 'last_checkpoint').read_text() == pointer
    monkeypatch.setattr(os, 'fsync', real_fsync)
    code, out, err = cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=4')
    assert code == 0 and f'resuming from w/{pointer}' in out, err


def test_temp_file_cleanup_removes_only_this_projects_temp_files(cli, tmp_path):
    """A kill -9's half-written `.epoch_2.pth.<random>.minicls.tmp` is removed when
    the next run starts; a user's `.notes.tmp` and `notes.minicls.tmp` (not hidden) are not."""
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    work = tmp_path / 'w'
    ours = work / '.epoch_2.pth.k1ll3d_x.minicls.tmp'
    theirs = [work / '.notes.tmp', work / 'notes.minicls.tmp', work / '.notes.tmp.bak']
    for path in [ours] + theirs:
        path.write_bytes(b'half')
    code, out, err = cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=2')
    assert code == 0, err
    assert not ours.exists() and all(p.read_bytes() == b'half' for p in theirs)
    assert 'removed 1 temp files that an interrupted run left in w' in out


# ---- Only regular files are checkpoints and locks; permissions and the umask --------------

def test_a_fifo_named_as_a_checkpoint_or_the_lock_never_hangs_a_run(cli, tmp_path):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    os.mkfifo(tmp_path / 'w' / 'epoch_9.pth')          # a torch.load of it would wait forever
    code, out, err = cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=2')
    assert code == 0 and 'resuming from w/epoch_1.pth' in out, err
    assert os.path.exists(tmp_path / 'w' / 'epoch_2.pth')
    os.makedirs(tmp_path / 'w2')
    os.mkfifo(tmp_path / 'w2' / '.lock')
    code, out, err = cli('--no-validate', '--work-dir', 'w2', '--cfg-options', 'total_epochs=1')
    assert code == 2 and 'Errno' not in err
    assert err.strip() == 'error: w2/.lock is not a regular file (a FIFO, socket or device); ' \
                          'remove it: the lock of a work dir is a file this project writes'


def test_resume_auto_names_a_checkpoint_it_may_not_read(cli, tmp_path, monkeypatch):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    real_open = os.open

    def denied(path, *args, **kwargs):     # root reads every file: deny as another user's would
        if str(path).endswith('.pth'):
            raise PermissionError(13, 'Permission denied')
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, 'open', denied)
    code, out, err = cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=2')
    assert code == 1 and 'resume with --resume auto' not in err
    assert err.strip().startswith('error: --resume auto: checkpoint w/epoch_1.pth cannot be '
                                  'read: Permission denied'), err


def test_every_file_of_a_run_honours_the_umask(cli, tmp_path):
    old = os.umask(0o002)
    try:
        assert cli('--cfg-options', 'total_epochs=2', 'evaluation.save_best="auto"')[0] == 0
        assert cli('--resume', 'w/epoch_1.pth', '--cfg-options', 'total_epochs=1')[0] == 2
    finally:
        os.umask(old)
    work = tmp_path / 'w'
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in work.iterdir() if p.name != '.lock'}
    assert any(n.endswith('_config.json') for n in modes) and 'last_checkpoint' in modes
    assert any(n.startswith('superseded_') for n in modes)
    assert {n: m for n, m in modes.items() if m != (oct(0o775) if (work / n).is_dir()
                                                  else oct(0o664))} == {}


# ---- Another user's checkpoint, a dangling link, a full disk ------------------------------------

def test_resume_auto_passes_over_a_checkpoint_another_user_owns(cli, tmp_path):
    """In a shared work dir another user can plant the newest checkpoint (and the pointer to
    it): --resume auto takes only this user's files and says which it passed over."""
    assert cli('--no-validate', '--cfg-options', 'total_epochs=2')[0] == 0
    os.chown(tmp_path / 'w' / 'epoch_2.pth', 12345, 12345)      # we run as root in CI
    os.chown(tmp_path / 'w' / 'last_checkpoint', 12345, 12345)
    code, out, err = cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=3')
    assert code == 0 and 'resuming from w/epoch_1.pth' in out, err
    assert '--resume auto: passed over w/epoch_2.pth: owned by uid 12345, not by you' in out
    assert '--resume auto: passed over w/last_checkpoint: owned by uid 12345, not by you' in out


def test_a_work_dir_that_is_a_dangling_link_is_refused(cli, tmp_path):
    """realpath would follow the link, and the run would make its target, outside the folder
    the user named, without a word."""
    os.symlink(tmp_path / 'elsewhere' / 'runs', tmp_path / 'w')
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=1')
    assert code == 2 and err.strip().splitlines() == [
        f"error: work_dir 'w' is a symbolic link to '{tmp_path}/elsewhere/runs', which does not "
        "exist; make that folder, or give another --work-dir"], err
    assert not (tmp_path / 'elsewhere').exists()


def test_a_full_disk_before_the_run_starts_names_the_lock_file(cli, tmp_path, monkeypatch):
    """The disk is full when the lock records its pid (a tmpfs of 64 KiB filled up gives the
    same): the line names the file, not only "[Errno 28]"."""
    real_write = os.write

    def write(fd, data):
        if os.readlink(f'/proc/self/fd/{fd}').endswith('.lock'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_write(fd, data)
    monkeypatch.setattr(work_dir.os, 'write', write)
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=1')
    assert code == 1 and err.strip().splitlines() == [
        'error: [Errno 28] w/.lock cannot be written: No space left on device'], err
