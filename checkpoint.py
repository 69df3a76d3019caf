"""Checkpoints: what one holds, how it is written and how it is read (mmcv: runner/checkpoint.py).

    {'meta':       {'epoch', 'iter', 'config' (JSON text), 'seed', 'CLASSES', 'hook_msgs', ...},
     'state_dict': model weights and buffers, on the CPU, without a DDP 'module.' prefix,
     'optimizer':  optimizer.state_dict(),
     'rng':        the python, numpy, torch CPU and CUDA random states,
     'hook_states': state of hooks that have one (EMA weights, early-stopping counters)}

Two things differ from mmcv on purpose:
- Every file is written atomically (temp file, flush, fsync, rename), so a crash or a
  kill -9 at any instant leaves the previous file whole and the new one either whole or
  absent.
- Files are read with `torch.load(weights_only=True)`: tensors and plain Python values
  only. mmcv's `torch.load` unpickles anything, and unpickling can run code.
"""
import io
import os
import random
from collections import OrderedDict

import numpy as np
import torch


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message says which and why."""


def atomic_write(path, data):
    """Write bytes so that `path` is always either the old file or the whole new one."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dir_fd)            # make the rename itself durable
    finally:
        os.close(dir_fd)


def unwrap(model):
    """The bare model inside a DataParallel / DistributedDataParallel wrapper."""
    return model.module if hasattr(model, 'module') else model


def save_checkpoint(path, model, optimizer=None, meta=None, hook_states=None):
    checkpoint = {'meta': meta or {},
                  'state_dict': OrderedDict((k, v.detach().cpu()) for k, v in unwrap(model).state_dict().items()),
                  'rng': get_rng_state()}
    if optimizer is not None:
        checkpoint['optimizer'] = optimizer.state_dict()
    if hook_states:
        checkpoint['hook_states'] = hook_states
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write(path, buffer.getvalue())


def read_checkpoint(filename, trusted=False):
    """Load a checkpoint onto the CPU. `trusted=True` allows arbitrary unpickling, for
    old files from a source you trust (it can run code)."""
    if not os.path.isfile(filename):
        raise CheckpointError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location='cpu', weights_only=not trusted)
    except Exception as e:        # truncated, not a checkpoint, or needs arbitrary unpickling
        text = str(e)
        if 'weights_only' in text or 'Unsupported global' in text:
            raise CheckpointError(
                f'{filename} holds pickled Python objects, not only tensors and plain values; '
                'loading it could run code, so it is refused. If you trust its source, pass '
                '--trust-checkpoint to load it anyway.') from None
        reason = text.strip().splitlines()[0] if text.strip() else type(e).__name__
        raise CheckpointError(f'cannot read checkpoint {filename} (truncated or not a checkpoint): '
                              f'{reason}') from None


def model_weights(checkpoint):
    """The state_dict of a minicls or mmcls checkpoint (or a bare state_dict), without a
    DDP 'module.' prefix."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not all(torch.is_tensor(v) for v in state_dict.values()):
        raise CheckpointError('no model weights (state_dict) in this file')
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state_dict.items())


def shape_mismatches(model, state_dict):
    own = unwrap(model).state_dict()
    return [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
            for k, v in state_dict.items() if k in own and v.shape != own[k].shape]


# --- random states: what makes a resumed run the run that would have happened ---------

def get_rng_state():
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {'python': random.getstate(),
             'numpy': (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
             'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state['python']))
    kind, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])
