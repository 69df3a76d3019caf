"""Hooks you add with `custom_hooks` in a config (mmcv: register_custom_hooks):

    custom_hooks=[dict(type='EMAHook', momentum=0.0002, priority='ABOVE_NORMAL'),
                  dict(type='EarlyStoppingHook', monitor='accuracy_top-1', patience=5, priority=75)]

`priority` defaults to NORMAL, as in mmcv. Hooks that carry state across a resume (the EMA
weights, the patience count) implement `state_dict()` / `load_state_dict()`; the runner
stores it in the checkpoint under 'hook_states'.
"""
import math

import torch

from hooks import Hook


class EMAHook(Hook):
    """Exponential moving average of the weights (mmcv: EMAHook).

    Every `interval` iterations: ema = (1 - m) * ema + m * weights, with
    m = min(momentum, (1 + iter) / (warm_up + iter)), mmcv's formula. At the end of each
    epoch the EMA weights are swapped into the model, so that the checkpoint (at NORMAL)
    and the evaluation (at LOW) see them; at the start of the next epoch they are swapped
    back. Register it at ABOVE_NORMAL (as mmcls's configs do) so the swap comes first.
    mmcv keeps the EMA as model buffers named `ema_*`; here it is the hook's own state, so
    checkpoints keep mmcls's state_dict keys.
    """

    def __init__(self, momentum=0.0002, interval=1, warm_up=100):
        if not 0 < momentum < 1:
            raise ValueError(f'EMAHook momentum must be in (0, 1), got {momentum}')
        if not (isinstance(interval, int) and interval > 0):
            raise ValueError(f'EMAHook interval must be a positive int, got {interval!r}')
        self.momentum, self.interval, self.warm_up = momentum ** interval, interval, warm_up
        self.ema = None                        # name -> tensor, made in before_run
        self.swapped = False                   # True between after_train_epoch and before_train_epoch

    def before_run(self, runner):
        self.params = dict(getattr(runner.model, 'module', runner.model).named_parameters())
        if self.ema is None:                   # not restored by a resume
            self.ema = {name: p.detach().clone() for name, p in self.params.items()}
        else:                                  # restored on the CPU: follow the weights
            self.ema = {name: t.to(self.params[name].device) for name, t in self.ema.items()}

    def after_train_iter(self, runner):
        step = runner.iter
        m = min(self.momentum, (1 + step) / (self.warm_up + step))
        if step % self.interval:
            return
        with torch.no_grad():
            for name, p in self.params.items():
                self.ema[name].mul_(1 - m).add_(p, alpha=m)

    def after_train_epoch(self, runner):
        self._swap()

    def before_train_epoch(self, runner):
        if self.swapped:
            self._swap()

    def _swap(self):
        with torch.no_grad():
            for name, p in self.params.items():
                tmp = p.detach().clone()
                p.copy_(self.ema[name])
                self.ema[name].copy_(tmp)
        self.swapped = not self.swapped

    def state_dict(self):
        return {'ema': {k: v.cpu() for k, v in self.ema.items()}, 'swapped': self.swapped}

    def load_state_dict(self, state):
        self.ema, self.swapped = dict(state['ema']), state['swapped']


class EarlyStoppingHook(Hook):
    """Stop training when `monitor` (a metric of the EvalHook, e.g. 'accuracy_top-1') has not
    improved by more than `min_delta` for `patience` evaluations (mmengine: EarlyStoppingHook;
    mmcv 1.x has none). It reads the metric from the log buffer right after the EvalHook
    wrote it, so it must run after LOW (EvalHook) and before VERY_LOW (the logger clears
    the buffer): give it priority 75 (the default in custom_hooks is NORMAL)."""

    def __init__(self, monitor, rule=None, min_delta=0.1, patience=5, check_finite=True):
        if rule is None:
            rule = 'less' if 'loss' in monitor.lower() else 'greater'
        if rule not in ('greater', 'less'):
            raise ValueError(f"EarlyStoppingHook rule must be 'greater' or 'less', got {rule!r}")
        self.monitor, self.rule, self.min_delta = monitor, rule, min_delta
        self.patience, self.check_finite = patience, check_finite
        self.best, self.wait = None, 0

    def after_train_epoch(self, runner):
        if self.monitor not in runner.log_buffer.output:
            return                              # no evaluation this epoch
        score = float(runner.log_buffer.output[self.monitor])
        if self.check_finite and not math.isfinite(score):
            runner.should_stop = True
            runner.logger.warning(f'early stopping: {self.monitor} is {score}')
            return
        better = (self.best is None or (score > self.best + self.min_delta if self.rule == 'greater'
                                        else score < self.best - self.min_delta))
        if better:
            self.best, self.wait = score, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            runner.should_stop = True
            runner.logger.info(f'early stopping: {self.monitor} has not improved on {self.best:.4f} '
                               f'for {self.wait} evaluations')

    def state_dict(self):
        return {'best': self.best, 'wait': self.wait}

    def load_state_dict(self, state):
        self.best, self.wait = state['best'], state['wait']


CUSTOM_HOOKS = {'EMAHook': EMAHook, 'EarlyStoppingHook': EarlyStoppingHook}


def build_custom_hook(item):
    """dict(type=..., priority=..., **arguments) -> (hook, priority); priority defaults to NORMAL."""
    args = dict(item)
    kind, priority = args.pop('type', None), args.pop('priority', 'NORMAL')
    if kind not in CUSTOM_HOOKS:
        raise ValueError(f'custom_hooks: type={kind!r} is not known; valid: {", ".join(CUSTOM_HOOKS)}')
    try:
        return CUSTOM_HOOKS[kind](**args), priority
    except TypeError as e:
        raise ValueError(f'custom_hooks: {kind}: {e}') from None

