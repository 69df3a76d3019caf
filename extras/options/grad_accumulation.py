"""Gradient accumulation (mmcv: GradientCumulativeOptimizerHook).

`optimizer_config=OptimizerHookConfig(cumulative_iters=N)`: hooks.py's build_optimizer_hook
picks this hook instead of the OptimizerHook.
"""
import torch

from hooks import OptimizerHook
from config import ConfigError


class GradientCumulativeOptimizerHook(OptimizerHook):
    """Accumulate gradients over `cumulative_iters` iterations, then step: a total batch of
    cumulative_iters x samples_per_gpu on the memory of one batch.

    Each loss is divided by N so the summed gradient is the mean over N batches. The windows
    are absolute: the optimizer steps after iteration i when (i + 1) % N == 0, or at the last
    iteration. When max_iters is not a multiple of N, the last `max_iters % N` iterations
    are divided by that remainder instead. All as mmcv, also after a resume (a resume inside
    a window loses the window's earlier gradients, with mmcv's warning).
    """

    def __init__(self, cumulative_iters=1, **kwargs):
        if not (isinstance(cumulative_iters, int) and cumulative_iters > 0):
            raise ConfigError(f'optimizer_config.cumulative_iters must be a positive int, got {cumulative_iters!r}')
        super().__init__(**kwargs)
        self.cumulative_iters = cumulative_iters

    def before_run(self, runner):
        # mmcv: GradientCumulativeOptimizerHook._init (run at the first after_train_iter there)
        if runner.iter % self.cumulative_iters != 0:
            runner.logger.warning('Resume iter number is not divisible by cumulative_iters in '
                                  'GradientCumulativeOptimizerHook, which means the gradient of some iters '
                                  'is lost and the result may be influenced slightly.')
        if self.cumulative_iters > 1 and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                                             for m in runner.model.modules()):
            runner.logger.warning('GradientCumulativeOptimizerHook may slightly decrease performance if the '
                                  'model has BatchNorm layers.')
        self.divisible_iters = runner.max_iters // self.cumulative_iters * self.cumulative_iters
        self.remainder_iters = runner.max_iters - self.divisible_iters
        self.warned_remainder = False

    def loss_factor(self, runner):
        if runner.iter < self.divisible_iters:
            return self.cumulative_iters
        if not self.warned_remainder:     # mmcv warns on every such iteration
            runner.logger.warning(f'Loss will be divided by {self.remainder_iters} in the last '
                                  f'{self.remainder_iters} iterations because they are not enough for '
                                  f'{self.cumulative_iters} cumulative_iters.')
            self.warned_remainder = True
        return self.remainder_iters

    def after_train_iter(self, runner):
        self.backward(runner, runner.outputs['loss'] / self.loss_factor(runner))
        if self.every_n_iters(runner, self.cumulative_iters) or self.is_last_iter(runner):
            self.step(runner)
            runner.optimizer.zero_grad()
