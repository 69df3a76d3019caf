"""Checkpoint files (mmcv 1.x: runner/checkpoint.py): reading them, checked, for a resume or
for weights only, and writing them atomically in a thread.

    runner.resume          -> read_training_checkpoint     every check, in one call
                                                           (extras/checks/checkpoint_checks.py); then
                              load_optimizer_state, restore_rng_state, load_hook_states
    runner.load_checkpoint -> load_checkpoint              weights only (load_from):
                              load_weights                 what fits, the rest named
    runner.save_checkpoint -> CheckpointWriter.write       a thread; atomic_write

A checkpoint is a dict:

    {'meta': {epoch, iter, config, seed, CLASSES, hook_msgs, ...},
     'state_dict': weights and buffers on the CPU, no DDP 'module.' prefix,
     'optimizer': optimizer.state_dict(), 'rng': the random states,
     'hook_states': the hooks' own state (EMA weights, early-stopping counters)}

Where this file does better than mmcv, on purpose: every file is written atomically (temp
file, fsync, rename: a kill -9 at any instant leaves the old file whole); files are read
with torch.load(weights_only=True), tensors and plain values only (mmcv unpickles
anything, and unpickling can run code); the random states are saved, so a resume is
exact; `last_checkpoint`, a text file, names the newest checkpoint (mmcv: a `latest.pth`
symlink). The work dir itself (one run at a time, --resume auto, nothing overwritten) is
extras/run/work_dir.py's. The file reads top-down, each function above what it calls.
"""
import contextlib
import io
import os
import random
import threading
import warnings
from collections import OrderedDict

import numpy as np
import torch

from config import ConfigError, lookup


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message says which and why."""


TEMP_SUFFIX = '.minicls.tmp'     # only this project's temp files end so


# ---- Reading a checkpoint to resume from  (runner.resume: step 7) ------------------------

# A checkpoint file is untrusted input: its checks (a FIFO, a zip bomb, damaged meta, another
# model's weights or another optimizer's state) are an extra's, run on every read (mmcv: none)
CHECKS = {name: f'extras.checks.checkpoint_checks:{name}' for name in (
    'open_checkpoint', 'read_error', 'check_training_checkpoint')}


def read_training_checkpoint(filename, model, trusted=False, optimizer=None):
    """The checkpoint a resume continues from, after every check a resume needs
    (check_training_checkpoint). Damage is a CheckpointError naming the file and the field."""
    checkpoint = read_checkpoint(filename, trusted)
    check_training_checkpoint = lookup(CHECKS, 'check_training_checkpoint', 'checkpoint')
    check_training_checkpoint(checkpoint, filename, model, optimizer)
    return checkpoint


def read_checkpoint(filename, trusted=False):
    """Load a checkpoint onto the CPU. `trusted=True` allows arbitrary unpickling (it can
    run code: only for files from a source you trust)."""
    with lookup(CHECKS, 'open_checkpoint', 'checkpoint')(filename) as f:   # checked, no FIFO
        head = f.read(4)
        f.seek(0)
        try:
            with warnings.catch_warnings():    # torch's advice on weights_only: ours says more
                warnings.simplefilter('ignore')
                return torch.load(f, map_location='cpu', weights_only=not trusted)
        except Exception as e:    # truncated, not a checkpoint, or needs arbitrary unpickling
            read_error = lookup(CHECKS, 'read_error', 'checkpoint')
            raise CheckpointError(read_error(filename, head, e, trusted)) from None


def model_weights(checkpoint):
    """The state_dict of a minicls or mmcls checkpoint (or a bare state_dict), without a
    DDP 'module.' prefix, with its `_metadata` (module versions), as mmcv keeps it."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'it holds a {type(checkpoint).__name__}, not a dict of weights')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not all(torch.is_tensor(v) for v in state_dict.values()):
        raise CheckpointError('no model weights (state_dict) in this file')
    weights = OrderedDict((strip_module(k), v) for k, v in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        weights._metadata = OrderedDict((strip_module(k), v) for k, v in metadata.items())
    return weights


def strip_module(key):
    return key[len('module.'):] if key.startswith('module.') else key


def load_optimizer_state(optimizer, state, filename):
    """optimizer.load_state_dict (check_training_checkpoint compared the settings first)."""
    with does_not_fit(filename, f'its optimizer state does not fit {type(optimizer).__name__}'):
        optimizer.load_state_dict(state)


def restore_rng_state(state, filename):
    with does_not_fit(filename, 'its random states (rng) are malformed'):
        set_rng_state(state)


def set_rng_state(state):
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state['python']))
    kind, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available() \
            and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])


def load_hook_states(hooks, states, filename):
    """Each hook's own state (EMA weights, early-stopping counters), by class name."""
    for hook in hooks:
        state = states.get(type(hook).__name__)
        if state is not None and hasattr(hook, 'load_state_dict'):
            with does_not_fit(filename, f'hook_states[{type(hook).__name__!r}] does not fit '
                                        'this run'):
                hook.load_state_dict(state)


@contextlib.contextmanager
def does_not_fit(filename, what):
    """A state from the file that its loader refuses, as a CheckpointError naming the file."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        raise CheckpointError(f'{filename}: {what}: {type(e).__name__}: {e}') from None


def unwrap(model):
    """The bare model inside a DataParallel / DistributedDataParallel wrapper."""
    return model.module if hasattr(model, 'module') else model


def checkpoint_dirs(work_dir, out_dir=None):
    """Where a run writes checkpoints: the work dir, and out_dir/<work dir's name> when
    out_dir is set (mmcv's CheckpointHook rule)."""
    dirs = [work_dir]
    if out_dir and os.path.abspath(out_dir) != os.path.abspath(work_dir):
        name = os.path.basename(os.path.abspath(work_dir))
        dirs.append(os.path.join(out_dir, name))
    return dirs


def shape_mismatches(model, state_dict):
    """What of `state_dict` cannot go into `model`: another shape, or an int tensor for a
    float one (load_state_dict would round nothing and train on, from integer weights)."""
    own = unwrap(model).state_dict()
    return [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
            if v.shape != own[k].shape else
            f'{k}: checkpoint {v.dtype} vs model {own[k].dtype} (not floating point)'
            for k, v in state_dict.items() if k in own and not fits(v, own[k])]


def fits(tensor, own):
    return tensor.shape == own.shape and (tensor.is_floating_point() or not own.is_floating_point())


def check_resume_point(cfg, epoch, batches_done, epoch_length):
    """Epochs left to train, and a mid-epoch point inside this run's epochs. batches_done ==
    the epoch's length is a point too (a stop in its last iteration): the epoch's iterations
    are done, its end (checkpoint, evaluation) is not, and the resume runs it."""
    if epoch >= cfg.total_epochs:
        raise ConfigError(f'{cfg.resume_from} is at epoch {epoch} and total_epochs='
                          f'{cfg.total_epochs}: nothing is left to train; raise total_epochs '
                          'to train on')
    if batches_done > epoch_length:
        raise CheckpointError(f'{cfg.resume_from}: meta batches_done={batches_done}, but an '
                              f'epoch of this run has {epoch_length} batches (was the data or '
                              'data.samples_per_gpu changed?)')


# ---- Weights only  (mmcv: load_checkpoint; runner.load_checkpoint, load_from) ------------

def load_checkpoint(model, filename, map_location=None, strict=False, logger=None, trusted=False):
    """Load weights into a model; return the checkpoint (mmcv: load_checkpoint). Takes
    minicls and mmcls checkpoints, with or without a `state_dict` wrapper or a `module.`
    prefix; what does not fit is load_weights's to name."""
    checkpoint = read_checkpoint(filename, trusted)
    try:
        weights = model_weights(checkpoint)
    except CheckpointError as e:
        raise CheckpointError(f'{filename}: {e}') from None
    if map_location is not None:
        metadata = getattr(weights, '_metadata', None)
        weights = OrderedDict((k, v.to(map_location)) for k, v in weights.items())
        weights._metadata = metadata
    if logger is not None:
        logger.info(f'load checkpoint from {filename}')
    load_weights(unwrap(model), weights, filename, strict, logger)
    return checkpoint


def load_weights(module, weights, filename, strict=False, logger=None):
    """module.load_state_dict(weights) as mmcv's load_state_dict: with strict=False what
    does not fit (another shape, as a head with another number of classes; missing or
    unexpected keys) is skipped and named in one warning line, the first few keys of each
    kind; with strict=True it is an error. Better than mmcv: a file none of whose real
    weights fit is an error (mmcv would train on from the random init); BatchNorm's
    num_batches_tracked counters, scalars that fit any model, do not count."""
    own = module.state_dict()
    mismatched = shape_mismatches(module, weights)
    fit = OrderedDict((k, v) for k, v in weights.items() if k not in own or fits(v, own[k]))
    fit._metadata = getattr(weights, '_metadata', None)
    if not any(k in own for k in fit if not k.endswith('num_batches_tracked')):
        raise CheckpointError(f'{filename}: ' + (
            f'none of its {len(weights)} weights fits this model: {shown(mismatched)}'
            if mismatched else f'none of its keys is a key of the model (its keys: '
            f'{shown(list(weights), repr)}; the model\'s: {shown(list(own), repr)})'))
    if strict and mismatched:
        raise CheckpointError(f'{filename}: shape mismatch for {shown(mismatched, sep="; ")}')
    result = module.load_state_dict(fit, strict=strict)
    missing = [k for k in result.missing_keys if k not in weights   # not the mismatched
               and not k.endswith('num_batches_tracked')]               # mmcv: nor these
    skipped = [f'{kind} {shown(keys)}' for kind, keys in (
        ('size mismatch for', mismatched), ('unexpected keys in source state_dict:',
        result.unexpected_keys), ('missing keys in source state_dict:', missing)) if keys]
    if logger is not None and skipped:
        logger.warning('The model and loaded state dict do not match exactly (not loaded): '
                       + '; '.join(skipped))


def shown(items, form=str, sep=', ', limit=5):
    """The first `limit` items for a message, escaped (keys come from a file), and how many
    more: a list of 300 keys is a line no one reads."""
    text = sep.join(form(x) if form is repr or str(x).isprintable() else repr(x)
                    for x in items[:limit])
    return text + (f'{sep}... ({len(items)} in all)' if len(items) > limit else '')


# ---- Writing a checkpoint  (runner.save_checkpoint: step 8) ------------------------------

class CheckpointWriter:
    """Writes one checkpoint at a time in a thread, so training goes on meanwhile; the
    state was copied to the CPU before, so later training cannot change what is written.
    `wait` joins the write in flight and raises its error in the training thread."""

    def __init__(self):
        self.thread = self.error = None

    def write(self, path, checkpoint, pointer=None, blocking=True):
        self.wait()                    # one write at a time, in order
        self.thread = threading.Thread(target=self._write, args=(path, checkpoint, pointer))
        self.thread.start()
        if blocking:
            self.wait()

    def _write(self, path, checkpoint, pointer):
        try:
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            atomic_write(path, buffer.getvalue())
            if pointer is not None:    # only once the checkpoint itself is whole
                atomic_write(pointer, os.path.basename(path).encode())
        except Exception as e:
            self.error = CheckpointError(f'checkpoint {path} could not be written: {e}; '
                                         'the earlier checkpoints are kept')

    def wait(self):
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        error, self.error = self.error, None
        if error is not None:
            raise error


def atomic_write(path, data):
    """Write bytes so that `path` is always either the old file or the whole new one. The
    temp file is new (O_EXCL, in the same folder), so a link planted there is never
    followed; the rename replaces a link at `path` itself, not its target."""
    folder, tmp = os.path.dirname(os.path.abspath(path)), None
    try:
        fd, tmp = create_temp_file(folder, os.path.basename(path))
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):   # a full disk: nothing half-written
            os.remove(tmp)
        if isinstance(e, OSError):     # name the file: "[Errno 28]" alone does not
            raise OSError(e.errno, f'{path} cannot be written: {e.strerror}') from None
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)               # make the rename itself durable
    finally:
        os.close(dir_fd)


def create_temp_file(folder, name):
    """(fd, path) of a new `.<name>.<random>.minicls.tmp` (O_EXCL: never a file or link
    planted there). Its mode is 0o666 less the umask, as for every file this project writes
    (mkstemp's 0o600 would ignore a shared work dir's umask 002)."""
    while True:
        tmp = os.path.join(folder, f'.{name}.{os.urandom(4).hex()}{TEMP_SUFFIX}')
        with contextlib.suppress(FileExistsError):
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666), tmp


def weights_to_cpu(state_dict):
    """A copy on the CPU (copy=True: training may change the weights while it is
    written), with the `_metadata` (module versions) that load_state_dict reads, as mmcv
    keeps it."""
    copied = OrderedDict((k, v.detach().to('cpu', copy=True)) for k, v in state_dict.items())
    copied._metadata = getattr(state_dict, '_metadata', None)
    return copied


def copy_to_cpu(obj):
    """Tensors copied to the CPU, inside dicts, lists and tuples (an optimizer's state)."""
    if torch.is_tensor(obj):
        return obj.detach().to('cpu', copy=True)
    if isinstance(obj, dict):
        return type(obj)((k, copy_to_cpu(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(copy_to_cpu(v) for v in obj)
    return obj


def get_rng_state():
    """The python, numpy, torch and CUDA random states: what a resumed run needs to be
    the run that would have happened (numpy's keys as a tensor: weights_only reads no
    arrays)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {'python': random.getstate(),
             'numpy': (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
             'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


# ---- How the logs are opened  (hooks.py: TextLoggerHook; extras/run/logger.py) -------------------

def open_no_follow(path):
    """`path` opened for appending text; a link planted at its name is not followed
    (O_NOFOLLOW). The logs are written through it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
    return os.fdopen(os.open(path, flags, 0o666), 'a', encoding='utf-8', errors='backslashreplace')
