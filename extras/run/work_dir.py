"""The work dir, held by one run at a time, nothing in it lost or overwritten (not in mmcls:
its tools/train.py makes the folder and writes into it, and mmcv's `auto_resume` finds
`latest.pth`). train.py's main calls these in this order, on every run:

    with lock_work_dir(cfg, rank, ...):        a second run in the same folder is refused
        remove_temp_files(cfg, notes, rank)    what a kill -9 left half-written
        find_latest_checkpoint(cfg, notes)     `--resume auto`: the checkpoint to resume from
        move_later_checkpoints_aside(...)      a resume would overwrite them; a fresh run
                                               refuses a folder that holds checkpoints
        unique_timestamp(cfg.work_dir, ...)    two runs in one second keep their own logs

`resolve_work_dir` gives the folder one name before any of it; `is_finished` tells a requeued
`--resume auto` job that there is nothing left to do. Each folder is the work dir and, with
checkpoint_config.out_dir, out_dir/<work dir's name> (hooks.checkpoint_dirs).
"""
import contextlib
import errno
import fcntl
import os
import re
import stat
import warnings

import torch

from checkpoint import TEMP_SUFFIX, CheckpointError, atomic_write, open_checkpoint
from config import ConfigError
from hooks import checkpoint_dirs

CHECKPOINT_NAME = re.compile(r'(epoch|iter)_\d+\.pth')


def resolve_work_dir(path):
    """One name for the work dir, used everywhere: its links resolved ('links/../w' is
    one folder, not two), relative to here when it is below here."""
    check_no_dangling_link(path)
    real = os.path.realpath(path)
    relative = os.path.relpath(real)
    return real if relative.startswith('..') else relative


def check_no_dangling_link(path):
    """A link in the path whose target does not exist: os.makedirs would make the target,
    outside the folder the user named, without a word."""
    while path and not os.path.exists(path):
        if os.path.islink(path):
            raise ConfigError(f'work_dir {path!r} is a symbolic link to {os.readlink(path)!r}, '
                              'which does not exist; make that folder, or give another --work-dir')
        path = os.path.dirname(path.rstrip(os.sep))


def folders(cfg):
    """The folders a run writes checkpoints into, the work dir first."""
    out_dir = cfg.checkpoint_config.out_dir if cfg.checkpoint_config is not None else None
    return checkpoint_dirs(cfg.work_dir, out_dir)


@contextlib.contextmanager
def lock_work_dir(cfg, rank=0, distributed=False):
    """Hold a lock on each of the run's folders until the block ends. A second run there is
    refused, naming the holder. Distributed, rank 0 takes the locks while the others wait."""
    locks = []
    if distributed and rank != 0:
        torch.distributed.barrier()
    try:
        for folder in (folders(cfg) if rank == 0 else []):
            locks.append(lock(folder))
        if distributed and rank == 0:
            torch.distributed.barrier()
        yield
    finally:
        for fd in locks:
            os.close(fd)


def lock(folder):
    """Hold an advisory lock on `folder` until the file is closed; a second run in the
    same folder is refused, naming the holder."""
    path = os.path.join(folder, '.lock')
    try:                               # O_NONBLOCK: a FIFO planted there cannot hang the run
        os.makedirs(folder, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    except OSError as e:
        raise ConfigError(f'{folder!r} cannot be written: {e.strerror}') from None
    check_lock_file(fd, path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 20).decode(errors='replace').strip() or 'unknown'
        os.close(fd)
        raise ConfigError(f'{folder} is in use by another run (pid {holder}); wait for it to '
                          'end, or pick another --work-dir') from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError as e:               # a full disk: name the file ("[Errno 28]" alone does not)
        os.close(fd)
        raise OSError(e.errno, f'{path} cannot be written: {e.strerror}') from None
    return fd


def check_lock_file(fd, path):
    """Only a regular file is a lock (flock on a FIFO fails with [Errno 22])."""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(f'{path} is not a regular file (a FIFO, socket or device); remove it: '
                          'the lock of a work dir is a file this project writes')


def remove_temp_files(cfg, notes, rank=0):
    """Remove the temp files of writes a kill -9 cut short (only this project's: its
    suffix, regular files, not links); says how many in `notes`. Safe under the lock: no
    other run writes there."""
    for folder in (folders(cfg) if rank == 0 else []):
        removed = 0
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if name.startswith('.') and name.endswith(TEMP_SUFFIX) \
                    and not os.path.islink(path) and os.path.isfile(path):
                os.remove(path)
                removed += 1
        if removed:
            notes.append(f'removed {removed} temp files that an interrupted run left in {folder}')


def find_latest_checkpoint(cfg, notes):
    """`--resume auto`: the checkpoint that the work dir's `last_checkpoint` names, if it is
    a checkpoint file of that folder that loads; otherwise the newest one (by the epoch/iter
    in its meta) that loads; None in a folder without one. Only this user's files (pointer
    and checkpoints) count. Says which in `notes`."""
    folder = cfg.work_dir
    pointer = os.path.join(folder, 'last_checkpoint')
    if os.path.isfile(pointer) and not owned_by_another(pointer, notes):
        with open(pointer, 'rb') as f:
            name = f.read(200).decode(errors='replace').strip()
        path = os.path.join(folder, name)
        if CHECKPOINT_NAME.fullmatch(name) and not os.path.islink(path) \
                and checkpoint_position(path) and not owned_by_another(path, notes):
            notes.append(f'--resume auto: resuming from {path}')
            return path
        notes.append(f'last_checkpoint in {folder} names {name[:60]!r}, not a checkpoint of '
                     'this folder that loads: ignored')
    found = []
    for name in checkpoints_in(folder):
        path = os.path.join(folder, name)
        position = checkpoint_position(path)
        if position is not None and not owned_by_another(path, notes):
            found.append((position, name))
    if not found:
        notes.append(f'--resume auto: no checkpoint in {folder}, starting fresh')
        return None
    path = os.path.join(folder, max(found)[1])
    notes.append(f'--resume auto: resuming from {path}')
    return path


def owned_by_another(path, notes):
    """In a shared work dir another user can plant the newest checkpoint, or the pointer:
    --resume auto takes only this user's files (an explicit --resume takes any), and says so."""
    uid = os.lstat(path).st_uid
    note = (f'--resume auto: passed over {path}: owned by uid {uid}, not by you (uid '
            f'{os.getuid()}); resume from it with --resume if you trust it')
    if uid != os.getuid() and note not in notes:
        notes.append(note)
    return uid != os.getuid()


def is_finished(cfg):
    """Whether cfg.resume_from already holds every epoch of the run."""
    position = checkpoint_position(cfg.resume_from) if cfg.resume_from else None
    return position is not None and position[1] >= cfg.total_epochs


def move_later_checkpoints_aside(cfg, timestamp, notes, rank=0):
    """A fresh run refuses a folder that holds an earlier run's checkpoints; a resume moves
    the checkpoints past cfg.resume_from aside (it would overwrite them). Says what it moved
    in `notes`."""
    for folder in folders(cfg):
        check_nothing_overwritten(folder, cfg.resume_from)
        if cfg.resume_from and rank == 0:
            notes += move_later_aside(folder, cfg.resume_from, timestamp)


def check_nothing_overwritten(folder, resume_from):
    """A fresh run refuses a folder that holds an earlier run's checkpoints."""
    ckpts = checkpoints_in(folder)
    if ckpts and not resume_from:
        shown = ', '.join(ckpts[:3]) + (', ...' if len(ckpts) > 3 else '')
        raise ConfigError(f'{folder} already holds checkpoints of an earlier run ({shown}); '
                          'resume with --resume auto, or pick another --work-dir')


def move_later_aside(folder, resume_from, timestamp):
    """Move the checkpoints past `resume_from` (by the epoch/iter in their meta, never by
    file time; one that does not load counts as later) into a new folder
    `superseded_<timestamp>_*`. `last_checkpoint` is first rewritten to name a checkpoint
    that stays, so it never names a moved one. Returns the notes to log."""
    start = checkpoint_position(resume_from)
    start_path = os.path.realpath(resume_from)
    later, stays = [], []
    for name in checkpoints_in(folder):
        path = os.path.join(folder, name)
        position = checkpoint_position(path)
        if os.path.realpath(path) == start_path:
            stays.append((position or (-1, -1), name))
        elif position is None or start is None or position > start:
            later.append(name)
        else:
            stays.append((position, name))
    if not later:
        return []
    pointer = os.path.join(folder, 'last_checkpoint')
    if stays:
        atomic_write(pointer, max(stays)[1].encode())
    elif os.path.lexists(pointer):
        os.remove(pointer)
    aside = new_folder(os.path.join(folder, f'superseded_{timestamp}_'))
    for name in later:
        os.replace(os.path.join(folder, name), os.path.join(aside, name))
    return [f'moved {len(later)} checkpoints from {folder} that a resume from {resume_from} '
            f'would overwrite to {aside} (nothing is deleted)']


def new_folder(prefix):
    """A new folder `<prefix><random>`, mode 0o777 less the umask (mkdtemp's is 0o700)."""
    while True:
        path = prefix + os.urandom(4).hex()
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)
            return path


def unique_timestamp(folder, timestamp):
    """`timestamp`, or `timestamp_2`, ...: two runs started in the same second get their
    own .log, .log.json and _config.json."""
    candidate, n = timestamp, 1
    while any(os.path.lexists(os.path.join(folder, candidate + end))
              for end in ('.log', '.log.json', '_config.json')):
        n += 1
        candidate = f'{timestamp}_{n}'
    return candidate


def checkpoints_in(folder):
    """The checkpoint names in `folder`: regular files only (not a link, a FIFO, a folder)."""
    if not os.path.isdir(folder):
        return []
    return sorted(f for f in os.listdir(folder) if CHECKPOINT_NAME.fullmatch(f)
                  and stat.S_ISREG(os.lstat(os.path.join(folder, f)).st_mode))


def checkpoint_position(path):
    """(iter, epoch) from a checkpoint's meta, or None when it does not load. Its tensors
    are mapped, not read (mmap): a look at the meta of a large file is quick. A file this
    user may not read is an error that says so (it is not "no checkpoint")."""
    try:
        open_checkpoint(path).close()  # a regular file, readable, not a deflate bomb
    except CheckpointError as e:
        if getattr(e, 'errno', None) in (errno.EACCES, errno.EPERM):
            raise CheckpointError(f'--resume auto: {e}') from None
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                meta = torch.load(path, map_location='cpu', weights_only=True, mmap=True)['meta']
            except UnicodeEncodeError:     # mmap takes UTF-8 paths only: read the whole file
                meta = torch.load(path, map_location='cpu', weights_only=True)['meta']
        return int(meta['iter']), int(meta['epoch'])
    except Exception:
        return None
