"""Hooks: everything around the training loop (mmcv 1.x: mmcv/runner/hooks/).

The runner only loops over batches. At ten points of the loop it calls `call_hook(stage)`,
which calls that method on every hook that defines it, in priority order (a smaller number
runs first; equal priorities keep registration order; every run prints it, get_hook_info):

    priority   HIGHEST 0 | VERY_HIGH 10 | HIGH 30 | ABOVE_NORMAL 40 | NORMAL 50
               BELOW_NORMAL 60 | LOW 70 | VERY_LOW 90 | LOWEST 100

    hook (train_model's)  priority      acts at (b = before, a = after)         mmcv hooks/
    StepLrUpdaterHook     VERY_HIGH     b_run, b_train_epoch, b_train_iter      lr_updater.py
    OptimizerHook         ABOVE_NORMAL  a_train_iter                            optimizer.py
    CheckpointHook        NORMAL        b_run, a_train_iter, a_train_epoch      checkpoint.py
    DistSamplerSeedHook   NORMAL        b_train_epoch, b_val_epoch              sampler_seed.py
    IterTimerHook         LOW           b_*_epoch, b_*_iter, a_*_iter           iter_timer.py
    EvalHook              LOW           b_run, b/a_train_iter, b/a_train_epoch  evaluation.py
    TextLoggerHook        VERY_LOW      b/a_run, b_*_epoch, a_train_iter,       logger/text.py
                                        a_*_epoch

train.py also registers the two guards of extras/run/guards.py: CheckInvalidLossHook (HIGH)
and StopSignalHook (LOWEST). A hook reads what it needs from the runner it receives (epoch,
iter, optimizer, outputs, log_buffer); this file never imports runner.py. The optional hooks
live in extras/, imported through the name tables at its end only when a config names them.
The file reads top-down: the builders first, then the hooks, each above what it calls.
"""
import contextlib
import datetime
import inspect
import json
import os
import sys
import time
import warnings
from enum import IntEnum

import torch

from config import ConfigError, check_args, check_evaluation, lookup
from extras.run.logger import open_no_follow
from model import unwrap


# ---- Building the hooks a config names  (mmcv: Runner.register_*_hook) -------------------

class Priority(IntEnum):
    """mmcv: runner/priority.py. A smaller number runs first."""
    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority):
    """An int 0..100, a Priority or a Priority name ('LOW') -> int."""
    check_priority(priority)
    return Priority[priority.upper()].value if isinstance(priority, str) else int(priority)


def build_updater_hook(config, policies, field):
    """lr_config -> the policy's hook, its fields that are not None the hook's arguments."""
    hook_cls = updater_class(config, policies, field)
    args = {k: v for k, v in vars(config).items() if k != 'policy' and v is not None}
    check_policy_args(hook_cls, args, config.policy, field)
    return hook_cls(**args)


def updater_class(config, policies, field):
    """The updater hook class that config.policy names (mmcv: register_lr_hook)."""
    policy = config.policy
    if policy == policy.lower() and policy.title() in policies:
        policy = policy.title()                # mmcv title-cases 'step' to 'Step'
    return lookup(policies, policy, f'{field}.policy', lookup(UPDATER_BASES, field, 'field'))


def build_optimizer_hook(optimizer_config, fp16_config=None):
    """mmcls's train_model: Fp16/GradientCumulative(Fp16)OptimizerHook, else OptimizerHook."""
    clip = optimizer_config.grad_clip
    if clip is not None:
        clip = dict(max_norm=clip.max_norm, norm_type=clip.norm_type)
    args = dict(grad_clip=clip)
    cumulative = optimizer_config.cumulative_iters
    if cumulative > 1:
        args['cumulative_iters'] = cumulative
    if fp16_config is not None:
        args.update(loss_scale=fp16_config.loss_scale, dtype=fp16_config.dtype)
        name = 'GradientCumulativeFp16OptimizerHook' if cumulative > 1 else 'Fp16OptimizerHook'
    else:
        name = 'GradientCumulativeOptimizerHook' if cumulative > 1 else 'OptimizerHook'
    hook_cls = lookup(OPTIMIZER_HOOKS, name, 'optimizer_config', OptimizerHook)
    return hook_cls(**args)


def build_custom_hook(item):
    """dict(type=..., priority=..., **arguments) -> (hook, priority); priority defaults
    to NORMAL. `type` must name a Hook (checked before anything is called)."""
    args = dict(item)
    kind, priority = args.pop('type', None), args.pop('priority', 'NORMAL')
    hook_cls = lookup(CUSTOM_HOOKS, kind, 'custom_hooks: type', Hook)
    check_args(hook_cls, args, f'custom_hooks: {kind}')
    return hook_cls(**args), priority


def check_priority(priority):
    if isinstance(priority, str) and priority.upper() not in Priority.__members__:
        raise ConfigError(f'priority {priority!r} is not known; '
                          f'valid: {", ".join(Priority.__members__)}')
    if not (isinstance(priority, str) or isinstance(priority, int)
            and not isinstance(priority, bool) and 0 <= priority <= 100):
        raise ConfigError(f'priority must be an int in 0..100 or a Priority name, got {priority!r}')


def check_policy_args(hook_cls, args, policy, field):
    """The policy (or a base of it) takes every argument set, and every one it needs is set."""
    accepted = set()                           # the arguments of the policy and its bases
    for cls in hook_cls.__mro__:
        if cls.__init__ is not object.__init__ and cls is not Hook:
            accepted |= set(inspect.signature(cls.__init__).parameters) - {'self', 'kwargs'}
    bad = sorted(set(args) - accepted)
    if bad:
        raise ConfigError(f'{field}.{bad[0]} is set, but policy {policy!r} does not take it '
                          f'(set {field}.{bad[0]}=None); it takes: {", ".join(sorted(accepted))}')
    needed = [p.name for p in inspect.signature(hook_cls).parameters.values()
              if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [name for name in needed if name not in args]
    if missing:
        raise ConfigError(f'{field} (policy {policy!r}): {field}.{missing[0]} is not set, '
                          'and the policy needs it')


# ---- The base class  (mmcv: runner/hooks/hook.py) ----------------------------------------

class Hook:
    """Base class: every stage is a no-op; a subclass overrides the stages it needs.
    `before_epoch` and friends are fan-outs: overriding `before_epoch` runs it before both
    train and val epochs (mmcv: Hook.before_train_epoch calls self.before_epoch)."""
    stages = ('before_run', 'before_train_epoch', 'before_train_iter', 'after_train_iter',
              'after_train_epoch', 'before_val_epoch', 'before_val_iter', 'after_val_iter',
              'after_val_epoch', 'after_run')
    fan_out = {'before_epoch': ('before_train_epoch', 'before_val_epoch'),
               'after_epoch': ('after_train_epoch', 'after_val_epoch'),
               'before_iter': ('before_train_iter', 'before_val_iter'),
               'after_iter': ('after_train_iter', 'after_val_iter')}

    def before_run(self, runner): pass
    def after_run(self, runner): pass
    def before_epoch(self, runner): pass
    def after_epoch(self, runner): pass
    def before_iter(self, runner): pass
    def after_iter(self, runner): pass
    def before_train_epoch(self, runner): self.before_epoch(runner)
    def before_val_epoch(self, runner): self.before_epoch(runner)
    def after_train_epoch(self, runner): self.after_epoch(runner)
    def after_val_epoch(self, runner): self.after_epoch(runner)
    def before_train_iter(self, runner): self.before_iter(runner)
    def before_val_iter(self, runner): self.before_iter(runner)
    def after_train_iter(self, runner): self.after_iter(runner)
    def after_val_iter(self, runner): self.after_iter(runner)

    # "every n" helpers; epoch/iter are 0-based, so +1 counts the current one.
    def every_n_epochs(self, runner, n): return n > 0 and (runner.epoch + 1) % n == 0
    def every_n_inner_iters(self, runner, n): return n > 0 and (runner.inner_iter + 1) % n == 0
    def every_n_iters(self, runner, n): return n > 0 and (runner.iter + 1) % n == 0
    def end_of_epoch(self, runner): return runner.inner_iter + 1 == len(runner.data_loader)
    def is_last_epoch(self, runner): return runner.epoch + 1 == runner.max_epochs
    def is_last_iter(self, runner): return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self):
        """The stages this hook overrides, directly or through a fan-out, in stage order."""
        def overridden(name):
            return getattr(type(self), name) is not getattr(Hook, name)
        triggered = {s for s in self.stages if overridden(s)}
        for method, stages in self.fan_out.items():
            if overridden(method):
                triggered.update(stages)
        return [s for s in self.stages if s in triggered]


# ---- LR schedule  (mmcv: LrUpdaterHook) --------------------------------------------------

class LrUpdaterHook(Hook):
    """Writes the scheduled `lr` into every param group. Subclasses implement `get_lr`.
        before_run          each group's starting value becomes its base (`initial_lr`)
        before_train_epoch  by_epoch=True:  set this epoch's value
        before_train_iter   by_epoch=False: set this iteration's value; in warmup (either
                            mode), scale the scheduled value down
    The value is a function of (epoch, iter, base), and `initial_lr` is saved in the
    optimizer's state_dict: a resume sets the same value."""
    key = 'lr'                               # the param-group entry this hook schedules

    def __init__(self, by_epoch=True, warmup=None, warmup_iters=0, warmup_ratio=0.1,
                 warmup_by_epoch=False):
        check_warmup(warmup)
        self.by_epoch, self.warmup, self.warmup_ratio = by_epoch, warmup, warmup_ratio
        # warmup_by_epoch: warmup_iters counts epochs, turned into iterations at the first epoch
        self.warmup_epochs = warmup_iters if warmup_by_epoch else None
        self.warmup_iters = None if warmup_by_epoch else warmup_iters
        self.base_values = []                # one per param group
        self.regular_values = []             # the schedule's values without warmup

    def get_lr(self, runner, base_lr):
        raise NotImplementedError

    def get_value(self, runner, base):
        return self.get_lr(runner, base)

    def warmup_factor(self, cur_iter):
        """The fraction of the scheduled value used at warmup iteration `cur_iter`."""
        if self.warmup == 'constant':
            return self.warmup_ratio
        if self.warmup == 'linear':
            return 1 - (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
        return self.warmup_ratio ** (1 - cur_iter / self.warmup_iters)   # 'exp'

    def warmup_values(self, cur_iter):
        return [v * self.warmup_factor(cur_iter) for v in self.regular_values]

    def set_values(self, runner, values):
        for group, value in zip(runner.optimizer.param_groups, values):
            group[self.key] = value

    def before_run(self, runner):
        for group in runner.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
        self.base_values = [group['initial_lr'] for group in runner.optimizer.param_groups]

    def before_train_epoch(self, runner):
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * len(runner.data_loader)
        if self.by_epoch:
            self.regular_values = [self.get_value(runner, b) for b in self.base_values]
            self.set_values(runner, self.regular_values)

    def before_train_iter(self, runner):
        cur_iter = runner.iter
        if not self.by_epoch:
            self.regular_values = [self.get_value(runner, b) for b in self.base_values]
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self.set_values(runner, self.regular_values)
            else:
                self.set_values(runner, self.warmup_values(cur_iter))
        elif self.warmup is not None and cur_iter <= self.warmup_iters:
            # by_epoch: before_train_epoch set the epoch's value; warmup scales it
            self.set_values(runner, self.regular_values if cur_iter == self.warmup_iters
                            else self.warmup_values(cur_iter))


class StepLrUpdaterHook(LrUpdaterHook):
    """lr = base * gamma ** (the number of steps passed); `step` is a period or a list of
    milestones, in epochs (or iterations when by_epoch=False)."""

    def __init__(self, step, gamma=0.1, min_lr=None, **kwargs):
        check_steps(step)
        self.step = list(step) if isinstance(step, (list, tuple)) else step
        self.gamma, self.min_lr = gamma, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        lr = base_lr * self.gamma ** steps_passed(self.step, progress)
        return lr if self.min_lr is None else max(lr, self.min_lr)


def check_warmup(warmup):
    if warmup not in (None, 'constant', 'linear', 'exp'):
        raise ConfigError(f"warmup={warmup!r} is not known; valid: 'constant', 'linear', 'exp'")


def check_steps(step):
    steps = step if isinstance(step, (list, tuple)) else [step]
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in steps):
        raise ConfigError(f'lr_config.step={step!r} is not valid; valid: positive ints')


def steps_passed(step, progress):
    """How many steps of `step` (an int period or a list of milestones) lie behind `progress`."""
    if isinstance(step, int):
        return progress // step
    return next((i for i, s in enumerate(step) if progress < s), len(step))


class FixedLrUpdaterHook(LrUpdaterHook):
    def get_lr(self, runner, base_lr):
        return base_lr


# ---- Backward and step  (mmcv: OptimizerHook) --------------------------------------------

class OptimizerHook(Hook):
    """model.train_step only computes the loss; this hook turns it into an update."""

    def __init__(self, grad_clip=None):
        self.grad_clip = grad_clip          # None or dict(max_norm=..., norm_type=...)

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        self.backward(runner, runner.outputs['loss'])
        self.step(runner)

    def backward(self, runner, loss):
        loss.backward()

    def step(self, runner):
        if self.grad_clip is not None:
            self.clip_grads(runner)
        runner.optimizer.step()

    def clip_grads(self, runner):
        params = [p for p in runner.model.parameters() if p.requires_grad and p.grad is not None]
        if params:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, **self.grad_clip)
            runner.log_buffer.update({'grad_norm': grad_norm.detach()},
                                     runner.outputs['num_samples'])


# ---- Checkpoints and the sampler's epoch  (mmcv: CheckpointHook, DistSamplerSeedHook) ----

class CheckpointHook(Hook):
    """Save `epoch_N.pth` every `interval` epochs (`iter_N.pth` when not by_epoch).
    `max_keep_ckpts > 0` deletes the older periodic checkpoints, never any other file."""

    def __init__(self, interval=-1, by_epoch=True, save_optimizer=True, out_dir=None,
                 max_keep_ckpts=-1, save_last=True, sync_buffer=False):
        self.interval, self.by_epoch, self.save_optimizer = interval, by_epoch, save_optimizer
        self.out_dir, self.max_keep_ckpts, self.save_last = out_dir, max_keep_ckpts, save_last
        self.sync_buffer = sync_buffer        # average BN statistics over processes before saving

    def before_run(self, runner):
        if runner.work_dir is not None:       # the work dir, or out_dir/<work dir's name>
            self.out_dir = checkpoint_dirs(runner.work_dir, self.out_dir)[-1]
        if self.out_dir is None:
            runner.logger.warning('no work_dir and no out_dir: checkpoints are not saved')
            return
        os.makedirs(self.out_dir, exist_ok=True)
        runner.logger.info(f'Checkpoints will be saved to {self.out_dir}.')

    def after_train_epoch(self, runner):
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or (self.save_last and self.is_last_epoch(runner))):
            self._save(runner, f'{runner.epoch + 1} epochs')

    def after_train_iter(self, runner):
        if not self.by_epoch and (self.every_n_iters(runner, self.interval)
                                  or (self.save_last and self.is_last_iter(runner))):
            self._save(runner, f'{runner.iter + 1} iterations')

    def _save(self, runner, when):
        """mmcv's three jobs, one function each: average the buffers, save, delete old files."""
        if self.out_dir is None:
            return
        runner.logger.info(f'Saving checkpoint at {when}')
        self._sync_buffers(runner)
        self._save_checkpoint(runner)
        self._remove_old_checkpoints(runner)

    def _sync_buffers(self, runner):
        """Average the BN statistics over the processes (mmcv: allreduce_params)."""
        if self.sync_buffer and runner.world_size > 1:
            for buffer in unwrap(runner.model).buffers():
                if buffer.is_floating_point():
                    torch.distributed.all_reduce(buffer.div_(runner.world_size))

    def _save_checkpoint(self, runner):
        """epoch_N.pth (iter_N.pth, mid-epoch), written in a thread while training goes on."""
        path = runner.save_checkpoint(self.out_dir, filename_tmpl=self.filename_tmpl,
                                      blocking=False, save_optimizer=self.save_optimizer,
                                      mid_epoch=not self.by_epoch)
        runner.meta.setdefault('hook_msgs', {})['last_ckpt'] = path

    def _remove_old_checkpoints(self, runner):
        """Keep the newest `max_keep_ckpts`: walk back from the oldest one kept."""
        if self.max_keep_ckpts <= 0 or runner.rank != 0:
            return
        runner.wait_for_checkpoint()
        current = runner.epoch + 1 if self.by_epoch else runner.iter + 1
        step = self.interval if self.interval > 0 else 1
        for old in range(current - self.max_keep_ckpts * step, 0, -step):
            old_path = os.path.join(self.out_dir, self.filename_tmpl.format(old))
            if not os.path.exists(old_path):
                break
            os.remove(old_path)

    @property
    def filename_tmpl(self):
        return 'epoch_{}.pth' if self.by_epoch else 'iter_{}.pth'


def checkpoint_dirs(work_dir, out_dir=None):
    """Where a run writes checkpoints: the work dir, and out_dir/<work dir's name> when
    out_dir is set (mmcv's CheckpointHook rule; extras/run/work_dir.py looks in both)."""
    dirs = [work_dir]
    if out_dir and os.path.abspath(out_dir) != os.path.abspath(work_dir):
        name = os.path.basename(os.path.abspath(work_dir))
        dirs.append(os.path.join(out_dir, name))
    return dirs


class DistSamplerSeedHook(Hook):
    """Tell the sampler the epoch (its order and augmentation seeds depend on (seed, epoch)
    only) and the batches a mid-epoch resume skips. Always registered (mmcv: distributed only)."""

    def before_epoch(self, runner):
        sampler = getattr(runner.data_loader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(runner.epoch)
            if runner.mode == 'train':
                sampler.skip_batches = runner.resume_batches


# ---- Timing and logging  (mmcv: IterTimerHook, LoggerHook, TextLoggerHook) ---------------

class IterTimerHook(Hook):
    """`data_time`: waiting for the batch; `time`: the whole iteration."""

    def before_epoch(self, runner):
        self.t = time.time()

    def before_iter(self, runner):
        runner.log_buffer.update({'data_time': time.time() - self.t})

    def after_iter(self, runner):
        runner.log_buffer.update({'time': time.time() - self.t})
        self.t = time.time()


class LoggerHook(Hook):
    """Averages the log buffer every `interval` iterations and hands it to `log()`."""

    def __init__(self, interval=10, ignore_last=True, reset_flag=False, by_epoch=True):
        self.interval, self.ignore_last = interval, ignore_last
        self.reset_flag, self.by_epoch = reset_flag, by_epoch

    def log(self, runner):
        raise NotImplementedError

    def before_run(self, runner):
        # the last logger clears the averages once all have read them
        for hook in reversed(runner.hooks):
            if isinstance(hook, LoggerHook):
                hook.reset_flag = True
                break

    def before_epoch(self, runner):
        runner.log_buffer.clear()

    def after_train_iter(self, runner):
        if self.by_epoch and self.every_n_inner_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.ignore_last and self.end_of_epoch(runner):
            runner.log_buffer.average(self.interval)
        self._log_if_ready(runner)

    def after_train_epoch(self, runner):        # e.g. the EvalHook's results
        self._log_if_ready(runner)

    def after_val_epoch(self, runner):
        runner.log_buffer.average()
        self._log_if_ready(runner)

    def _log_if_ready(self, runner):
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()


class TextLoggerHook(LoggerHook):
    """mmcv-style text lines, and one JSON object per line in `<work_dir>/<timestamp>.log.json`
    (the first is runner.meta): what mmcls's tools/analysis_tools/analyze_logs.py reads."""

    def before_run(self, runner):
        super().before_run(runner)
        self.start_iter, self.time_sec_tot = runner.iter, 0.0
        self.json_log_path = None
        if runner.work_dir is not None and runner.rank == 0:
            self.json_log_path = os.path.join(runner.work_dir, f'{runner.timestamp}.log.json')
            self._dump_log(runner.meta)

    def log(self, runner):
        output = runner.log_buffer.output
        train_line = runner.mode == 'train' and 'time' in output     # else: eval results
        cur_iter = runner.inner_iter + 1 if self.by_epoch else runner.iter + 1
        log_dict = dict(mode='train' if train_line else 'val',
                        epoch=runner.epoch + 1 if runner.mode == 'train' else runner.epoch,
                        iter=output.pop('eval_iter_num', None) or cur_iter)
        log_dict['lr'] = runner.current_lr()[0]
        if train_line and runner.device.type == 'cuda':
            log_dict['memory'] = torch.cuda.max_memory_allocated(runner.device) // (1024 * 1024)
        log_dict.update(output)
        runner.logger.info(self._format(log_dict, runner))
        self._dump_log(log_dict)

    def _format(self, log_dict, runner):
        if log_dict['mode'] == 'train':
            if self.by_epoch:
                where = f'Epoch [{log_dict["epoch"]}][{log_dict["iter"]}/{len(runner.data_loader)}]'
            else:
                where = f'Iter [{log_dict["iter"]}/{runner.max_iters}]'
            # eta from the mean time per iteration since this run (or resume) started
            self.time_sec_tot += log_dict['time'] * self.interval
            sec_per_iter = self.time_sec_tot / (runner.iter - self.start_iter + 1)
            left = runner.max_iters - runner.iter - 1
            eta = datetime.timedelta(seconds=int(sec_per_iter * left))
            line = (f'{where}\tlr: {log_dict["lr"]:.3e}, eta: {eta}, time: {log_dict["time"]:.3f}, '
                    f'data_time: {log_dict["data_time"]:.3f}, ')
            if 'memory' in log_dict:
                line += f'memory: {log_dict["memory"]}, '
        else:
            if self.by_epoch:
                line = f'Epoch({log_dict["mode"]}) [{log_dict["epoch"]}][{log_dict["iter"]}]\t'
            else:
                line = f'Iter({log_dict["mode"]}) [{log_dict["iter"]}]\t'
        skip = ('mode', 'epoch', 'iter', 'lr', 'time', 'data_time', 'memory')
        return line + ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                                for k, v in log_dict.items() if k not in skip)

    def _dump_log(self, log_dict):
        def rounded(v):                       # mmcv rounds floats to 5 decimals
            if isinstance(v, (list, tuple)):
                return [rounded(x) for x in v]
            return round(float(v), 5) if isinstance(v, float) else v
        if self.json_log_path is None:
            return
        try:
            with open_no_follow(self.json_log_path) as f:
                f.write(json.dumps({k: rounded(v) for k, v in log_dict.items()}) + '\n')
        except OSError as e:                 # a full disk: "[Errno 28]" alone names no file
            path = self.json_log_path
            raise OSError(e.errno, f'{path} cannot be written: {e.strerror}') from None

    def after_run(self, runner):
        if self.json_log_path is not None:
            runner.logger.info(f'Logs are in {self.json_log_path} and its .log twin')


# ---- Evaluation  (mmcv: EvalHook; mmcls: apis/test.py single_gpu_test) -------------------

def single_gpu_test(model, data_loader, to_device=None, autocast=None, progress=True):
    """The model's scores for every sample of a loader, one (C,) array each, in the loader's
    order (mmcls: apis/test.py single_gpu_test; its pictures are not drawn here). EvalHook
    passes the runner's `batch_to_device` and `autocast()` (with mixed precision, the
    evaluation runs under the training's autocast, as mmcv's fp16) and the bar on rank 0 only;
    tools/test.py the defaults: the batch's tensors go to the model's device."""
    model = unwrap(model)                    # not through DDP: no sync needed
    model.eval()
    device = next(model.parameters()).device
    results = []
    show = progress and sys.stderr.isatty()  # a bar on a terminal, not in a log file
    with torch.no_grad(), autocast or contextlib.nullcontext():
        for i, batch in enumerate(data_loader):
            batch = to_device(batch) if to_device is not None else {
                k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            results.extend(model(return_loss=False, **batch))
            if show:
                bar = '#' * int(30 * (i + 1) / len(data_loader))
                sys.stderr.write(f'\r[{bar:<30}] {i + 1}/{len(data_loader)}')
    if show:
        sys.stderr.write('\n')
    return results


class EvalHook(Hook):
    """Evaluate every `interval` epochs (from `start`, if given), put the metrics in the log
    buffer, where the logger (VERY_LOW) finds them, and keep `best_<key>_epoch_N.pth` when
    `save_best` is set ('auto': the first metric). train_model registers it at LOW."""
    greater_keys = ('acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc')
    less_keys = ('loss',)

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, save_best=None,
                 rule=None, **eval_kwargs):
        check_dataloader(dataloader)                     # mmcv: a TypeError here too
        check_evaluation(interval=interval, start=start, rule=rule, save_best=save_best,
                         **eval_kwargs)                  # a config's checks (mmcv asserts)
        self.dataloader, self.start = dataloader, start
        self.interval, self.by_epoch = interval, by_epoch
        self.save_best, self.rule = save_best, rule
        self.eval_kwargs = eval_kwargs        # metric=..., metric_options=...
        self.initial_flag = True
        if save_best not in (None, 'auto'):
            self.rule = rule or self._infer_rule(save_best)

    def before_run(self, runner):
        self.out_dir = runner.work_dir
        if self.save_best is not None:
            self.best_ckpt_path = runner.meta.setdefault('hook_msgs', {}).get('best_ckpt')

    # with `start` at or before the first epoch (iteration), evaluate first
    def before_train_epoch(self, runner):
        if (self.by_epoch and self.initial_flag and self.start is not None
                and runner.epoch >= self.start):
            self.after_train_epoch(runner)
        self.initial_flag = False

    def before_train_iter(self, runner):
        if (not self.by_epoch and self.initial_flag and self.start is not None
                and runner.iter >= self.start):
            self.after_train_iter(runner)
        self.initial_flag = False

    def after_train_epoch(self, runner):
        if self.by_epoch and self._should_evaluate(runner):
            self._do_evaluate(runner)

    def after_train_iter(self, runner):
        if not self.by_epoch and self._should_evaluate(runner):
            for hook in runner.hooks:        # flush the train log before the val line
                if isinstance(hook, LoggerHook):
                    hook.after_train_iter(runner)
            runner.log_buffer.clear()
            self._do_evaluate(runner)

    def _should_evaluate(self, runner):
        current = runner.epoch if self.by_epoch else runner.iter
        if self.start is None:
            every_n = self.every_n_epochs if self.by_epoch else self.every_n_iters
            return every_n(runner, self.interval)
        return current + 1 >= self.start and (current + 1 - self.start) % self.interval == 0

    def test(self, runner):
        return single_gpu_test(runner.model, self.dataloader, runner.batch_to_device,
                               runner.autocast(), progress=runner.rank == 0)

    def _do_evaluate(self, runner):
        results = self.test(runner)
        runner.model.train()
        if results is None:                  # a DistEvalHook on a rank other than 0
            return
        metrics = self.dataloader.dataset.evaluate(results, logger=runner.logger,
                                                   **self.eval_kwargs)
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        runner.log_buffer.output.update(metrics)
        runner.log_buffer.ready = True
        if self.save_best is not None and not metrics:     # mmcv warns and skips too
            warnings.warn('the evaluation returned no metrics (an empty dict): save_best is '
                          'skipped this time')
        elif self.save_best is not None:
            if self.save_best == 'auto':
                self.save_best = next(iter(metrics))
                self.rule = self.rule or self._infer_rule(self.save_best)
            self._save_best(runner, metrics[self.save_best])

    def _save_best(self, runner, score):
        unit, at = ('epoch', runner.epoch + 1) if self.by_epoch else ('iter', runner.iter + 1)
        msgs = runner.meta['hook_msgs']
        best = msgs.get('best_score', float('-inf') if self.rule == 'greater' else float('inf'))
        if not (score > best if self.rule == 'greater' else score < best):
            return
        msgs['best_score'] = score
        if self.out_dir is None:               # no work dir: nothing is written
            return
        runner.wait_for_checkpoint()           # the previous best is on disk by now
        if self.best_ckpt_path and self._is_own_best(self.best_ckpt_path):
            os.remove(self.best_ckpt_path)
            runner.logger.info(f'The previous best checkpoint {self.best_ckpt_path} was removed')
        name = f'best_{self.save_best}_{unit}_{at}.pth'
        self.best_ckpt_path = msgs['best_ckpt'] = os.path.join(self.out_dir, name)
        runner.save_checkpoint(self.out_dir, filename_tmpl=name, update_latest=False,
                               blocking=False)
        runner.logger.info(f'Now best checkpoint is saved as {name}.')
        runner.logger.info(f'Best {self.save_best} is {score:0.4f} at {at} {unit}.')

    def _is_own_best(self, path):
        """The path comes from a checkpoint, which anyone may have written: remove only a
        plain `best_*.pth` file of this run's own folder, never a link or anything else."""
        return (os.path.basename(path).startswith('best_') and path.endswith('.pth')
                and os.path.isfile(path) and not os.path.islink(path)
                and os.path.dirname(os.path.realpath(path)) == os.path.realpath(self.out_dir))

    def _infer_rule(self, key):
        """mmcv's order: an exact key first, then a key contained in it; greater before less."""
        k = key.lower()
        greater = [g.lower() for g in self.greater_keys]
        less = [s.lower() for s in self.less_keys]
        for rule, found in (('greater', k in greater), ('less', k in less),
                            ('greater', any(g in k for g in greater)),
                            ('less', any(s in k for s in less))):
            if found:
                return rule
        raise ConfigError(f'cannot infer evaluation.rule for save_best={key!r}; '
                          'set rule to "greater" or "less"')


def check_dataloader(dataloader):
    if not isinstance(dataloader, torch.utils.data.DataLoader):
        raise TypeError('EvalHook: dataloader must be a torch DataLoader, not a '
                        f'{type(dataloader).__name__}')


# ---- The name tables: the names a config gives -> the hooks (extras: "module:Class") -----

# lr_config.policy -> the hook; the policies beyond Fixed and Step are extras
LR_POLICIES = {'Fixed': FixedLrUpdaterHook, 'Step': StepLrUpdaterHook,
               **{name: f'extras.options.lr_policies:{name}LrUpdaterHook'
                  for name in ('Exp', 'Poly', 'Inv', 'CosineAnnealing', 'FlatCosineAnnealing',
                               'CosineRestart', 'LinearAnnealing', 'Cyclic', 'OneCycle',
                               'CosineAnnealingCooldown')}}
MOMENTUM_POLICIES = {name: f'extras.options.momentum:{name}MomentumUpdaterHook'
                     for name in ('Step', 'CosineAnnealing', 'LinearAnnealing', 'Cyclic',
                                  'OneCycle')}
# what each field's policy must be a subclass of (mmcv: LrUpdaterHook, MomentumUpdaterHook)
UPDATER_BASES = {'lr_config': LrUpdaterHook,
                 'momentum_config': 'extras.options.momentum:MomentumUpdaterHook'}
# the hooks build_optimizer_hook picks from; all but OptimizerHook are extras
OPTIMIZER_HOOKS = {'OptimizerHook': OptimizerHook,
                   'Fp16OptimizerHook': 'extras.options.mixed_precision:Fp16OptimizerHook',
                   'GradientCumulativeOptimizerHook':
                       'extras.options.grad_accumulation:GradientCumulativeOptimizerHook',
                   'GradientCumulativeFp16OptimizerHook':
                       'extras.options.mixed_precision:GradientCumulativeFp16OptimizerHook'}
# log_config.hooks: type -> the logger hook
LOGGER_HOOKS = {'TextLoggerHook': TextLoggerHook}
# custom_hooks=[dict(type=..., priority=..., **arguments)]: the optional hooks, by name
# (TraceHook: what train.py's --trace adds)
CUSTOM_HOOKS = {'EMAHook': 'extras.options.ema:EMAHook',
                'EarlyStoppingHook': 'extras.options.early_stopping:EarlyStoppingHook',
                'TraceHook': 'extras.run.trace:TraceHook'}
