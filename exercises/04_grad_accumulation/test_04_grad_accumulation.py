"""Checker of exercise 04: two real runs on the same 8 samples, batch 2 with the standard
OptimizerHook and batch 1 with yours; the weights must match after every update."""
import pytest
import torch

from conftest import run
from config import OptimizerConfig
from hooks import Hook

SGD = OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.01)


class Steps(Hook):
    """At LOWEST: how many times the weights changed, and a copy after each change."""

    def __init__(self):
        self.before, self.weights, self.initial = None, [], None

    def before_train_iter(self, runner):
        self.before = [p.detach().clone() for p in runner.model.parameters()]
        if self.initial is None:
            self.initial = self.before

    def after_train_iter(self, runner):
        now = [p.detach().clone() for p in runner.model.parameters()]
        if any(not torch.equal(a, b) for a, b in zip(self.before, now)):
            self.weights.append(now)


def distance(a, b):
    return float(sum(((x - y) ** 2).sum() for x, y in zip(a, b)) ** 0.5)


def test_batch_1_x_2_equals_batch_2(impl):
    big, acc = Steps(), Steps()
    run([(big, 'LOWEST')], epochs=1, n=8, batch_size=2, optimizer_config=SGD)
    run([(impl.AccumulateOptimizerHook(2), 'ABOVE_NORMAL'), (acc, 'LOWEST')], epochs=1, n=8, batch_size=1,
        optimizer_config=SGD, optimizer_hook=False)
    assert len(acc.weights) == len(big.weights), (
        f'your hook changed the weights {len(acc.weights)} times in 8 iterations; batch 2 steps '
        f'{len(big.weights)} times: step once every cumulative_iters iterations')
    for n, (a, b) in enumerate(zip(acc.weights, big.weights), 1):
        if all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b)):
            continue
        ratio = distance(acc.weights[0], acc.initial) / distance(big.weights[0], big.initial)
        why = (f'your first update is {ratio:.2f}x the batch-2 one: the gradient of a batch of 2 is the MEAN of '
               'its two losses\' gradients, so divide each loss by cumulative_iters' if abs(ratio - 2) < 0.2 else
               'is the gradient at the step the sum of the cumulative_iters iterations\' gradients (zero_grad only '
               'after the step, so that backward() adds them up), each loss divided by cumulative_iters?')
        pytest.fail(f'after update {n} the weights differ from the batch-2 run; {why}', pytrace=False)
