"""The runner: the epoch loop, hook registration and dispatch, checkpoints, the log buffer
(mmcv 1.x: runner/base_runner.py, epoch_based_runner.py, checkpoint.py, log_buffer.py,
optimizer/builder.py).

    runner = EpochBasedRunner(model, optimizer, work_dir, logger, meta, max_epochs)
    runner.register_training_hooks(lr_config, optimizer_config, checkpoint_config, log_config)
    runner.run([train_loader], [('train', 1)])

`run` calls `train(loader)` (or `val(loader)`) once per workflow epoch. `train` is the
whole training step, spread over hooks:

    call_hook('before_train_epoch')
    for each batch:
        call_hook('before_train_iter')                  LR updater, timer
        outputs = model.train_step(batch, optimizer)    forward + loss, nothing else
        call_hook('after_train_iter')                   loss check, OptimizerHook: backward +
                                                        step; checkpoint, timer, logger
    call_hook('after_train_epoch')                      CheckpointHook, EvalHook, logger

Counters: `epoch` (epochs done), `iter` (train iterations done), `inner_iter` (index in
the current epoch). Checkpoints hold them, so `resume` continues the count.
"""
import contextlib
import io
import os
import platform
import random
import socket
import tempfile
import threading
import time
import warnings
from collections import OrderedDict

import numpy as np
import torch

from config import __version__
from hooks import (CheckpointHook, Hook, IterTimerHook, Priority, TextLoggerHook, LR_POLICIES, MOMENTUM_POLICIES,
                   build_custom_hook, build_optimizer_hook, build_updater_hook, get_priority)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message says which and why."""


class EpochBasedRunner:
    def __init__(self, model, optimizer=None, work_dir=None, logger=None, meta=None, max_epochs=None):
        self.model, self.optimizer, self.logger = model, optimizer, logger
        self.work_dir = None if work_dir is None else os.path.abspath(work_dir)
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self.meta = meta if meta is not None else {}
        self.device = next(model.parameters()).device
        self.timestamp = None                  # set by train_model: names the .log and .log.json
        self.mode = None
        self._hooks = []
        self._stage_hooks = {stage: [] for stage in Hook.stages}   # stage -> the hooks that act there
        self._epoch = self._iter = self._inner_iter = 0
        self._max_epochs, self._max_iters = max_epochs, None
        self.log_buffer = LogBuffer()
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if dist else 0            # only rank 0 writes files
        self.world_size = torch.distributed.get_world_size() if dist else 1
        self.data_loader = self.data_batch = self.outputs = None
        self.autocast_dtype = None             # torch.float16 / bfloat16 under mixed precision (extras)
        self.memory_format = torch.preserve_format   # torch.channels_last with that fast path
        self.resume_batches = 0                # batches of the current epoch done before a resume
        self._writer = self._write_error = None   # the checkpoint write in flight, and its error
        self.should_stop = False               # set by a hook (EarlyStoppingHook) to end the run

    epoch = property(lambda self: self._epoch)
    iter = property(lambda self: self._iter)
    inner_iter = property(lambda self: self._inner_iter)
    max_epochs = property(lambda self: self._max_epochs)
    max_iters = property(lambda self: self._max_iters)
    hooks = property(lambda self: self._hooks)

    def current_lr(self):
        return [group['lr'] for group in self.optimizer.param_groups]

    def current_momentum(self):
        return [group['momentum'] if 'momentum' in group else group['betas'][0]
                for group in self.optimizer.param_groups if 'momentum' in group or 'betas' in group]

    # --- hooks ----------------------------------------------------------------------

    def register_hook(self, hook, priority='NORMAL'):
        """Insert after every hook whose priority is <= this one (mmcv's rule), so equal
        priorities keep registration order."""
        if not isinstance(hook, Hook):
            raise TypeError(f'a hook must be a Hook instance, got {type(hook).__name__}')
        if hasattr(hook, 'priority'):
            raise ValueError(f'{type(hook).__name__} is already registered (a hook may be registered once)')
        hook.priority = get_priority(priority)
        position = next((i + 1 for i in reversed(range(len(self._hooks)))
                         if hook.priority >= self._hooks[i].priority), 0)
        self._hooks.insert(position, hook)
        # Base-class stages are no-ops: calling only the hooks that override a stage is
        # mmcv's "call every hook", minus the empty calls.
        self._stage_hooks = {stage: [h for h in self._hooks if stage in h.get_triggered_stages()]
                             for stage in Hook.stages}

    def stage_hooks(self, stage):
        """The hooks that act at `stage`, in the order call_hook calls them."""
        return list(self._stage_hooks[stage])

    def call_hook(self, fn_name):
        for hook in self._stage_hooks[fn_name]:
            getattr(hook, fn_name)(self)

    def get_hook_info(self):
        """Which hooks run at each stage, in order: printed at the start of every run."""
        lines = []
        for stage, hooks in self._stage_hooks.items():
            if hooks:
                lines.append(f'{stage}:')
                for h in hooks:
                    name = Priority(h.priority).name if h.priority in Priority._value2member_map_ else h.priority
                    lines.append(f'({name:<12}) {type(h).__name__:<35}')
                lines.append(' -------------------- ')
        return '\n'.join(lines)

    def register_lr_hook(self, lr_config):
        if lr_config is not None:
            self.register_hook(build_updater_hook(lr_config, LR_POLICIES, 'lr_config'), 'VERY_HIGH')

    def register_momentum_hook(self, momentum_config):
        if momentum_config is not None:
            self.register_hook(build_updater_hook(momentum_config, MOMENTUM_POLICIES, 'momentum_config'), 'HIGH')

    def register_optimizer_hook(self, optimizer_config, fp16_config=None):
        if optimizer_config is not None:
            self.register_hook(build_optimizer_hook(optimizer_config, fp16_config), 'ABOVE_NORMAL')

    def register_checkpoint_hook(self, checkpoint_config):
        if checkpoint_config is not None:
            self.register_hook(CheckpointHook(**vars(checkpoint_config)), 'NORMAL')

    def register_logger_hooks(self, log_config):
        for hook_cfg in (log_config.hooks if log_config is not None else []):
            args = dict(hook_cfg)
            if args.pop('type', None) != 'TextLoggerHook':
                raise ValueError(f"log_config.hooks: type={hook_cfg.get('type')!r} is not known; "
                                 "valid: 'TextLoggerHook'")
            self.register_hook(TextLoggerHook(interval=log_config.interval, **args), 'VERY_LOW')

    def register_custom_hooks(self, custom_hooks_config):
        """[dict(type='EMAHook', priority='ABOVE_NORMAL', momentum=...), ...]"""
        for item in custom_hooks_config or []:
            self.register_hook(*build_custom_hook(item))

    def register_training_hooks(self, lr_config, optimizer_config=None, checkpoint_config=None,
                                log_config=None, momentum_config=None, fp16_config=None,
                                custom_hooks_config=None):
        """The standard hooks, in mmcv's order (priority in brackets): LrUpdater (VERY_HIGH),
        MomentumUpdater (HIGH), Optimizer (ABOVE_NORMAL), Checkpoint (NORMAL), IterTimer
        (LOW), loggers (VERY_LOW), then the custom hooks (NORMAL unless they say)."""
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config, fp16_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_hook(IterTimerHook(), 'LOW')
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)

    # --- the loop -------------------------------------------------------------------

    def batch_to_device(self, batch):
        """Tensors to the model's device (non_blocking: with pin_memory the copy overlaps the
        GPU's work); 4-d images in the model's memory format (channels_last, if on)."""
        if self.device.type == 'cpu' and self.memory_format is torch.preserve_format:
            return batch                        # already where the model is
        return {k: (v.to(self.device, non_blocking=True, memory_format=self.memory_format) if v.dim() == 4
                    else v.to(self.device, non_blocking=True)) if torch.is_tensor(v) else v
                for k, v in batch.items()}

    def autocast(self):
        """The forward's mixed precision (Fp16OptimizerHook sets autocast_dtype), else nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def run_iter(self, data_batch, train_mode):
        data_batch = self.batch_to_device(data_batch)
        step = self.model.train_step if train_mode else self.model.val_step
        if self.autocast_dtype is None:        # full precision: no context to enter, every iteration
            outputs = step(data_batch, self.optimizer)
        else:
            with self.autocast():
                outputs = step(data_batch, self.optimizer)
        if 'log_vars' in outputs:
            self.log_buffer.update(outputs['log_vars'], outputs['num_samples'])
        self.outputs = outputs

    def train(self, data_loader):
        self.model.train()
        self.mode = 'train'
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(self.data_loader)
        self.call_hook('before_train_epoch')
        # after a mid-epoch resume the sampler skips the batches done; count on from there
        start, self.resume_batches = self.resume_batches, 0
        for i, data_batch in enumerate(self.data_loader, start):
            self.data_batch = data_batch
            self._inner_iter = i
            self.call_hook('before_train_iter')
            self.run_iter(data_batch, train_mode=True)
            self.call_hook('after_train_iter')
            del self.data_batch
            self._iter += 1
        self.call_hook('after_train_epoch')
        self._epoch += 1

    @torch.no_grad()
    def val(self, data_loader):
        self.model.eval()
        self.mode = 'val'
        self.data_loader = data_loader
        self.call_hook('before_val_epoch')
        for i, data_batch in enumerate(self.data_loader):
            self.data_batch = data_batch
            self._inner_iter = i
            self.call_hook('before_val_iter')
            self.run_iter(data_batch, train_mode=False)
            self.call_hook('after_val_iter')
            del self.data_batch
        self.call_hook('after_val_epoch')

    def run(self, data_loaders, workflow, max_epochs=None):
        """Run the workflow, e.g. [('train', 1)] or [('train', 2), ('val', 1)], until
        `max_epochs` training epochs are done; one data loader per workflow entry."""
        if len(data_loaders) != len(workflow):
            raise ValueError(f'{len(data_loaders)} data loaders for a workflow of {len(workflow)} entries')
        if max_epochs is not None:
            self._max_epochs = max_epochs
        for (mode, _), loader in zip(workflow, data_loaders):
            if mode == 'train':
                self._max_iters = self._max_epochs * len(loader)
        host = f'{os.environ.get("USER", "user")}@{socket.gethostname()} ({platform.system()})'
        self.logger.info(f'Start running, host: {host}, work_dir: {self.work_dir}')
        self.logger.info(f'Hooks will be executed in the following order:\n{self.get_hook_info()}')
        self.logger.info(f'workflow: {workflow}, max: {self._max_epochs} epochs')
        self.call_hook('before_run')
        while self.epoch < self._max_epochs and not self.should_stop:
            for (mode, epochs), loader in zip(workflow, data_loaders):
                if not isinstance(mode, str):      # mmcv's two messages
                    raise TypeError(f'mode in workflow must be a str, but got {type(mode).__name__}')
                if mode not in ('train', 'val'):
                    raise ValueError(f'runner has no method named "{mode}" to run an epoch; valid: train, val')
                for _ in range(epochs):
                    if mode == 'train' and (self.epoch >= self._max_epochs or self.should_stop):
                        break
                    getattr(self, mode)(loader)
        self.call_hook('after_run')
        self.wait_for_checkpoint()

    # --- checkpoints  (mmcv: runner/checkpoint.py) ----------------------------------
    # {'meta': {epoch, iter, config (JSON text), seed, CLASSES, hook_msgs, ...},
    #  'state_dict': weights and buffers on the CPU, no DDP 'module.' prefix,
    #  'optimizer': optimizer.state_dict(), 'rng': the random states,
    #  'hook_states': hooks' own state (EMA weights, early-stopping counters)}

    def save_checkpoint(self, out_dir, filename_tmpl='epoch_{}.pth', save_optimizer=True, meta=None,
                        update_latest=True, mid_epoch=False, blocking=True):
        """Write `out_dir/<filename>` atomically; return its path (None without a work dir).

        At the end of an epoch (before `epoch += 1`) epoch_N.pth records `epoch=N`: resume
        starts epoch N+1. With `mid_epoch` it records the epoch in progress and
        `batches_done`, and resume continues inside that epoch. Instead of mmcv's
        `latest.pth` symlink, a text file `last_checkpoint` names the newest (as mmengine).
        The state is copied to the CPU here and a thread writes it; with `blocking=False` (the
        CheckpointHook's) training goes on meanwhile, and `wait_for_checkpoint` joins it."""
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta must be a dict or None, but got {type(meta).__name__}')
        if out_dir is None:
            return None
        path = os.path.join(out_dir, filename_tmpl.format(self.epoch + 1))
        if self.rank != 0:                     # one writer; every process can resume from it
            return path
        meta = dict(self.meta, **(meta or {}), minicls_version=__version__, time=time.asctime())
        if mid_epoch:
            meta.update(epoch=self.epoch, iter=self.iter + 1, batches_done=self.inner_iter + 1)
        else:
            meta.update(epoch=self.epoch + 1, iter=self.iter)
        checkpoint = {'meta': meta, 'state_dict': weights_to_cpu(unwrap(self.model).state_dict()),
                      'rng': get_rng_state()}
        if save_optimizer:
            checkpoint['optimizer'] = copy_to_cpu(self.optimizer.state_dict())
        hook_states = {type(h).__name__: copy_to_cpu(h.state_dict()) for h in self._hooks if hasattr(h, 'state_dict')}
        if hook_states:
            checkpoint['hook_states'] = hook_states
        pointer = os.path.join(out_dir, 'last_checkpoint') if update_latest else None
        self.wait_for_checkpoint()             # one write at a time, in order
        self._writer = threading.Thread(target=self._write_checkpoint, args=(path, checkpoint, pointer))
        self._writer.start()
        if blocking:
            self.wait_for_checkpoint()
        return path

    def _write_checkpoint(self, path, checkpoint, pointer):
        try:
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            atomic_write(path, buffer.getvalue())
            if pointer is not None:            # only once the checkpoint itself is whole
                atomic_write(pointer, os.path.basename(path).encode())
        except Exception as e:                 # raised in the training thread by wait_for_checkpoint
            self._write_error = CheckpointError(f'checkpoint {path} could not be written: {e}; the earlier '
                                                'checkpoints are kept')

    def wait_for_checkpoint(self):
        """Join the checkpoint write in flight, if any; raise its error."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        error, self._write_error = self._write_error, None
        if error is not None:
            raise error

    def load_checkpoint(self, filename, strict=False, trusted=False):
        """Weights only (mmcv: load_from); see load_checkpoint below."""
        return load_checkpoint(self.model, filename, strict=strict, trusted=trusted, logger=self.logger)

    def resume(self, filename, resume_optimizer=True, trusted=False):
        """Restore weights, optimizer, epoch, iter, hook messages and state, and the random
        states (mmcv's resume restores no random state)."""
        checkpoint = read_checkpoint(filename, trusted)
        if not isinstance(checkpoint, dict) or 'meta' not in checkpoint or 'state_dict' not in checkpoint:
            raise CheckpointError(f'{filename} is not a training checkpoint (no meta and state_dict); '
                                  'use --load-from to load weights only')
        meta = checkpoint['meta']
        if not (isinstance(meta, dict) and all(isinstance(meta.get(k), int) for k in ('epoch', 'iter'))
                and isinstance(checkpoint.get('hook_states', {}), dict)):
            raise CheckpointError(f'{filename}: its meta must be a dict with int epoch and iter, and its '
                                  'hook_states a dict; this one is damaged or not a minicls checkpoint')
        state_dict = model_weights(checkpoint)
        own = unwrap(self.model).state_dict()
        differences = ([f'{k} is missing from the checkpoint' for k in own if k not in state_dict]
                       + [f'{k} is not in the model' for k in state_dict if k not in own]
                       + shape_mismatches(self.model, state_dict))
        if differences:
            raise CheckpointError(f'{filename} does not match the model of this config: {differences[0]}')
        unwrap(self.model).load_state_dict(state_dict)
        self._epoch, self._iter = meta['epoch'], meta['iter']
        self.resume_batches = meta.get('batches_done', 0)
        self.meta.setdefault('hook_msgs', {}).update(meta.get('hook_msgs', {}))
        if 'fp16' in meta:                     # the loss scale (extras/mixed_precision.py)
            self.meta['fp16'] = meta['fp16']
        if resume_optimizer and 'optimizer' in checkpoint:
            load_optimizer_state(self.optimizer, checkpoint['optimizer'], filename)
        elif resume_optimizer:
            self.logger.warning(f'{filename} holds no optimizer state: the optimizer starts fresh')
        try:
            if 'rng' in checkpoint:
                set_rng_state(checkpoint['rng'])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f'{filename}: its random states (rng) are malformed: {e}') from None
        for hook in self._hooks:
            state = checkpoint.get('hook_states', {}).get(type(hook).__name__)
            if state is not None and hasattr(hook, 'load_state_dict'):
                hook.load_state_dict(state)
        self.logger.info(f'resumed epoch {self.epoch}, iter {self.iter}')


# ---------------------------------------------------------------------------------------
# Checkpoint files. Two things differ from mmcv on purpose: every file is written
# atomically (temp file, fsync, rename: a kill -9 at any instant leaves the old file whole),
# and files are read with torch.load(weights_only=True): tensors and plain values only.
# mmcv unpickles anything, and unpickling can run code.
# ---------------------------------------------------------------------------------------


def atomic_write(path, data):
    """Write bytes so that `path` is always either the old file or the whole new one. The
    temp file is new (O_EXCL, in the same folder), so a link planted there is never followed;
    the rename replaces a link at `path` itself, not its target."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{os.path.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):                # a full disk: leave nothing half-written behind
            os.remove(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)            # make the rename itself durable
    finally:
        os.close(dir_fd)


def unwrap(model):
    """The bare model inside a DataParallel / DistributedDataParallel wrapper."""
    return model.module if hasattr(model, 'module') else model


def weights_to_cpu(state_dict):
    """A copy on the CPU (copy=True: training may change the weights while it is written),
    with the `_metadata` (module versions) that load_state_dict reads, as mmcv keeps it."""
    copied = OrderedDict((k, v.detach().to('cpu', copy=True)) for k, v in state_dict.items())
    copied._metadata = getattr(state_dict, '_metadata', None)
    return copied


def copy_to_cpu(obj):
    """Tensors copied to the CPU, inside dicts, lists and tuples (an optimizer's state_dict)."""
    if torch.is_tensor(obj):
        return obj.detach().to('cpu', copy=True)
    if isinstance(obj, dict):
        return type(obj)((k, copy_to_cpu(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(copy_to_cpu(v) for v in obj)
    return obj


def read_checkpoint(filename, trusted=False):
    """Load a checkpoint onto the CPU. `trusted=True` allows arbitrary unpickling (it can run
    code: only for files from a source you trust)."""
    if os.path.isdir(filename):
        raise CheckpointError(f'checkpoint {filename} is a directory, not a file')
    if not os.path.isfile(filename):
        raise CheckpointError(f'checkpoint {filename} does not exist')
    with open(filename, 'rb') as f:
        head = f.read(4)
    try:
        with warnings.catch_warnings():        # torch's advice on weights_only: our message says more
            warnings.simplefilter('ignore')
            return torch.load(filename, map_location='cpu', weights_only=not trusted)
    except Exception as e:        # truncated, not a checkpoint, or needs arbitrary unpickling
        text = str(e)
        if 'GLOBAL' in text or 'Unsupported global' in text or (head[:1] == b'\x80' and not trusted):
            raise CheckpointError(
                f'{filename} holds pickled Python objects, not only tensors and plain values; '
                'loading it could run code, so it is refused. If you trust its source, pass '
                '--trust-checkpoint to load it anyway.') from None
        if head not in (b'PK\x03\x04',) and head[:1] != b'\x80':
            raise CheckpointError(f'{filename} is not a checkpoint (not a file that torch.save wrote)') from None
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


def load_checkpoint(model, filename, map_location=None, strict=False, logger=None, trusted=False):
    """Load weights into a model; return the checkpoint (mmcv: load_checkpoint). Takes minicls
    and mmcls checkpoints, with or without a `state_dict` wrapper or a `module.` prefix;
    shape mismatches are errors, missing / unexpected keys warnings (errors with strict)."""
    checkpoint = read_checkpoint(filename, trusted)
    try:
        state_dict = model_weights(checkpoint)
    except CheckpointError as e:
        raise CheckpointError(f'{filename}: {e}') from None
    mismatched = shape_mismatches(model, state_dict)
    if mismatched:
        raise CheckpointError(f'{filename}: shape mismatch for ' + '; '.join(mismatched))
    if map_location is not None:
        state_dict = OrderedDict((k, v.to(map_location)) for k, v in state_dict.items())
    result = unwrap(model).load_state_dict(state_dict, strict=strict)
    if logger is not None:
        logger.info(f'load checkpoint from {filename}')
        for kind, keys in (('missing', result.missing_keys), ('unexpected', result.unexpected_keys)):
            if keys:
                logger.warning(f'{kind} keys in source state_dict: {", ".join(keys)}')
    return checkpoint


def load_optimizer_state(optimizer, state, filename):
    """optimizer.load_state_dict, with a message that names both optimizers when they differ."""
    try:
        optimizer.load_state_dict(state)
    except (KeyError, ValueError, TypeError, IndexError) as e:
        saved = sorted(set(state['param_groups'][0]) - {'params', 'initial_lr'}) if isinstance(state, dict) \
            and state.get('param_groups') else []
        raise CheckpointError(f'{filename}: its optimizer state does not fit {type(optimizer).__name__} '
                              f'(its param groups have {", ".join(saved) or "no settings"}: was it saved with '
                              f'another optimizer? Use --load-from to load the weights only): {e}') from None


def get_rng_state():
    """The python, numpy, torch and CUDA random states: what a resumed run needs to be the
    run that would have happened (numpy's keys as a tensor: weights_only reads no arrays)."""
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


# ---------------------------------------------------------------------------------------
# The optimizer  (mmcv: runner/optimizer/builder.py)
# ---------------------------------------------------------------------------------------


def build_optimizer(model, optimizer_cfg):
    """Any torch.optim class by name, over one param group of all parameters; with
    `paramwise_cfg`, per-parameter lr / weight_decay multipliers (extras/paramwise.py)."""
    opt_cls = getattr(torch.optim, optimizer_cfg.type, None)
    if not (isinstance(opt_cls, type) and issubclass(opt_cls, torch.optim.Optimizer)):
        valid = sorted(n for n, c in vars(torch.optim).items()
                       if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and n != 'Optimizer')
        raise ValueError(f'optimizer.type={optimizer_cfg.type!r} is not a torch.optim optimizer; '
                         f'valid: {", ".join(valid)}')
    if optimizer_cfg.lr < 0:
        raise ValueError(f'optimizer.lr={optimizer_cfg.lr} must be >= 0')
    args = dict(lr=optimizer_cfg.lr, **optimizer_cfg.options)
    for name in ('momentum', 'weight_decay'):      # None: not given, the optimizer's own default
        if getattr(optimizer_cfg, name) is not None:
            args[name] = getattr(optimizer_cfg, name)
    params = unwrap(model).parameters()
    if optimizer_cfg.paramwise_cfg is not None:
        from extras.paramwise import paramwise_groups
        params = paramwise_groups(unwrap(model), optimizer_cfg.paramwise_cfg, args)
    try:
        return opt_cls(params, **args)
    except TypeError as e:
        raise ValueError(f'optimizer.type={optimizer_cfg.type!r} does not accept these arguments '
                         f'({", ".join(args)}): {e}') from None


# ---------------------------------------------------------------------------------------
# The log buffer  (mmcv: runner/log_buffer.py)
# ---------------------------------------------------------------------------------------


class LogBuffer:
    """Per-iteration values (loss, time, ...) and their averages, weighted by the number of
    samples of each update, so a short last batch counts for what it is."""

    def __init__(self):
        self.val_history, self.n_history = OrderedDict(), OrderedDict()
        self.output = OrderedDict()
        self.ready = False

    def clear(self):
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self):
        self.output.clear()
        self.ready = False

    def update(self, values, count=1):
        for key, value in values.items():
            if key not in self.val_history:
                self.val_history[key], self.n_history[key] = [], []
            self.val_history[key].append(value)
            self.n_history[key].append(count)

    def average(self, n=0):
        """Average the latest n values (all when n == 0) into `output`. Values are numbers or
        tensors, still on the GPU: those are copied to the CPU here, in one go, not every iteration."""
        for key, values in self.val_history.items():
            values, counts = values[-n:], self.n_history[key][-n:]
            if all(isinstance(v, torch.Tensor) and v.dim() == 0 for v in values):   # the losses: one stack
                values = torch.stack(values).tolist()
            elif any(isinstance(v, torch.Tensor) for v in values):   # a mix, or larger tensors: their means
                values = torch.stack([torch.as_tensor(v).detach().float().mean() for v in values]).tolist()
            self.output[key] = sum(float(v) * c for v, c in zip(values, counts)) / sum(counts)
        self.ready = True
