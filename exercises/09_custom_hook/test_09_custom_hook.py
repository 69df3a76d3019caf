"""Checker of exercise 09: a real run whose custom_hooks are your CUSTOM_HOOKS (built by the
runner with build_custom_hook); best_loss.pth must hold the weights that measured the
lowest loss, which a reference hook at HIGHEST records before any update."""
import pytest
import torch

from conftest import run
from hooks import Hook


class Reference(Hook):
    """At HIGHEST in after_train_iter: the loss, and the weights that produced it."""

    def __init__(self):
        self.losses, self.weights = [], []

    def after_train_iter(self, runner):
        self.losses.append(float(runner.outputs['loss'].detach()))
        self.weights.append({k: v.detach().clone() for k, v in runner.model.state_dict().items()})


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_best_loss_weights_are_saved(impl, tmp_path):
    ref = Reference()
    try:
        runner = run([(ref, 'HIGHEST')], epochs=3, n=5, custom_hooks=impl.CUSTOM_HOOKS, work_dir=tmp_path)
    except ValueError as e:
        pytest.fail(f'the runner could not build CUSTOM_HOOKS: {e}\nA hook that is not in hooks.CUSTOM_HOOKS is named '
                    "by 'module:Class': 'ex09_custom_hook:BestLossHook'", pytrace=False)
    path = tmp_path / 'best_loss.pth'
    assert path.exists(), 'no best_loss.pth in the work dir after the run: torch.save it to runner.work_dir'
    saved = torch.load(path, weights_only=True)
    best = min(range(len(ref.losses)), key=ref.losses.__getitem__)
    assert saved['meta']['best_loss'] == pytest.approx(ref.losses[best], rel=1e-6), (
        f"meta best_loss is {saved['meta']['best_loss']}, the lowest loss of the run was {ref.losses[best]}")
    assert saved['meta']['iter'] == best + 1, f"meta iter is {saved['meta']['iter']}, the best loss was at {best + 1}"
    weights = saved['state_dict']
    if same(weights, ref.weights[best]):
        return
    final = runner.model.state_dict()
    after_update = ref.weights[best + 1] if best + 1 < len(ref.weights) else final
    priorities = [item.get('priority', 'NORMAL') for item in impl.CUSTOM_HOOKS]
    if same(weights, after_update):
        pytest.fail(f'best_loss.pth holds the weights AFTER the update of iteration {best + 1}, not the ones that '
                    f'measured its loss: your hook (priority {priorities[0]}) runs after OptimizerHook (ABOVE_NORMAL, '
                    '40) in after_train_iter. Register it before: a priority under 40', pytrace=False)
    if same(weights, final):
        pytest.fail('best_loss.pth holds the final weights of the run: state_dict() returns the model\'s own tensors, '
                    'which the optimizer changes in place afterwards. Keep copies (v.detach().clone())', pytrace=False)
    pytest.fail(f'best_loss.pth does not hold the weights of iteration {best + 1} (loss {ref.losses[best]:.5f})',
                pytrace=False)
