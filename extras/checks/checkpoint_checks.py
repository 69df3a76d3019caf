"""The checks of a checkpoint file, which is untrusted input (mmcv checks none: torch.load,
then load_state_dict's own errors). checkpoint.py reaches them through its CHECKS table on
every read, so a resume or a load_from never skips them:

    read_checkpoint          -> open_checkpoint             a regular file (a FIFO would hang),
                                                            no zip bomb; read_error: what went wrong
    read_training_checkpoint -> check_training_checkpoint   meta, counters, weights, optimizer
"""
import os
import zipfile

import torch

from checkpoint import CheckpointError, model_weights, shape_mismatches, unwrap
from extras.checks.regular_file import NotRegularFile, open_regular


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


def check_training_checkpoint(checkpoint, filename, model, optimizer=None):
    """A training checkpoint (meta and state_dict), its meta counters ints >= 0, its hook
    states, hook messages and optimizer state dicts, its weights those of `model` key for key
    and shape for shape, its classes the run's, and (given `optimizer`) an optimizer state
    with its settings, their types and its parameters' shapes."""
    if not isinstance(checkpoint, dict) or 'meta' not in checkpoint \
            or 'state_dict' not in checkpoint:
        raise CheckpointError(f'{filename} is not a training checkpoint (no meta and '
                              'state_dict); use --load-from to load weights only')
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
    differences = weight_differences(model, model_weights(checkpoint))
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
