"""Exercise 04: gradient accumulation.

Complete `AccumulateOptimizerHook.after_train_iter` so that a run with batch 1 and
`cumulative_iters=2` updates the weights exactly like a run with batch 2 (SGD with
momentum and weight decay; the number of iterations is a multiple of cumulative_iters
here). Hints: the loss is a mean over the batch; backward() adds to .grad; when must
zero_grad() happen, and how many optimizer steps does the batch-2 run make?

Read first: hooks.py (OptimizerHook), extras/options/grad_accumulation.py (the full version, with
the tail of a run and resume). Check: python -m pytest -q exercises/04_grad_accumulation
"""
from hooks import OptimizerHook


class AccumulateOptimizerHook(OptimizerHook):
    def __init__(self, cumulative_iters=2):
        super().__init__()
        self.cumulative_iters = cumulative_iters

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        runner.outputs['loss'].backward()
        runner.optimizer.step()
