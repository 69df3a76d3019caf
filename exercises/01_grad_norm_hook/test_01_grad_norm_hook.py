import pytest
import torch

from conftest import run
from hooks import Hook


class Reference(Hook):
    def __init__(self):
        self.norms = []

    def after_train_iter(self, runner):
        self.norms.append(float(torch.cat([p.grad.flatten() for p in runner.model.parameters()]).norm()))


def test_grad_norm_is_logged_every_iteration(impl):
    ref = Reference()
    runner = run([(impl.GradNormHook(), impl.PRIORITY), (ref, 'LOWEST')], epochs=1, n=3)
    logged = runner.log_buffer.val_history['grad_norm']
    assert len(logged) == 3
    assert [float(v) for v in logged] == pytest.approx(ref.norms, rel=1e-6)
