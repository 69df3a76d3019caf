"""Wrong answer to exercise 04: accumulates and steps every 2 iterations, but the loss is not
divided: the gradient is the sum of the two losses', twice the mean's."""
from hooks import OptimizerHook


class AccumulateOptimizerHook(OptimizerHook):
    def __init__(self, cumulative_iters=2):
        super().__init__()
        self.cumulative_iters = cumulative_iters

    def after_train_iter(self, runner):
        runner.outputs['loss'].backward()
        if self.every_n_iters(runner, self.cumulative_iters):
            runner.optimizer.step()
            runner.optimizer.zero_grad()
