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
import os
import platform
import socket
import time
from collections import OrderedDict

import torch

from checkpoint import (CheckpointError, CheckpointWriter, copy_to_cpu, get_rng_state,
                        load_checkpoint, load_hook_states, load_optimizer_state,
                        read_training_checkpoint, restore_rng_state, weights_to_cpu)
from config import __version__, check_args, check_workflow, lookup
from extras.checks.api_checks import as_config, check_new_hook, check_optimizer_cfg
from hooks import (LOGGER_HOOKS, LR_POLICIES, MOMENTUM_POLICIES, CheckpointHook, Hook,
                   IterTimerHook, LoggerHook, Priority, build_custom_hook, build_optimizer_hook,
                   build_updater_hook, get_priority)
from model import unwrap

__all__ = ['EpochBasedRunner', 'LogBuffer', 'build_optimizer', 'load_checkpoint', 'CheckpointError']


class EpochBasedRunner:
    def __init__(self, model, optimizer=None, work_dir=None, logger=None, meta=None,
                 max_epochs=None):
        self.model, self.optimizer, self.logger = model, optimizer, logger
        self.work_dir = None if work_dir is None else os.path.abspath(work_dir)
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self.meta = meta if meta is not None else {}
        self.device = next(model.parameters()).device
        self.timestamp = None                  # set by train_model: names the .log and .log.json
        self.mode = None
        self._hooks = []
        self._stage_hooks = {stage: [] for stage in Hook.stages}   # the hooks acting there
        self._epoch = self._iter = self._inner_iter = 0
        self._max_epochs, self._max_iters = max_epochs, None
        self.log_buffer = LogBuffer()
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if dist else 0    # only rank 0 writes files
        self.world_size = torch.distributed.get_world_size() if dist else 1
        self.data_loader = self.data_batch = self.outputs = None
        self.autocast_dtype = None             # float16 / bfloat16: mixed precision (extras)
        self.memory_format = torch.preserve_format   # torch.channels_last with that fast path
        self.resume_batches = 0                # batches of the current epoch done before a resume
        self.writer = CheckpointWriter()        # checkpoints are written in a thread
        self.should_stop = False               # set by a hook (EarlyStoppingHook) to end the run

    epoch = property(lambda self: self._epoch)
    iter = property(lambda self: self._iter)
    inner_iter = property(lambda self: self._inner_iter)
    max_epochs = property(lambda self: self._max_epochs)
    max_iters = property(lambda self: self._max_iters)
    hooks = property(lambda self: self._hooks)

    # --- hooks (step 4) ------------------------------------------------------------------

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

    def register_lr_hook(self, lr_config):
        lr_config = as_config(lr_config, 'lr_config')
        if lr_config is not None:
            self.register_hook(build_updater_hook(lr_config, LR_POLICIES, 'lr_config'), 'VERY_HIGH')

    def register_momentum_hook(self, momentum_config):
        momentum_config = as_config(momentum_config, 'momentum_config')
        if momentum_config is not None:
            hook = build_updater_hook(momentum_config, MOMENTUM_POLICIES, 'momentum_config')
            self.register_hook(hook, 'HIGH')

    def register_optimizer_hook(self, optimizer_config, fp16_config=None):
        optimizer_config = as_config(optimizer_config, 'optimizer_config')
        fp16_config = as_config(fp16_config, 'fp16_config')
        if optimizer_config is not None:
            self.register_hook(build_optimizer_hook(optimizer_config, fp16_config), 'ABOVE_NORMAL')

    def register_checkpoint_hook(self, checkpoint_config):
        checkpoint_config = as_config(checkpoint_config, 'checkpoint_config')
        if checkpoint_config is not None:
            self.register_hook(CheckpointHook(**vars(checkpoint_config)), 'NORMAL')

    def register_logger_hooks(self, log_config):
        log_config = as_config(log_config, 'log_config')
        for hook_cfg in (log_config.hooks if log_config is not None else []):
            args = dict(hook_cfg)
            hook_cls = lookup(LOGGER_HOOKS, args.pop('type', None), 'log_config.hooks: type',
                              LoggerHook)
            self.register_hook(hook_cls(interval=log_config.interval, **args), 'VERY_LOW')

    def register_custom_hooks(self, custom_hooks_config):
        """[dict(type='EMAHook', priority='ABOVE_NORMAL', momentum=...), ...]"""
        for item in custom_hooks_config or []:
            self.register_hook(*build_custom_hook(item))

    def register_hook(self, hook, priority='NORMAL'):
        """Insert after every hook whose priority is <= this one (mmcv's rule), so equal
        priorities keep registration order."""
        check_new_hook(hook)                   # a Hook, registered once
        hook.priority = get_priority(priority)
        inserted = False
        for i in range(len(self._hooks) - 1, -1, -1):
            if hook.priority >= self._hooks[i].priority:
                self._hooks.insert(i + 1, hook)
                inserted = True
                break
        if not inserted:
            self._hooks.insert(0, hook)
        # Base-class stages are no-ops: calling only the hooks that override a stage is
        # mmcv's "call every hook", minus the empty calls.
        self._stage_hooks = {stage: [h for h in self._hooks if stage in h.get_triggered_stages()]
                             for stage in Hook.stages}

    # --- resume or load (step 7; the files: checkpoint.py) -------------------------------

    def resume(self, filename, resume_optimizer=True, trusted=False):
        """Restore weights, optimizer, epoch, iter, hook messages and state, and the
        random states (mmcv's resume restores no random state)."""
        checkpoint = read_training_checkpoint(filename, self.model, trusted,
                                              self.optimizer if resume_optimizer else None)
        meta = checkpoint['meta']
        unwrap(self.model).load_state_dict(checkpoint['state_dict'])
        self._epoch, self._iter = meta['epoch'], meta['iter']
        self.resume_batches = meta.get('batches_done', 0)
        self.meta.setdefault('hook_msgs', {}).update(meta.get('hook_msgs', {}))
        if 'fp16' in meta:                     # the loss scale (extras/options/mixed_precision.py)
            self.meta['fp16'] = meta['fp16']
        if resume_optimizer and 'optimizer' in checkpoint:
            load_optimizer_state(self.optimizer, checkpoint['optimizer'], filename)
        elif resume_optimizer:
            self.logger.warning(f'{filename} holds no optimizer state: the optimizer starts fresh')
        if 'rng' in checkpoint:
            restore_rng_state(checkpoint['rng'], filename)
        load_hook_states(self._hooks, checkpoint.get('hook_states', {}), filename)
        self.logger.info(f'resumed epoch {self.epoch}, iter {self.iter}')

    def load_checkpoint(self, filename, strict=False, trusted=False):
        """Weights only (mmcv: load_from); checkpoint.py's load_checkpoint."""
        return load_checkpoint(self.model, filename, strict=strict, trusted=trusted,
                               logger=self.logger)

    # --- the loop (step 8) ---------------------------------------------------------------

    def run(self, data_loaders, workflow, max_epochs=None):
        """Run the workflow, e.g. [('train', 1)] or [('train', 2), ('val', 1)], until
        `max_epochs` training epochs are done; one data loader per workflow entry."""
        if max_epochs is not None:
            self._max_epochs = max_epochs
        check_run(data_loaders, workflow, self._max_epochs)     # mmcv: run's asserts
        for (mode, _), loader in zip(workflow, data_loaders):
            if mode == 'train':
                self._max_iters = self._max_epochs * len(loader)
        host = f'{os.environ.get("USER", "user")}@{socket.gethostname()} ({platform.system()})'
        self.logger.info(f'Start running, host: {host}, work_dir: {self.work_dir}')
        self.logger.info(f'Hooks will be executed in the following order:\n{self.get_hook_info()}')
        self.logger.info(f'workflow: {workflow}, max: {self._max_epochs} epochs')
        self.call_hook('before_run')
        try:
            while self.epoch < self._max_epochs and not self.should_stop:
                for (mode, epochs), loader in zip(workflow, data_loaders):
                    for _ in range(epochs):
                        if mode == 'train' and (self.epoch >= self._max_epochs
                                                or self.should_stop):
                            break
                        getattr(self, mode)(loader)
            self.call_hook('after_run')
        finally:                          # a stop raised in the loop (a NaN loss) too: the
            self.wait_for_checkpoint()    # checkpoint being written is complete on return

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

    def run_iter(self, data_batch, train_mode):
        data_batch = self.batch_to_device(data_batch)
        step = self.model.train_step if train_mode else self.model.val_step
        if self.autocast_dtype is None:        # full precision: no context to enter
            outputs = step(data_batch, self.optimizer)
        else:
            with self.autocast():
                outputs = step(data_batch, self.optimizer)
        if 'log_vars' in outputs:
            self.log_buffer.update(outputs['log_vars'], outputs['num_samples'])
        self.outputs = outputs

    def autocast(self):
        """The forward's mixed precision (Fp16OptimizerHook sets autocast_dtype), else nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def batch_to_device(self, batch):
        """Tensors to the model's device (non_blocking: with pin_memory the copy overlaps the
        GPU's work); 4-d images in the model's memory format (channels_last, if on)."""
        if self.device.type == 'cpu' and self.memory_format is torch.preserve_format:
            return batch                        # already where the model is
        moved = {}
        for k, v in batch.items():
            if torch.is_tensor(v) and v.dim() == 4:
                v = v.to(self.device, non_blocking=True, memory_format=self.memory_format)
            elif torch.is_tensor(v):
                v = v.to(self.device, non_blocking=True)
            moved[k] = v
        return moved

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
                    named = h.priority in Priority._value2member_map_
                    name = Priority(h.priority).name if named else h.priority
                    lines.append(f'({name:<12}) {type(h).__name__:<35}')
                lines.append(' -------------------- ')
        return '\n'.join(lines)

    # --- saving a checkpoint (the files: checkpoint.py) ----------------------------------

    def save_checkpoint(self, out_dir, filename_tmpl='epoch_{}.pth', save_optimizer=True,
                        meta=None, update_latest=True, mid_epoch=False, blocking=True):
        """Write `out_dir/<filename_tmpl.format(N)>` atomically; return its path (None
        without out_dir). N is the epoch that ends (mid_epoch: the iteration that ends); a
        name without `{}` is used as it is (EvalHook's best_*.pth, as in mmcv).

        At the end of an epoch (before `epoch += 1`) epoch_N.pth records `epoch=N`: resume
        starts epoch N+1. With `mid_epoch` it records the epoch in progress and
        `batches_done`, and resume continues inside that epoch. Instead of mmcv's
        `latest.pth` symlink, a text file `last_checkpoint` names the newest (as
        mmengine). The state is copied to the CPU here and a thread writes it; with
        `blocking=False` (the CheckpointHook's) training goes on meanwhile."""
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta must be a dict or None, but got {type(meta).__name__}')
        if out_dir is None:
            return None
        path = os.path.join(out_dir, filename_tmpl.format(
            self.iter + 1 if mid_epoch else self.epoch + 1))
        if self.rank != 0:                     # one writer; every process can resume from it
            return path
        meta = dict(self.meta, **(meta or {}), minicls_version=__version__, time=time.asctime())
        if mid_epoch:
            meta.update(epoch=self.epoch, iter=self.iter + 1, batches_done=self.inner_iter + 1)
        else:
            meta.update(epoch=self.epoch + 1, iter=self.iter)
        model = unwrap(self.model)
        if getattr(model, 'CLASSES', None) is not None:   # mmcv: the class names go to meta
            meta.update(CLASSES=model.CLASSES)
        checkpoint = {'meta': meta, 'state_dict': weights_to_cpu(model.state_dict()),
                      'rng': get_rng_state()}
        if save_optimizer and self.optimizer is not None:   # mmcv: no optimizer, none saved
            checkpoint['optimizer'] = copy_to_cpu(self.optimizer.state_dict())
        hook_states = {type(h).__name__: copy_to_cpu(h.state_dict())
                       for h in self._hooks if hasattr(h, 'state_dict')}
        if hook_states:
            checkpoint['hook_states'] = hook_states
        pointer = os.path.join(out_dir, 'last_checkpoint') if update_latest else None
        self.writer.write(path, checkpoint, pointer, blocking)
        return path

    def wait_for_checkpoint(self):
        """Join the checkpoint write in flight, if any; raise its error."""
        self.writer.wait()

    # --- what hooks ask the runner -------------------------------------------------------

    def current_lr(self):
        return [group['lr'] for group in self.optimizer.param_groups]

    def current_momentum(self):
        return [group['momentum'] if 'momentum' in group else group['betas'][0]
                for group in self.optimizer.param_groups if 'momentum' in group or 'betas' in group]

    def stage_hooks(self, stage):
        """The hooks that act at `stage`, in the order call_hook calls them."""
        return list(self._stage_hooks[stage])


def check_run(data_loaders, workflow, max_epochs):
    """max_epochs given; one data loader per workflow entry, modes the runner has (mmcv's
    messages), and a ('train', n) entry (config.check_workflow: without one, run never ends)."""
    if not isinstance(max_epochs, int) or isinstance(max_epochs, bool):
        raise TypeError(f'max_epochs={max_epochs!r}: give the number of epochs, an int, to '
                        'EpochBasedRunner(max_epochs=...) or to run(..., max_epochs=...)')
    if len(data_loaders) != len(workflow):
        raise ValueError(f'{len(data_loaders)} data loaders for a workflow of '
                         f'{len(workflow)} entries')
    for mode, _ in workflow:
        if not isinstance(mode, str):
            raise TypeError(f'mode in workflow must be a str, but got {type(mode).__name__}')
        if mode not in ('train', 'val'):
            raise ValueError(f'runner has no method named "{mode}" to run an epoch; '
                             'valid: train, val')
    check_workflow(workflow)


# ---- The optimizer  (mmcv: runner/optimizer/builder.py) -----------------------------------

def build_optimizer(model, optimizer_cfg):
    """Any torch.optim class by name (or your own, as 'module:Class'), over one param
    group of all parameters; with `paramwise_cfg`, per-parameter lr / weight_decay
    multipliers (extras/options/paramwise.py)."""
    check_optimizer_cfg(optimizer_cfg)         # an OptimizerConfig (code may call this directly)
    args = optimizer_args(optimizer_cfg)
    opt_cls = optimizer_class(optimizer_cfg.type, args)
    params = unwrap(model).parameters()
    if optimizer_cfg.paramwise_cfg is not None:    # an extra, asked for by the config
        from extras.options.paramwise import paramwise_groups
        params = paramwise_groups(unwrap(model), optimizer_cfg.paramwise_cfg, args)
    return opt_cls(params, **args)


def optimizer_class(name, args):
    """The class optimizer.type names (a torch.optim optimizer, or 'module:Class'), checked
    to take `args` (train.py also checks this before any data is read)."""
    valid = {n: c for n, c in vars(torch.optim).items()
             if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and n != 'Optimizer'}
    opt_cls = lookup(dict(sorted(valid.items())), name, 'optimizer.type',
                     base=torch.optim.Optimizer)
    check_args(opt_cls, args, f'optimizer.type={name!r}', [])
    return opt_cls


def optimizer_args(optimizer_cfg):
    """lr and the options; momentum and weight_decay unless None (the optimizer's default)."""
    args = dict(lr=optimizer_cfg.lr, **optimizer_cfg.options)
    for name in ('momentum', 'weight_decay'):
        if getattr(optimizer_cfg, name) is not None:
            args[name] = getattr(optimizer_cfg, name)
    return args


# ---- The log buffer  (mmcv: runner/log_buffer.py) -----------------------------------------

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
        tensors, still on the GPU: those are copied to the CPU here, in one go, not every
        iteration."""
        for key, values in self.val_history.items():
            values, counts = values[-n:], self.n_history[key][-n:]
            if all(isinstance(v, torch.Tensor) and v.dim() == 0 for v in values):
                values = torch.stack(values).tolist()       # the losses: one stack
            elif any(isinstance(v, torch.Tensor) for v in values):   # a mix: their means
                means = [torch.as_tensor(v).detach().float().mean() for v in values]
                values = torch.stack(means).tolist()
            self.output[key] = sum(float(v) * c for v, c in zip(values, counts)) / sum(counts)
        self.ready = True
