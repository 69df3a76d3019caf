"""The runner: the epoch loop, hook registration and dispatch, and checkpoint save /
resume / load (the log buffer is in log_buffer.py, the file format in checkpoint.py).

mmcv 1.x counterparts: runner/base_runner.py, runner/epoch_based_runner.py.

    runner = EpochBasedRunner(model, optimizer, work_dir, logger, meta, max_epochs)
    runner.register_training_hooks(lr_config, optimizer_config, checkpoint_config, log_config)
    runner.run([train_loader], [('train', 1)])

`run` calls `train(loader)` (or `val(loader)`) once per workflow epoch. `train` is the
whole training step, spread over hooks:

    call_hook('before_train_epoch')
    for each batch:
        call_hook('before_train_iter')           LR/momentum updaters, timer
        outputs = model.train_step(batch, optimizer)   forward + loss, nothing else
        call_hook('after_train_iter')            OptimizerHook: backward + step; logger
    call_hook('after_train_epoch')               CheckpointHook, EvalHook, logger

Counters: `epoch` (epochs done), `iter` (train iterations done), `inner_iter` (index
in the current epoch). They are saved in checkpoints, so `resume` continues the count.
Two things mmcv does not do: the loss is checked for NaN/inf (every 50 iterations and
before any checkpoint, so that the loop never waits for the GPU), and SIGINT/SIGTERM
finish the iteration, save `iter_<N>.pth` and stop.
"""
import contextlib
import math
import os
import platform
import signal
import socket
import threading

import torch

from checkpoint import (CheckpointError, atomic_write, model_weights, read_checkpoint, save_checkpoint,
                        set_rng_state, shape_mismatches, unwrap)
from custom_hooks import build_custom_hook
from log_buffer import LogBuffer
from hooks import CheckpointHook, Hook, IterTimerHook, Priority, TextLoggerHook, get_priority
from lr_updater import LR_POLICIES, build_updater_hook
from momentum_updater import MOMENTUM_POLICIES
from optimizer_hooks import build_optimizer_hook


class TrainingStopped(Exception):
    """Training stopped on purpose (a signal) or for a reason the user must see (a
    non-finite loss); `exit_code` is what train.py exits with."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------


class EpochBasedRunner:
    def __init__(self, model, optimizer=None, work_dir=None, logger=None, meta=None, max_epochs=None):
        self.model, self.optimizer, self.logger = model, optimizer, logger
        self.work_dir = os.path.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.meta = meta if meta is not None else {}
        self.device = next(model.parameters()).device
        self.device_type = self.device.type    # 'cpu' / 'cuda' (device.type builds a new string each time)
        self.timestamp = None                  # set by train_model: names the .log and .log.json
        self.mode = None
        self._hooks = []
        self._stage_hooks = {stage: [] for stage in Hook.stages}   # stage -> the hooks that act there, in order
        self._stage_methods = {stage: [] for stage in Hook.stages}  # ... and their methods for that stage
        self._epoch = self._iter = self._inner_iter = 0
        self._max_epochs, self._max_iters = max_epochs, None
        self.log_buffer = LogBuffer()
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if dist else 0            # only rank 0 writes files
        self.world_size = torch.distributed.get_world_size() if dist else 1
        self.data_loader = None
        self.outputs = None
        self.autocast_dtype = None             # torch.float16 / bfloat16 under mixed precision
        self.memory_format = torch.preserve_format   # torch.channels_last with that fast path
        self._resume_batches = 0               # batches of the current epoch done before a resume
        self._stop_signal = None               # SIGINT/SIGTERM received: save and stop
        self.should_stop = False               # set by a hook (EarlyStoppingHook) to end the run
        self._unchecked_losses = []            # (epoch, iter, loss tensor) not yet checked for NaN/inf
        self.finite_check_interval = 50

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
        # Base-class stages are no-ops, so calling only the hooks that override a stage
        # is the same as mmcv's "call every hook", minus the empty calls.
        self._stage_hooks = {stage: [h for h in self._hooks if stage in h.get_triggered_stages()]
                             for stage in Hook.stages}
        # ... and the methods to call, looked up once here rather than at every call
        self._stage_methods = {stage: [h.stage_method(stage) for h in hooks]
                               for stage, hooks in self._stage_hooks.items()}

    def call_hook(self, stage):
        for method in self._stage_methods[stage]:
            method(self)

    def get_hook_info(self):
        """Which hooks run at each stage, in order: printed at the start of every run."""
        lines = []
        for stage in Hook.stages:
            hooks = self._stage_hooks.get(stage, [])
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
        if log_config is None:
            return
        for hook_cfg in log_config.hooks:
            args = dict(hook_cfg)
            kind = args.pop('type', None)
            if kind != 'TextLoggerHook':
                raise ValueError(f"log_config.hooks: type={kind!r} is not known; valid: 'TextLoggerHook'")
            self.register_hook(TextLoggerHook(interval=log_config.interval, **args), 'VERY_LOW')

    def register_custom_hooks(self, custom_hooks_config):
        """custom_hooks: [dict(type='EMAHook', priority='ABOVE_NORMAL', momentum=...), ...]"""
        for item in custom_hooks_config or []:
            self.register_hook(*build_custom_hook(item))

    def register_training_hooks(self, lr_config, optimizer_config=None, checkpoint_config=None,
                                log_config=None, momentum_config=None, fp16_config=None,
                                custom_hooks_config=None):
        """The standard hooks, in mmcv's order (priority in brackets):
        LrUpdater (VERY_HIGH), MomentumUpdater (HIGH), Optimizer (ABOVE_NORMAL),
        Checkpoint (NORMAL), IterTimer (LOW), loggers (VERY_LOW), then custom hooks."""
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config, fp16_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_hook(IterTimerHook(), 'LOW')
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)

    # --- the loop -------------------------------------------------------------------

    def batch_to_device(self, batch):
        # non_blocking: with pin_memory the copy overlaps the GPU's work; 4-d images follow
        # the model's memory format (channels_last when that fast path is on)
        if self.device_type == 'cpu' and self.memory_format is torch.preserve_format:
            return batch                        # already where the model is
        return {k: (v.to(self.device, non_blocking=True, memory_format=self.memory_format) if v.dim() == 4
                    else v.to(self.device, non_blocking=True)) if torch.is_tensor(v) else v
                for k, v in batch.items()}

    def autocast(self):
        """Mixed precision (autocast_dtype is set by Fp16OptimizerHook) for the forward passes of
        training and evaluation, as mmcv's auto_fp16; otherwise nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.autocast_dtype)

    def run_iter(self, data_batch, train_mode):
        data_batch = self.batch_to_device(data_batch)
        step = self.model.train_step if train_mode else self.model.val_step
        with self.autocast():
            outputs = step(data_batch, self.optimizer)
        if 'log_vars' in outputs:
            self.log_buffer.update(outputs['log_vars'], outputs['num_samples'])
        self.outputs = outputs

    def train(self, data_loader):
        self.model.train()
        self.mode = 'train'
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(data_loader)
        self.call_hook('before_train_epoch')
        # Resumed from inside this epoch: the sampler skips the batches already trained on.
        start, self._resume_batches = self._resume_batches, 0
        if start:
            data_loader.sampler.skip_batches = start
        for i, data_batch in enumerate(data_loader, start):
            self.data_batch = data_batch
            self._inner_iter = i
            self.call_hook('before_train_iter')
            self.run_iter(data_batch, train_mode=True)
            # for the NaN/inf check: the loss, detached (the logged copy is, when there is one)
            log_vars = self.outputs.get('log_vars', {})
            loss = log_vars['loss'] if 'loss' in log_vars else self.outputs['loss'].detach()
            self._unchecked_losses.append((self._epoch, self._iter, loss))
            if len(self._unchecked_losses) >= self.finite_check_interval:
                self.check_finite()
            self.call_hook('after_train_iter')
            del self.data_batch
            if (self._stop_signal is not None or self.world_size > 1) and self._should_stop_now():
                self._stop_inside_epoch()
            self._iter += 1
        self.check_finite()
        self.call_hook('after_train_epoch')
        self._epoch += 1

    def _should_stop_now(self):
        """A signal was received. With several processes, one cannot stop alone (the others
        would wait for it forever): every `finite_check_interval` iterations they all ask
        whether any of them got one, and stop together."""
        if self.world_size == 1:
            return self._stop_signal is not None
        if (self.iter + 1) % self.finite_check_interval:
            return False
        flag = torch.tensor([float(self._stop_signal or 0)], device=self.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        self._stop_signal = int(flag.item()) or None
        return self._stop_signal is not None

    def check_finite(self):
        """Stop at a NaN/inf loss, naming the first one. Looking means waiting for the GPU,
        so it is done every `finite_check_interval` iterations and before any checkpoint
        is written, never on every iteration."""
        if not self._unchecked_losses:
            return
        values = torch.stack([loss for _, _, loss in self._unchecked_losses]).tolist()
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            epoch, it, _ = self._unchecked_losses[bad]
            raise TrainingStopped(f'the loss is {values[bad]} at epoch {epoch + 1}, iter {it + 1}; training '
                                  'stopped, the last good checkpoint is kept', 1)
        self._unchecked_losses.clear()

    def _stop_inside_epoch(self):
        """SIGINT/SIGTERM: the iteration is done; save where we are, then stop."""
        path = self.save_checkpoint(self.work_dir, f'iter_{self.iter + 1}.pth', mid_epoch=True)
        name = signal.Signals(self._stop_signal).name
        raise TrainingStopped(f'{name} received: stopped at epoch {self.epoch + 1}, iter {self.iter + 1}; '
                              f'resume with --resume {path}', 128 + self._stop_signal)

    def _on_signal(self, signum, frame):
        if self._stop_signal is not None:      # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self._stop_signal = signum
        self.logger.warning(f'{signal.Signals(signum).name} received: finishing this iteration, then saving '
                            '(send it again to stop at once)')

    @torch.no_grad()
    def val(self, data_loader):
        self.model.eval()
        self.mode = 'val'
        self.data_loader = data_loader
        self.call_hook('before_val_epoch')
        for i, data_batch in enumerate(data_loader):
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
                break
        self.logger.info(f'Start running, host: {_host()}, work_dir: {self.work_dir}')
        self.logger.info(f'Hooks will be executed in the following order:\n{self.get_hook_info()}')
        self.logger.info(f'workflow: {workflow}, max: {self._max_epochs} epochs')
        self.call_hook('before_run')
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._run_workflow(data_loaders, workflow)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self.call_hook('after_run')

    def _run_workflow(self, data_loaders, workflow):
        while self.epoch < self._max_epochs and not self.should_stop:
            for (mode, epochs), loader in zip(workflow, data_loaders):
                if not isinstance(mode, str):
                    raise TypeError(f'mode in workflow must be a str, but got {type(mode).__name__}')
                if mode not in ('train', 'val'):
                    raise ValueError(f'runner has no method named "{mode}" to run an epoch; valid: train, val')
                for _ in range(epochs):
                    if mode == 'train' and (self.epoch >= self._max_epochs or self.should_stop):
                        break
                    getattr(self, mode)(loader)

    # --- checkpoints ----------------------------------------------------------------

    def save_checkpoint(self, out_dir, filename_tmpl='epoch_{}.pth', save_optimizer=True, update_latest=True,
                        mid_epoch=False):
        """Write `out_dir/<filename>` (atomically); return its path.

        At the end of an epoch (before `epoch += 1`) epoch_N.pth records `epoch=N`: resume
        starts epoch N+1. With `mid_epoch` (called from after_train_iter) it records the
        epoch in progress and `batches_done`, and resume continues inside that epoch.
        mmcv makes a `latest.pth` symlink, which some filesystems refuse; we write a
        plain text file `last_checkpoint` holding the file name (as mmengine does)."""
        self.check_finite()                    # never save weights that a NaN has reached
        path = os.path.join(out_dir, filename_tmpl.format(self.epoch + 1))
        if self.rank != 0:                     # one writer; every process can resume from it
            return path
        if mid_epoch:
            meta = dict(self.meta, epoch=self.epoch, iter=self.iter + 1, batches_done=self.inner_iter + 1)
        else:
            meta = dict(self.meta, epoch=self.epoch + 1, iter=self.iter)
        hook_states = {type(h).__name__: h.state_dict() for h in self._hooks if hasattr(h, 'state_dict')}
        save_checkpoint(path, self.model, self.optimizer if save_optimizer else None, meta, hook_states)
        if update_latest:
            atomic_write(os.path.join(out_dir, 'last_checkpoint'), os.path.basename(path).encode())
        return path

    def load_checkpoint(self, filename, strict=False, trusted=False):
        """Load weights only (mmcv: load_from). Takes minicls and mmcls checkpoints, with or
        without a `state_dict` wrapper or a `module.` prefix; logs what did not match."""
        checkpoint = read_checkpoint(filename, trusted)
        try:
            state_dict = model_weights(checkpoint)
        except CheckpointError as e:
            raise CheckpointError(f'{filename}: {e}') from None
        mismatched = shape_mismatches(self.model, state_dict)
        if mismatched:
            raise CheckpointError(f'{filename}: shape mismatch for ' + '; '.join(mismatched))
        result = unwrap(self.model).load_state_dict(state_dict, strict=strict)
        self.logger.info(f'load checkpoint from {filename}')
        if result.missing_keys:
            self.logger.warning(f'missing keys in source state_dict: {", ".join(result.missing_keys)}')
        if result.unexpected_keys:
            self.logger.warning(f'unexpected keys in source state_dict: {", ".join(result.unexpected_keys)}')
        return checkpoint

    def resume(self, filename, resume_optimizer=True, trusted=False):
        """Restore weights, optimizer, epoch, iter, hook messages and the random states
        (mmcv: resume, which does not restore the random states)."""
        checkpoint = read_checkpoint(filename, trusted)
        if not isinstance(checkpoint, dict) or 'meta' not in checkpoint or 'state_dict' not in checkpoint:
            raise CheckpointError(f'{filename} is not a training checkpoint (no meta and state_dict); '
                                  'use --load-from to load weights only')
        state_dict = model_weights(checkpoint)
        own = unwrap(self.model).state_dict()
        differences = ([f'{k} is missing from the checkpoint' for k in own if k not in state_dict]
                       + [f'{k} is not in the model' for k in state_dict if k not in own]
                       + shape_mismatches(self.model, state_dict))
        if differences:
            raise CheckpointError(f'{filename} does not match the model of this config: {differences[0]}')
        unwrap(self.model).load_state_dict(state_dict)
        meta = checkpoint['meta']
        self._epoch, self._iter = meta['epoch'], meta['iter']
        self._resume_batches = meta.get('batches_done', 0)
        self.meta.setdefault('hook_msgs', {}).update(meta.get('hook_msgs', {}))
        if resume_optimizer and 'optimizer' in checkpoint:
            self.optimizer.load_state_dict(checkpoint['optimizer'])
        if 'rng' in checkpoint:
            set_rng_state(checkpoint['rng'])
        for hook in self._hooks:
            state = checkpoint.get('hook_states', {}).get(type(hook).__name__)
            if state is not None and hasattr(hook, 'load_state_dict'):
                hook.load_state_dict(state)
        self.logger.info(f'resumed epoch {self.epoch}, iter {self.iter}')


def _host():
    return f'{os.environ.get("USER", "user")}@{socket.gethostname()} ({platform.system()})'
