"""Early stopping, a custom hook (mmengine: EarlyStoppingHook; mmcv 1.x has none):

    custom_hooks=[dict(type='EarlyStoppingHook', monitor='accuracy_top-1', patience=5, priority=75)]

Its best score and patience count travel in the checkpoint under 'hook_states'.
"""
import math

from hooks import Hook
from config import ConfigError


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
            raise ConfigError(f"EarlyStoppingHook rule must be 'greater' or 'less', got {rule!r}")
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
