"""Checker of exercise 01: a real run (TinyModel, 3 iterations); the logged grad_norm must be
the norm of this iteration's gradients, the ones OptimizerHook's backward() just made."""
import pytest
import torch

from conftest import run
from hooks import Hook, get_priority


class Reference(Hook):
    """At LOWEST: after every other hook, the gradients of this iteration are there."""

    def __init__(self):
        self.norms, self.param_norms, self.sums = [], [], []

    def after_train_iter(self, runner):
        params = list(runner.model.parameters())
        self.norms.append(float(torch.cat([p.grad.flatten() for p in params]).norm()))
        self.sums.append(sum(float(p.grad.norm()) for p in params))
        self.param_norms.append(float(torch.cat([p.detach().flatten() for p in params]).norm()))


def close(a, b):
    return len(a) == len(b) and all(abs(x - y) <= 1e-6 * max(1.0, abs(y)) for x, y in zip(a, b))


def test_grad_norm_is_logged_every_iteration(impl):
    ref = Reference()
    try:
        runner = run([(impl.GradNormHook(), impl.PRIORITY), (ref, 'LOWEST')], epochs=1, n=3)
    except NotImplementedError:
        pytest.fail('GradNormHook.after_train_iter is not written yet', pytrace=False)
    logged = runner.log_buffer.val_history.get('grad_norm')
    assert logged, "nothing was logged under 'grad_norm': runner.log_buffer.update({'grad_norm': ...}, n)"
    logged = [float(v) for v in logged]
    assert len(logged) == 3, f'{len(logged)} grad_norm values for 3 iterations: log one per iteration'
    if close(logged, ref.norms):
        return
    priority = get_priority(impl.PRIORITY)
    if priority < get_priority('ABOVE_NORMAL') or close(logged[1:], ref.norms[:-1]):
        pytest.fail(f'PRIORITY={impl.PRIORITY!r} ({priority}) runs before OptimizerHook (ABOVE_NORMAL, 40) in '
                    f"after_train_iter, so your hook sees last iteration's gradients (none at the first): "
                    f'you logged {logged}, this iteration\'s gradients have norms {ref.norms}', pytrace=False)
    if close(logged, ref.sums):
        pytest.fail(f'you logged the sum of the per-parameter norms {logged}; the norm of all gradients '
                    f'(one vector of every element) is {ref.norms}: sqrt(sum of squares), not a sum of norms',
                    pytrace=False)
    if close(logged, ref.param_norms):
        pytest.fail(f'you logged the norm of the weights {logged}; the gradients are p.grad, norm {ref.norms}',
                    pytrace=False)
    pytest.fail(f'you logged {logged}; the norm of all gradients is {ref.norms}', pytrace=False)
