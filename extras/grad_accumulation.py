"""Gradient accumulation (mmcv: GradientCumulativeOptimizerHook).

`optimizer_config=OptimizerHookConfig(cumulative_iters=N)`: hooks.py's build_optimizer_hook
picks this hook instead of the OptimizerHook.
"""
import torch

from hooks import OptimizerHook


class GradientCumulativeOptimizerHook(OptimizerHook):
    """Accumulate gradients over `cumulative_iters` iterations, then step: a total batch of
    cumulative_iters x samples_per_gpu on the memory of one batch.

    Each loss is divided by N so the summed gradient is the mean over N batches. At the
    end of the run fewer than N iterations may remain; their losses are divided by that
    remainder instead (mmcv's rule). mmcv counts the remainder from the absolute
    iteration number, which is wrong after a resume; we count from where the run starts.
    """

    def __init__(self, cumulative_iters=1, **kwargs):
        if not (isinstance(cumulative_iters, int) and cumulative_iters > 0):
            raise ValueError(f'optimizer_config.cumulative_iters must be a positive int, got {cumulative_iters!r}')
        super().__init__(**kwargs)
        self.cumulative_iters = cumulative_iters

    def before_run(self, runner):
        if runner.iter % self.cumulative_iters:
            runner.logger.warning(f'resuming at iter {runner.iter}, which is not a multiple of cumulative_iters='
                                  f'{self.cumulative_iters}: the gradients of the partial window are lost')
        if self.cumulative_iters > 1 and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                                             for m in runner.model.modules()):
            runner.logger.warning('gradient accumulation with BatchNorm: BN statistics still see one batch')
        remaining = runner.max_iters - runner.iter
        self.divisible_until = runner.iter + remaining // self.cumulative_iters * self.cumulative_iters
        self.remainder = remaining % self.cumulative_iters

    def after_train_iter(self, runner):
        factor = self.cumulative_iters if runner.iter < self.divisible_until else self.remainder
        self.backward(runner, runner.outputs['loss'] / factor)
        if self.every_n_iters(runner, self.cumulative_iters) or self.is_last_iter(runner):
            self.step(runner)
            runner.optimizer.zero_grad()
