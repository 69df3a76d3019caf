import pytest

from conftest import run
from config import LrConfig
from hooks import Hook


class Peek(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner):
        self.lrs.append(runner.current_lr()[0])


@pytest.mark.parametrize('priority', ['HIGHEST', 'LOWEST'])
def test_prediction(impl, priority):
    peek = Peek()
    run([(peek, priority)], epochs=2, n=2, lr_config=LrConfig(policy='step', step=[2], by_epoch=False))
    predicted = getattr(impl, f'PREDICTION_{priority}')
    assert predicted is not None, 'write your prediction first'
    assert predicted == pytest.approx(peek.lrs)
