"""EMA of the weights, a custom hook (mmcv: hooks/ema.py):

    custom_hooks=[dict(type='EMAHook', momentum=0.0002, priority='ABOVE_NORMAL')]

It carries state across a resume: `state_dict()` / `load_state_dict()`, which the runner
stores in the checkpoint under 'hook_states'.
"""
import torch

from hooks import Hook
from model import unwrap
from config import ConfigError


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
            raise ConfigError(f'EMAHook momentum must be in (0, 1), got {momentum}')
        if not (isinstance(interval, int) and interval > 0):
            raise ConfigError(f'EMAHook interval must be a positive int, got {interval!r}')
        self.momentum, self.interval, self.warm_up = momentum ** interval, interval, warm_up
        self.ema = None                        # name -> tensor, made in before_run
        self.swapped = False                   # True between after_train_epoch and before_train_epoch

    def before_run(self, runner):
        self.params = dict(unwrap(runner.model).named_parameters())
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
