"""Exercise 04: gradient accumulation.

Complete `AccumulateOptimizerHook.after_train_iter` so that a run with batch 1 and
`cumulative_iters=2` updates the weights exactly like a run with batch 2 (the number of
iterations is a multiple of cumulative_iters here; optimizer_hooks.py shows the full
version, with the tail of the run). Hints: the loss is a mean over the batch; backward()
adds to .grad; when must zero_grad() happen?
"""
from optimizer_hooks import OptimizerHook


class AccumulateOptimizerHook(OptimizerHook):
    def __init__(self, cumulative_iters=2):
        super().__init__()
        self.cumulative_iters = cumulative_iters

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        runner.outputs['loss'].backward()
        runner.optimizer.step()
