"""The runner: the epoch loop, hook dispatch, checkpoints, and the optimizer builder.

mmcv 1.x counterparts: runner/base_runner.py, runner/epoch_based_runner.py,
runner/log_buffer.py, runner/checkpoint.py, runner/optimizer/default_constructor.py.

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
"""
import inspect
import io
import os
import platform
import socket
from collections import OrderedDict

import numpy as np
import torch

from hooks import CheckpointHook, Hook, IterTimerHook, OptimizerHook, Priority, TextLoggerHook, get_priority
from lr_updater import LR_POLICIES, MOMENTUM_POLICIES


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit (the message says which and why)."""


class LogBuffer:
    """Per-iteration values (loss, time, ...) and their averages (mmcv: LogBuffer).

    Averages are weighted by the number of samples of each update, so a short last
    batch counts for what it is."""

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
            self.val_history.setdefault(key, []).append(value)
            self.n_history.setdefault(key, []).append(count)

    def average(self, n=0):
        """Average the latest n values (all when n == 0) into `output`."""
        for key in self.val_history:
            values = np.array(self.val_history[key][-n:])
            counts = np.array(self.n_history[key][-n:])
            self.output[key] = float(np.sum(values * counts) / np.sum(counts))
        self.ready = True


# ---------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------


class EpochBasedRunner:
    def __init__(self, model, optimizer=None, work_dir=None, logger=None, meta=None, max_epochs=None):
        self.model, self.optimizer, self.logger = model, optimizer, logger
        self.work_dir = os.path.abspath(work_dir)
        self.meta = meta if meta is not None else {}
        self.device = next(model.parameters()).device
        self.timestamp = None                  # set by train_model: names the .log and .log.json
        self.mode = None
        self._hooks = []
        self._stage_hooks = {}                 # stage -> the hooks that act there, in order
        self._epoch = self._iter = self._inner_iter = 0
        self._max_epochs, self._max_iters = max_epochs, None
        self.log_buffer = LogBuffer()
        self.data_loader = None
        self.outputs = None

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

    def call_hook(self, stage):
        for hook in self._stage_hooks.get(stage, ()):
            getattr(hook, stage)(self)

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
            self.register_hook(_build_updater(lr_config, LR_POLICIES, 'lr_config'), 'VERY_HIGH')

    def register_momentum_hook(self, momentum_config):
        if momentum_config is not None:
            self.register_hook(_build_updater(momentum_config, MOMENTUM_POLICIES, 'momentum_config'), 'HIGH')

    def register_optimizer_hook(self, optimizer_config):
        if optimizer_config is not None:
            clip = optimizer_config.grad_clip
            clip = None if clip is None else dict(max_norm=clip.max_norm, norm_type=clip.norm_type)
            self.register_hook(OptimizerHook(grad_clip=clip), 'ABOVE_NORMAL')

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

    def register_training_hooks(self, lr_config, optimizer_config=None, checkpoint_config=None,
                                log_config=None, momentum_config=None):
        """The standard hooks, in mmcv's order (priority in brackets):
        LrUpdater (VERY_HIGH), MomentumUpdater (HIGH), Optimizer (ABOVE_NORMAL),
        Checkpoint (NORMAL), IterTimer (LOW), loggers (VERY_LOW)."""
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_hook(IterTimerHook(), 'LOW')
        self.register_logger_hooks(log_config)

    # --- the loop -------------------------------------------------------------------

    def batch_to_device(self, batch):
        return {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}

    def run_iter(self, data_batch, train_mode):
        data_batch = self.batch_to_device(data_batch)
        if train_mode:
            outputs = self.model.train_step(data_batch, self.optimizer)
        else:
            outputs = self.model.val_step(data_batch, self.optimizer)
        if 'log_vars' in outputs:
            self.log_buffer.update(outputs['log_vars'], outputs['num_samples'])
        self.outputs = outputs

    def train(self, data_loader):
        self.model.train()
        self.mode = 'train'
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(data_loader)
        self.call_hook('before_train_epoch')
        for i, data_batch in enumerate(data_loader):
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
        while self.epoch < self._max_epochs:
            for (mode, epochs), loader in zip(workflow, data_loaders):
                if not isinstance(mode, str):
                    raise TypeError(f'mode in workflow must be a str, but got {type(mode).__name__}')
                if mode not in ('train', 'val'):
                    raise ValueError(f'runner has no method named "{mode}" to run an epoch; valid: train, val')
                for _ in range(epochs):
                    if mode == 'train' and self.epoch >= self._max_epochs:
                        break
                    getattr(self, mode)(loader)
        self.call_hook('after_run')

    # --- checkpoints ----------------------------------------------------------------

    def save_checkpoint(self, out_dir, filename_tmpl='epoch_{}.pth', save_optimizer=True, update_latest=True):
        """Write `out_dir/<filename>` atomically; return its path.

        mmcv makes a `latest.pth` symlink, which some filesystems refuse; we write a
        plain text file `last_checkpoint` holding the file name (as mmengine does)."""
        meta = dict(self.meta, epoch=self.epoch + 1, iter=self.iter)
        checkpoint = {'meta': meta, 'state_dict': _cpu_state_dict(_unwrap(self.model))}
        if save_optimizer:
            checkpoint['optimizer'] = self.optimizer.state_dict()
        path = os.path.join(out_dir, filename_tmpl.format(self.epoch + 1))
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        _atomic_write(path, buffer.getvalue())
        if update_latest:
            _atomic_write(os.path.join(out_dir, 'last_checkpoint'), os.path.basename(path).encode())
        return path

    def load_checkpoint(self, filename, strict=False):
        """Load weights only (mmcv: load_from). Takes minicls and mmcls checkpoints, with or
        without a `state_dict` wrapper or a `module.` prefix; logs what did not match."""
        checkpoint = read_checkpoint(filename)
        state_dict = checkpoint.get('state_dict', checkpoint)
        state_dict = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state_dict.items()}
        model = _unwrap(self.model)
        own = model.state_dict()
        mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                      for k, v in state_dict.items() if k in own and v.shape != own[k].shape]
        if mismatched:
            raise CheckpointError(f'{filename}: shape mismatch for ' + '; '.join(mismatched))
        result = model.load_state_dict(state_dict, strict=strict)
        self.logger.info(f'load checkpoint from {filename}')
        if result.missing_keys:
            self.logger.warning(f'missing keys in source state_dict: {", ".join(result.missing_keys)}')
        if result.unexpected_keys:
            self.logger.warning(f'unexpected keys in source state_dict: {", ".join(result.unexpected_keys)}')
        return checkpoint

    def resume(self, filename, resume_optimizer=True):
        """Restore weights, optimizer, epoch, iter and hook messages (mmcv: resume)."""
        checkpoint = read_checkpoint(filename)
        if 'meta' not in checkpoint or 'state_dict' not in checkpoint:
            raise CheckpointError(f'{filename} is not a training checkpoint (no meta/state_dict); '
                                  'use --load-from to load weights only')
        try:
            _unwrap(self.model).load_state_dict(checkpoint['state_dict'], strict=True)
        except RuntimeError as e:
            first = str(e).splitlines()[1].strip() if '\n' in str(e) else str(e)
            raise CheckpointError(f'{filename} does not match the model of this config: {first}') from None
        meta = checkpoint['meta']
        self._epoch, self._iter = meta['epoch'], meta['iter']
        self.meta.setdefault('hook_msgs', {}).update(meta.get('hook_msgs', {}))
        if resume_optimizer and 'optimizer' in checkpoint:
            self.optimizer.load_state_dict(checkpoint['optimizer'])
        self.logger.info(f'resumed epoch {self.epoch}, iter {self.iter}')


def read_checkpoint(filename):
    """torch.load with weights_only=True: tensors and plain values only, never arbitrary
    pickled code (mmcv's torch.load unpickles anything)."""
    if not os.path.isfile(filename):
        raise CheckpointError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated file, foreign pickle, not a checkpoint at all
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f'cannot read checkpoint {filename}: {reason}') from None


def _atomic_write(path, data):
    """Write to a temp file, fsync, then rename over `path`: a crash at any instant
    leaves either the old file or the new one, never half a file."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def _cpu_state_dict(model):
    return OrderedDict((k, v.detach().cpu()) for k, v in model.state_dict().items())


def _host():
    return f'{os.environ.get("USER", "user")}@{socket.gethostname()} ({platform.system()})'


def _build_updater(config, policies, field):
    """lr_config / momentum_config -> the policy's updater hook (mmcv: register_lr_hook).
    An all-lowercase policy is title-cased as mmcv does ('step' -> 'Step')."""
    policy = config.policy.title() if config.policy == config.policy.lower() else config.policy
    if policy not in policies:
        raise ValueError(f'{field}.policy={config.policy!r} is not known; valid: {", ".join(policies)}')
    hook_cls = policies[policy]
    accepted = set()                           # the arguments of the policy and its bases
    for cls in hook_cls.__mro__:
        if cls.__init__ is not object.__init__ and cls.__name__ != 'Hook':
            accepted |= set(inspect.signature(cls.__init__).parameters) - {'self', 'kwargs'}
    args = {k: v for k, v in vars(config).items() if k != 'policy' and v is not None}
    bad = sorted(set(args) - accepted)
    if bad:
        raise ValueError(f'{field}.{bad[0]} is set, but policy {config.policy!r} does not take it; '
                         f'it takes: {", ".join(sorted(accepted))}')
    try:
        return hook_cls(**args)
    except TypeError as e:
        raise ValueError(f'{field} (policy {config.policy!r}): {e}') from None


# ---------------------------------------------------------------------------------------
# build_optimizer  (mmcv: build_optimizer + DefaultOptimizerConstructor)
# ---------------------------------------------------------------------------------------

NORM_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
               torch.nn.GroupNorm, torch.nn.LayerNorm)


def build_optimizer(model, optimizer_cfg):
    """Any torch.optim class by name. Without paramwise_cfg all parameters form one group;
    with it, every parameter gets its own group with its own lr / weight_decay."""
    opt_type = optimizer_cfg.type
    opt_cls = getattr(torch.optim, opt_type, None)
    if not (isinstance(opt_cls, type) and issubclass(opt_cls, torch.optim.Optimizer)):
        valid = sorted(n for n, c in vars(torch.optim).items()
                       if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and n != 'Optimizer')
        raise ValueError(f'optimizer.type={opt_type!r} is not a torch.optim optimizer; valid: {", ".join(valid)}')
    if optimizer_cfg.lr < 0:
        raise ValueError(f'optimizer.lr={optimizer_cfg.lr} must be >= 0')
    args = dict(lr=optimizer_cfg.lr, weight_decay=optimizer_cfg.weight_decay, **optimizer_cfg.options)
    if optimizer_cfg.momentum is not None:
        args['momentum'] = optimizer_cfg.momentum
    model = _unwrap(model)
    paramwise = optimizer_cfg.paramwise_cfg
    params = model.parameters() if paramwise is None else _paramwise_groups(model, paramwise, args)
    try:
        return opt_cls(params, **args)
    except TypeError as e:
        raise ValueError(f'optimizer.type={opt_type!r} does not accept these arguments '
                         f'({", ".join(args)}): {e}') from None


def _paramwise_groups(model, cfg, args):
    """mmcv's DefaultOptimizerConstructor.add_params. For each parameter, in module order:
    the longest custom key contained in its name wins (lr_mult, decay_mult); otherwise
    biases (not of norm layers) get bias_lr_mult / bias_decay_mult, norm layers
    norm_decay_mult, depthwise convs dwconv_decay_mult."""
    base_lr, base_wd = args['lr'], args.get('weight_decay')
    keys = sorted(sorted(cfg.custom_keys), key=len, reverse=True)
    groups, seen = [], set()
    for prefix, module in model.named_modules():
        is_norm = isinstance(module, NORM_LAYERS)
        is_dwconv = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            group = {'params': [param]}
            if cfg.bypass_duplicate and id(param) in seen:
                continue
            seen.add(id(param))
            if not param.requires_grad:
                groups.append(group)
                continue
            full_name = f'{prefix}.{name}'
            key = next((k for k in keys if k in full_name), None)
            if key is not None:
                group['lr'] = base_lr * cfg.custom_keys[key].get('lr_mult', 1.0)
                if base_wd is not None:
                    group['weight_decay'] = base_wd * cfg.custom_keys[key].get('decay_mult', 1.0)
            else:
                if name == 'bias' and not is_norm:
                    group['lr'] = base_lr * cfg.bias_lr_mult
                if base_wd is not None:
                    if is_norm:
                        group['weight_decay'] = base_wd * cfg.norm_decay_mult
                    elif is_dwconv:
                        group['weight_decay'] = base_wd * cfg.dwconv_decay_mult
                    elif name == 'bias':
                        group['weight_decay'] = base_wd * cfg.bias_decay_mult
            groups.append(group)
    return groups
