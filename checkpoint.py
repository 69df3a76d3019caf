"""Checkpoint files (mmcv 1.x: runner/checkpoint.py): reading them, checked, for a resume or
for weights only, and writing them atomically in a thread.

    runner.resume          -> read_training_checkpoint     every check a resume needs, in one
                                                           call; then load_optimizer_state,
                                                           restore_rng_state, load_hook_states
    runner.load_checkpoint -> load_checkpoint              weights only (load_from):
                              load_weights                 what fits, the rest named
    runner.save_checkpoint -> CheckpointWriter.write       a thread; atomic_write

A checkpoint is a dict:

    {'meta': {epoch, iter, config, seed, CLASSES, hook_msgs, ...},
     'state_dict': weights and buffers on the CPU, no DDP 'module.' prefix,
     'optimizer': optimizer.state_dict(), 'rng': the random states,
     'hook_states': the hooks' own state (EMA weights, early-stopping counters)}

Where this file does better than mmcv, on purpose: a checkpoint file is untrusted input, and
it is checked before anything is loaded from it (a regular file, no zip bomb, its meta, its
weights, its classes and its optimizer state: mmcv checks none, and torch fails inside); it
is read with torch.load(weights_only=True), tensors and plain values only (mmcv unpickles
anything, and unpickling can run code); every file is written atomically (temp file, fsync,
rename: a kill -9 at any instant leaves the old file whole); the random states are saved, so
a resume is exact; `last_checkpoint`, a text file, names the newest checkpoint (mmcv: a
`latest.pth` symlink). The work dir itself (one run at a time, --resume auto, nothing
overwritten) is extras/run/work_dir.py's. The file reads top-down: each function comes after
the first function that calls it.
"""
import contextlib
import io
import os
import random
import threading
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import torch

from extras.checks.regular_file import NotRegularFile, open_regular
from model import unwrap


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message says which and why."""


TEMP_SUFFIX = '.minicls.tmp'     # only this project's temp files end so


# ---- Reading a checkpoint to resume from  (runner.resume: step 7) ------------------------

def read_training_checkpoint(filename, model, trusted=False, optimizer=None):
    """The checkpoint a resume continues from, its state_dict without a DDP 'module.' prefix,
    after every check a resume needs. Damage is a CheckpointError naming the file and the
    field."""
    checkpoint = read_checkpoint(filename, trusted)
    check_is_training_checkpoint(checkpoint, filename)
    checkpoint['state_dict'] = model_weights(checkpoint)
    check_training_checkpoint(checkpoint, filename, model, optimizer)
    return checkpoint


def read_checkpoint(filename, trusted=False):
    """Load a checkpoint onto the CPU. `trusted=True` allows arbitrary unpickling (it can
    run code: only for files from a source you trust)."""
    with open_checkpoint(filename) as f:    # a regular file, no zip bomb
        head = f.read(4)
        f.seek(0)
        try:
            with warnings.catch_warnings():    # torch's advice on weights_only: ours says more
                warnings.simplefilter('ignore')
                return torch.load(f, map_location='cpu', weights_only=not trusted)
        except Exception as e:    # truncated, not a checkpoint, or needs arbitrary unpickling
            raise CheckpointError(read_error(filename, head, e, trusted)) from None


def open_checkpoint(filename):
    """`filename` opened for reading if it is a regular file (open_regular: a FIFO planted at
    a checkpoint's name must not hang the run), then checked. An error is a CheckpointError
    whose `errno` is the OSError's, if any."""
    try:
        f = open_regular(filename)
    except OSError as e:
        raise unreadable(filename, e) from None
    try:
        check_checkpoint_file(f, filename)
    except BaseException:
        f.close()
        raise
    return f


def unreadable(filename, error):
    words = {FileNotFoundError: 'does not exist', IsADirectoryError: 'is a directory, not a file',
             NotRegularFile: f'is {error.strerror}; a checkpoint is a file torch.save wrote',
             }.get(type(error), f'cannot be read: {error.strerror}')
    if isinstance(error, PermissionError):
        words += ' (is it another user\'s? its permissions must let you read it)'
    checkpoint_error = CheckpointError(f'checkpoint {filename} {words}')
    checkpoint_error.errno = error.errno
    return checkpoint_error


def check_checkpoint_file(f, filename):
    """When it is a zip (torch.save's format), one whose directory declares no more bytes
    than the file holds: torch.save stores its members uncompressed, so more is a damaged
    file or a decompression bomb, which would allocate what it declares."""
    size = os.fstat(f.fileno()).st_size
    try:
        members = zipfile.ZipFile(f).infolist() if f.read(4) == b'PK\x03\x04' else []
    except (zipfile.BadZipFile, ValueError, OSError):
        members = []                   # not a readable zip: torch.load says what is wrong
    f.seek(0)
    declared = sum(m.file_size for m in members)
    if declared > size:
        big = max(members, key=lambda m: m.file_size)
        raise CheckpointError(f'{filename}: its zip directory declares {declared} bytes '
                              f'({big.filename[-60:]!r}: {big.file_size}) in a file of {size} '
                              'bytes: damaged, or a decompression bomb; refused before reading')


def read_error(filename, head, error, trusted):
    """What went wrong reading `filename` (`head`: its first 4 bytes), for the user."""
    text = str(error)
    if 'GLOBAL' in text or 'Unsupported global' in text or (head[:1] == b'\x80' and not trusted):
        return (f'{filename} holds pickled Python objects, not only tensors and plain values; '
                'loading it could run code, so it is refused. If you trust its source, pass '
                '--trust-checkpoint to load it anyway.')
    if head != b'PK\x03\x04' and head[:1] != b'\x80':
        return f'{filename} is not a checkpoint (not a file that torch.save wrote)'
    reason = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f'cannot read checkpoint {filename} (truncated or not a checkpoint): {reason}'


def check_is_training_checkpoint(checkpoint, filename):
    """A dict with meta and state_dict (a bare state_dict is for --load-from)."""
    if not isinstance(checkpoint, dict) or 'meta' not in checkpoint \
            or 'state_dict' not in checkpoint:
        raise CheckpointError(f'{filename} is not a training checkpoint (no meta and '
                              'state_dict); use --load-from to load weights only')


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


def check_training_checkpoint(checkpoint, filename, model, optimizer=None):
    """Its meta counters ints >= 0, its hook
    states, hook messages and optimizer state dicts, its weights those of `model` key for key
    and shape for shape, its classes the run's, and (given `optimizer`) an optimizer state
    with its settings, their types and its parameters' shapes."""
    meta = checkpoint['meta']
    if not isinstance(meta, dict):
        raise CheckpointError(f'{filename}: its meta is a {type(meta).__name__}, not a dict; '
                              'this one is damaged or not a minicls checkpoint')
    for key in ('epoch', 'iter', 'batches_done'):          # batches_done: only mid-epoch
        value = meta.get(key, 0 if key == 'batches_done' else None)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise CheckpointError(f'{filename}: meta {key}={value!r} is not valid; '
                                  'expected an int >= 0 (damaged, or not a minicls checkpoint)')
    for key, kind in (('hook_states', dict), ('hook_msgs', dict), ('optimizer', dict)):
        value = (meta if key == 'hook_msgs' else checkpoint).get(key, {})
        if not isinstance(value, kind):
            raise CheckpointError(f'{filename}: {key} is a {type(value).__name__}, '
                                  f'not a {kind.__name__}; this one is damaged')
    best = meta.get('hook_msgs', {}).get('best_score', 0.0)    # EvalHook compares with it
    if not (isinstance(best, (int, float)) and not isinstance(best, bool)):
        raise CheckpointError(f"{filename}: meta hook_msgs['best_score']={quote(best)} is not "
                              'valid; expected a number (damaged, or not a minicls checkpoint)')
    differences = weight_differences(model, checkpoint['state_dict'])
    if differences:
        raise CheckpointError(f'{filename} does not match the model of this config: '
                              f'{differences[0]}')
    check_classes(meta.get('CLASSES'), getattr(unwrap(model), 'CLASSES', None), filename)
    if optimizer is not None and 'optimizer' in checkpoint:
        check_optimizer_settings(optimizer, checkpoint['optimizer'], filename)
        check_optimizer_state(optimizer, checkpoint['optimizer'], filename)


def weight_differences(model, state_dict):
    own = unwrap(model).state_dict()
    return ([f'{k} is missing from the checkpoint' for k in own if k not in state_dict]
            + [f'{k} is not in the model' for k in state_dict if k not in own]
            + shape_mismatches(model, state_dict))


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


def check_classes(saved, own, filename):
    """The classes the checkpoint was trained on are this run's, in this order (mmcv saves
    meta['CLASSES'] and never compares them: class folders renamed or added since would
    train on under permuted labels). None on either side: nothing to compare."""
    if saved is None or own is None or (isinstance(saved, (list, tuple))
                                        and list(saved) == list(own)):
        return
    count = f' ({len(saved)})' if isinstance(saved, (list, tuple)) else ''
    raise CheckpointError(f'{filename} was trained on other classes than this run\'s data: saved '
                          f'{quote(saved)}{count}, now {quote(own)} ({len(own)}); a resume '
                          'would train on under other labels (class folders renamed or added?); '
                          'to start a new run from its weights, use --load-from')


def check_optimizer_settings(optimizer, state, filename):
    """The saved param groups have the settings of `optimizer`'s (an Adam state in SGD
    would fail later, at the first step)."""
    groups = state.get('param_groups')
    saved = settings(groups[0]) if isinstance(groups, list) and groups \
        and isinstance(groups[0], dict) else set()
    own = settings(optimizer.param_groups[0])
    if saved != own:
        raise CheckpointError(
            f'{filename}: its optimizer state does not fit {type(optimizer).__name__} (its '
            f'param groups have {", ".join(sorted(saved)) or "no settings"}: was it saved '
            f'with another optimizer? Use --load-from to load the weights only): expected '
            f'the settings {", ".join(sorted(own))}')


def settings(group):
    """A param group's setting names (lr, momentum, ...), less what the runner adds."""
    return set(group) - {'params', 'initial_lr', 'param_names'}


def check_optimizer_state(optimizer, state, filename):
    """What torch's load_state_dict takes and a step or the LR hook then fails on, inside
    torch: a param group's value of another type than `optimizer`'s (initial_lr, which the
    LR hook keeps, a number), a state tensor of another shape than its parameter (0-d: a
    step count). The number of groups and parameters torch checks itself."""
    groups, states = state.get('param_groups'), state.get('state', {})
    if not isinstance(groups, list) or not isinstance(states, dict):
        return                         # load_optimizer_state names what torch refuses
    for i, (group, own) in enumerate(zip(groups, optimizer.param_groups)):
        for key, value in group.items() if isinstance(group, dict) else ():
            expected = own.get(key, 0.0 if key == 'initial_lr' else None)
            if key not in ('params', 'param_names') and not same_kind(value, expected):
                raise CheckpointError(
                    f'{filename}: its optimizer param_groups[{i}][{key!r}]={quote(value)} is '
                    f'not valid; expected a {type(expected).__name__} (damaged?)')
        for index, param in zip(group.get('params', ()), own['params']):
            saved = states.get(index, {})
            for key, value in saved.items() if isinstance(saved, dict) else ():
                if torch.is_tensor(value) and value.ndim and value.shape != param.shape:
                    raise CheckpointError(
                        f'{filename}: its optimizer state[{index!r}][{key!r}] has the shape '
                        f'{tuple(value.shape)}, its parameter {tuple(param.shape)} (damaged?)')


def same_kind(value, expected):
    """A value of the kind `expected` is: a number (not a bool), a bool, a string, a tuple of
    as many numbers; None expects anything (foreach, fused: torch picks)."""
    if expected is None:
        return True
    if isinstance(expected, (bool, str)):
        return isinstance(value, type(expected))
    if isinstance(expected, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(expected, tuple):
        return isinstance(value, (tuple, list)) and len(value) == len(expected) \
            and all(same_kind(v, e) for v, e in zip(value, expected))
    return True


def quote(value, limit=100):
    """repr(value) for a message (a file's content: escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def load_optimizer_state(optimizer, state, filename):
    """optimizer.load_state_dict (check_training_checkpoint checked the state first)."""
    what = f'its optimizer state does not fit {type(optimizer).__name__}'
    with as_checkpoint_error(filename, what):
        optimizer.load_state_dict(state)


def restore_rng_state(state, filename):
    with as_checkpoint_error(filename, 'its random states (rng) are malformed'):
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
            with as_checkpoint_error(filename, f'hook_states[{type(hook).__name__!r}] does not fit '
                                        'this run'):
                hook.load_state_dict(state)


@contextlib.contextmanager
def as_checkpoint_error(filename, what):
    """A state from the file that its loader refuses, as a CheckpointError naming the file."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        raise CheckpointError(f'{filename}: {what}: {type(e).__name__}: {e}') from None


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
            f'{shown(list(weights), True)}; the model\'s: {shown(list(own), True)})'
            + ("; a torchvision ResNet's keys: convert the file with tools/convert_torchvision.py"
               if {'conv1.weight', 'fc.weight'} <= set(weights) else '')))
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


def shown(items, quoted=False, sep=', ', limit=5):
    """The first `limit` items for a message, and how many in all (a list of 300 keys is a
    line no one reads); an item that is not printable text (keys come from a file) quoted."""
    text = sep.join(repr(x) if quoted or not str(x).isprintable() else str(x)
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
