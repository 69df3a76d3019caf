import pytest

from conftest import run
from hooks import Hook


class Peek(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner):
        self.lrs.append(runner.current_lr()[0])


@pytest.mark.parametrize('by_epoch', [True, False])
def test_half_life(impl, by_epoch):
    peek = Peek()
    run([(impl.HalfLifeLrUpdaterHook(half_life=2, by_epoch=by_epoch), 'VERY_HIGH'), (peek, 'LOWEST')],
        epochs=3, n=2)
    progress = [0, 0, 1, 1, 2, 2] if by_epoch else list(range(6))
    assert peek.lrs == pytest.approx([0.1 * 0.5 ** (p / 2) for p in progress], abs=1e-12)
