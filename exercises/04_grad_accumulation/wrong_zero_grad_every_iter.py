"""Wrong answer to exercise 04: zero_grad() before every backward, so only the last
iteration's gradient survives to the step."""
from hooks import OptimizerHook


class AccumulateOptimizerHook(OptimizerHook):
    def __init__(self, cumulative_iters=2):
        super().__init__()
        self.cumulative_iters = cumulative_iters

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        (runner.outputs['loss'] / self.cumulative_iters).backward()
        if self.every_n_iters(runner, self.cumulative_iters):
            runner.optimizer.step()
