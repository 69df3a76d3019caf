"""Hooks: the code that runs around the training loop (mmcv 1.x: mmcv/runner/hooks/).

The runner (runner.py) only loops over batches; everything else is a hook. At each of
ten points of the loop the runner calls `call_hook(stage)`, which calls that method on
every hook that defines it, in priority order (a smaller number runs first; equal
priorities keep registration order):

    stage                  who runs there in the default mmcls registration
    before_run             LrUpdater, Checkpoint, Eval, TextLogger
    before_train_epoch     LrUpdater, DistSamplerSeed, IterTimer, Eval, TextLogger
    before_train_iter      LrUpdater, IterTimer, Eval
    after_train_iter       Optimizer (backward + step), Checkpoint, IterTimer, Eval, TextLogger
    after_train_epoch      Checkpoint, Eval, TextLogger
    before/after_val_*     IterTimer, TextLogger
    after_run              TextLogger

    priority   HIGHEST 0 | VERY_HIGH 10 | HIGH 30 | ABOVE_NORMAL 40 | NORMAL 50
               BELOW_NORMAL 60 | LOW 70 | VERY_LOW 90 | LOWEST 100

    hook                  priority      file here          mmcv 1.x
    LrUpdaterHook         VERY_HIGH     lr_updater.py      hooks/lr_updater.py
    MomentumUpdaterHook   HIGH          lr_updater.py      hooks/momentum_updater.py
    OptimizerHook         ABOVE_NORMAL  optimizer_hooks.py hooks/optimizer.py
    CheckpointHook        NORMAL        hooks.py           hooks/checkpoint.py
    DistSamplerSeedHook   NORMAL        hooks.py           hooks/sampler_seed.py (added by train_model)
    IterTimerHook         LOW           hooks.py           hooks/iter_timer.py
    EvalHook              LOW           eval_hooks.py      hooks/evaluation.py (added by train_model)
    TextLoggerHook        VERY_LOW      hooks.py           hooks/logger/text.py

This file holds the base (Priority, Hook) and the hooks every run has; the others
import Hook from here.
A hook receives the runner and reads what it needs from it (runner.epoch, runner.iter,
runner.optimizer, runner.outputs, runner.log_buffer, ...); hook files never import
runner.py.
"""
import datetime
import json
import os
import time
from collections import OrderedDict
from enum import IntEnum

import torch


class Priority(IntEnum):
    """mmcv: mmcv/runner/priority.py. A smaller number runs first."""
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
    if isinstance(priority, str):
        if priority.upper() not in Priority.__members__:
            raise ValueError(f'priority {priority!r} is not known; valid: {", ".join(Priority.__members__)}')
        return Priority[priority.upper()].value
    if isinstance(priority, int) and not isinstance(priority, bool) and 0 <= priority <= 100:
        return int(priority)
    raise ValueError(f'priority must be an int in 0..100 or a Priority name, got {priority!r}')


class Hook:
    """Base class: every stage is a no-op. A subclass overrides the stages it needs.

    `before_epoch` and friends are fan-outs: overriding `before_epoch` runs it before
    both train and val epochs (mmcv: Hook.before_train_epoch calls self.before_epoch).
    """
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

    # Helpers for "every n" decisions; epoch/iter are 0-based, so +1 counts the current one.
    def every_n_epochs(self, runner, n): return n > 0 and (runner.epoch + 1) % n == 0
    def every_n_inner_iters(self, runner, n): return n > 0 and (runner.inner_iter + 1) % n == 0
    def every_n_iters(self, runner, n): return n > 0 and (runner.iter + 1) % n == 0
    def end_of_epoch(self, runner): return runner.inner_iter + 1 == len(runner.data_loader)
    def is_last_epoch(self, runner): return runner.epoch + 1 == runner.max_epochs
    def is_last_iter(self, runner): return runner.iter + 1 == runner.max_iters

    def stage_method(self, stage):
        """The method that runs `stage`. When only a fan-out method is overridden (IterTimerHook's
        before_iter for before_train_iter), that method itself: Hook's stage would just call it."""
        if getattr(type(self), stage) is getattr(Hook, stage):
            return getattr(self, next(m for m, stages in self.fan_out.items() if stage in stages))
        return getattr(self, stage)

    def get_triggered_stages(self):
        """The stages this hook overrides, directly or through a fan-out, in stage order."""
        def overridden(name):
            return getattr(type(self), name) is not getattr(Hook, name)
        triggered = {s for s in self.stages if overridden(s)}
        for method, stages in self.fan_out.items():
            if overridden(method):
                triggered.update(stages)
        return [s for s in self.stages if s in triggered]


class DistSamplerSeedHook(Hook):
    """Tell the sampler which epoch it is, so the shuffle order of epoch e comes from seed + e.
    mmcv registers it only in distributed runs; train_model registers it always, because
    data.py's DefaultSampler is epoch-seeded in one process too (that makes resume exact)."""

    def before_epoch(self, runner):
        sampler = getattr(runner.data_loader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(runner.epoch)


# ---------------------------------------------------------------------------------------
# Checkpoints  (mmcv: CheckpointHook)
# ---------------------------------------------------------------------------------------


class CheckpointHook(Hook):
    """Save `epoch_N.pth` every `interval` epochs (or `iter_N.pth` when not by_epoch).

    `max_keep_ckpts > 0` deletes the older periodic checkpoints, never any other file.
    """

    def __init__(self, interval=-1, by_epoch=True, save_optimizer=True, out_dir=None,
                 max_keep_ckpts=-1, save_last=True, sync_buffer=False):
        self.sync_buffer = sync_buffer        # average BN statistics over processes before saving
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last

    def before_run(self, runner):
        self.out_dir = self.out_dir or runner.work_dir
        runner.logger.info(f'Checkpoints will be saved to {self.out_dir}.')

    def after_train_epoch(self, runner):
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or (self.save_last and self.is_last_epoch(runner))):
            runner.logger.info(f'Saving checkpoint at {runner.epoch + 1} epochs')
            self._save_checkpoint(runner)

    def after_train_iter(self, runner):
        if not self.by_epoch and (self.every_n_iters(runner, self.interval)
                                  or (self.save_last and self.is_last_iter(runner))):
            runner.logger.info(f'Saving checkpoint at {runner.iter + 1} iterations')
            self._save_checkpoint(runner)

    def _save_checkpoint(self, runner):
        if self.sync_buffer and runner.world_size > 1:     # mmcv: allreduce_params(model.buffers())
            for buffer in getattr(runner.model, 'module', runner.model).buffers():
                if buffer.is_floating_point():
                    torch.distributed.all_reduce(buffer.div_(runner.world_size))
        tmpl = 'epoch_{}.pth' if self.by_epoch else 'iter_{}.pth'
        current = runner.epoch + 1 if self.by_epoch else runner.iter + 1
        path = runner.save_checkpoint(self.out_dir, filename_tmpl=tmpl.format(current),
                                      save_optimizer=self.save_optimizer, mid_epoch=not self.by_epoch)
        runner.meta.setdefault('hook_msgs', {})['last_ckpt'] = path
        if self.max_keep_ckpts > 0 and runner.rank == 0:   # walk back from the oldest one we keep
            step = self.interval if self.interval > 0 else 1
            for old in range(current - self.max_keep_ckpts * step, 0, -step):
                old_path = os.path.join(self.out_dir, tmpl.format(old))
                if not os.path.exists(old_path):
                    break
                os.remove(old_path)


# ---------------------------------------------------------------------------------------
# Timing and logging  (mmcv: IterTimerHook, LoggerHook, TextLoggerHook)
# ---------------------------------------------------------------------------------------


class IterTimerHook(Hook):
    """`data_time`: waiting for the batch; `time`: the whole iteration."""

    def before_epoch(self, runner):
        self.t = time.time()

    def before_iter(self, runner):
        runner.log_buffer.update({'data_time': time.time() - self.t})

    def after_iter(self, runner):
        now = time.time()
        runner.log_buffer.update({'time': now - self.t})
        self.t = now


class LoggerHook(Hook):
    """Averages the log buffer every `interval` iterations and hands it to `log()`."""

    def __init__(self, interval=10, ignore_last=True, reset_flag=False, by_epoch=True):
        self.interval = interval
        self.ignore_last = ignore_last        # skip the short last window of an epoch
        self.reset_flag = reset_flag
        self.by_epoch = by_epoch

    def log(self, runner):
        raise NotImplementedError

    def before_run(self, runner):
        # The last logger clears the averaged output once every logger has read it.
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
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_train_epoch(self, runner):
        if runner.log_buffer.ready:           # e.g. the EvalHook's results
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_val_epoch(self, runner):
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()

    def get_mode(self, runner):
        # Eval results logged during a train epoch carry no 'time': they are 'val' lines.
        if runner.mode == 'train':
            return 'train' if 'time' in runner.log_buffer.output else 'val'
        return 'val'

    def get_epoch(self, runner):
        # A val workflow epoch runs after train already did epoch += 1.
        return runner.epoch + 1 if runner.mode == 'train' else runner.epoch

    def get_iter(self, runner, inner_iter=False):
        return runner.inner_iter + 1 if (self.by_epoch and inner_iter) else runner.iter + 1


class TextLoggerHook(LoggerHook):
    """mmcv-style text lines to the logger, and one JSON object per line to
    `<work_dir>/<timestamp>.log.json` (the first line is runner.meta), the format that
    mmcls's tools/analysis_tools/analyze_logs.py reads."""

    def before_run(self, runner):
        super().before_run(runner)
        self.start_iter = runner.iter
        self.time_sec_tot = 0.0
        self.json_log_path = os.path.join(runner.work_dir, f'{runner.timestamp}.log.json')
        self.rank = runner.rank
        if runner.meta is not None:
            self._dump_log(runner.meta)

    def log(self, runner):
        output = runner.log_buffer.output
        cur_iter = output.pop('eval_iter_num') if 'eval_iter_num' in output else self.get_iter(runner, True)
        log_dict = OrderedDict(mode=self.get_mode(runner), epoch=self.get_epoch(runner), iter=cur_iter)
        log_dict['lr'] = runner.current_lr()[0]
        if 'time' in output and runner.device.type == 'cuda':
            log_dict['memory'] = torch.cuda.max_memory_allocated(runner.device) // (1024 * 1024)
        log_dict.update(output)
        self._log_info(log_dict, runner)
        self._dump_log(log_dict)
        return log_dict

    def _log_info(self, log_dict, runner):
        if log_dict['mode'] == 'train':
            if self.by_epoch:
                line = f'Epoch [{log_dict["epoch"]}][{log_dict["iter"]}/{len(runner.data_loader)}]\t'
            else:
                line = f'Iter [{log_dict["iter"]}/{runner.max_iters}]\t'
            line += f'lr: {log_dict["lr"]:.3e}, '
            if 'time' in log_dict:
                # eta from the mean time per iteration since this run (or resume) started
                self.time_sec_tot += log_dict['time'] * self.interval
                sec_per_iter = self.time_sec_tot / (runner.iter - self.start_iter + 1)
                eta = datetime.timedelta(seconds=int(sec_per_iter * (runner.max_iters - runner.iter - 1)))
                line += f'eta: {eta}, time: {log_dict["time"]:.3f}, data_time: {log_dict["data_time"]:.3f}, '
                if 'memory' in log_dict:
                    line += f'memory: {log_dict["memory"]}, '
        elif self.by_epoch:
            line = f'Epoch({log_dict["mode"]}) [{log_dict["epoch"]}][{log_dict["iter"]}]\t'
        else:
            line = f'Iter({log_dict["mode"]}) [{log_dict["iter"]}]\t'
        skip = ('mode', 'epoch', 'iter', 'lr', 'time', 'data_time', 'memory')
        line += ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                          for k, v in log_dict.items() if k not in skip)
        runner.logger.info(line)

    def after_run(self, runner):
        runner.logger.info(f'Logs are in {self.json_log_path} and its .log twin')

    def _dump_log(self, log_dict):
        def rounded(v):                       # mmcv rounds floats to 5 decimals
            if isinstance(v, (list, tuple)):
                return [rounded(x) for x in v]
            return round(float(v), 5) if isinstance(v, float) else v
        if self.rank != 0:
            return
        with open(self.json_log_path, 'a') as f:
            f.write(json.dumps({k: rounded(v) for k, v in log_dict.items()}) + '\n')


# ---------------------------------------------------------------------------------------
# Trace: the flow, as it happens  (python train.py ... --trace)
# ---------------------------------------------------------------------------------------


class TraceHook(Hook):
    """Prints every call_hook of the first `iters` iterations of the first train epoch (and
    of the first val epoch) with the hooks it dispatches to, in order; after that one line
    per epoch. It is itself a hook, at HIGHEST, so it sees each stage before the others;
    it leaves itself out of what it prints. Not registered unless --trace is given."""

    def __init__(self, iters=2):
        self.iters = iters
        self.first_train_epoch = self.val_seen = None
        self.calls = 0

    def _show(self, runner, stage):
        self.calls += 1
        if stage.startswith(('before_train', 'after_train')) and self.first_train_epoch is None:
            self.first_train_epoch = runner.epoch
        if stage.endswith('val_epoch') and stage.startswith('before'):
            self.val_seen = (self.val_seen or 0) + 1
        if stage in ('before_run', 'after_run'):
            show = True
        elif 'val' in stage:
            show = self.val_seen == 1 and ('epoch' in stage or runner.inner_iter < self.iters)
        else:
            show = runner.epoch == self.first_train_epoch and ('epoch' in stage or runner.inner_iter < self.iters)
        if show:
            names = ', '.join(type(h).__name__ for h in runner._stage_hooks[stage] if h is not self) or '-'
            where = ('' if stage.endswith('_run') else f'epoch {runner.epoch + 1}' if 'epoch' in stage
                     else f'epoch {runner.epoch + 1}, iter {runner.inner_iter + 1}')
            runner.logger.info(f'[trace] call_hook({stage!r:21}) {where:20} -> {names}')
        elif stage == 'after_train_epoch':
            runner.logger.info(f'[trace] epoch {runner.epoch + 1}: {runner.inner_iter + 1} iterations, '
                               f'{self.calls} call_hook calls so far')

    def before_run(self, runner): self._show(runner, 'before_run')
    def after_run(self, runner): self._show(runner, 'after_run')
    def before_train_epoch(self, runner): self._show(runner, 'before_train_epoch')
    def after_train_epoch(self, runner): self._show(runner, 'after_train_epoch')
    def before_val_epoch(self, runner): self._show(runner, 'before_val_epoch')
    def after_val_epoch(self, runner): self._show(runner, 'after_val_epoch')
    def before_train_iter(self, runner): self._show(runner, 'before_train_iter')
    def after_train_iter(self, runner): self._show(runner, 'after_train_iter')
    def before_val_iter(self, runner): self._show(runner, 'before_val_iter')
    def after_val_iter(self, runner): self._show(runner, 'after_val_iter')

