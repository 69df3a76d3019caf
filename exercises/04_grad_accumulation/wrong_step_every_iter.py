"""Wrong answer to exercise 04: divides the loss but still steps every iteration (twice as
many steps, each on half a gradient: not the same with momentum and weight decay)."""
from hooks import OptimizerHook


class AccumulateOptimizerHook(OptimizerHook):
    def __init__(self, cumulative_iters=2):
        super().__init__()
        self.cumulative_iters = cumulative_iters

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        (runner.outputs['loss'] / self.cumulative_iters).backward()
        runner.optimizer.step()
