"""Checker of exercise 03: the real runner, the real StepLrUpdaterHook, Peek at each priority."""
import pytest

from conftest import run
from config import LrConfig
from hooks import Hook


class Peek(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner):
        self.lrs.append(runner.current_lr()[0])


def recorded(priority, lr_config):
    peek = Peek()
    run([(peek, priority)], epochs=2, n=2, lr_config=lr_config)
    return [round(lr, 10) for lr in peek.lrs]


@pytest.mark.parametrize('priority', ['HIGHEST', 'LOWEST'])
def test_prediction_by_iteration(impl, priority):
    predicted = getattr(impl, f'PREDICTION_{priority}')
    assert predicted is not None, f'write PREDICTION_{priority} first'
    seen = recorded(priority, LrConfig(policy='step', step=[2], by_epoch=False))
    where = ('before StepLrUpdaterHook (VERY_HIGH, 10): it sees the LR the updater set for the previous iteration'
             if priority == 'HIGHEST' else 'after StepLrUpdaterHook (VERY_HIGH, 10): it sees this iteration\'s LR')
    assert predicted == pytest.approx(seen), (
        f'at {priority} Peek recorded {seen}, you predicted {predicted}. In before_train_iter a smaller '
        f'priority number runs first; Peek at {priority} runs {where}')


@pytest.mark.parametrize('priority', ['HIGHEST', 'LOWEST'])
def test_prediction_by_epoch(impl, priority):
    predicted = impl.PREDICTION_BY_EPOCH
    assert predicted is not None, 'write PREDICTION_BY_EPOCH first'
    seen = recorded(priority, LrConfig(policy='step', step=[1]))
    assert predicted == pytest.approx(seen), (
        f'by_epoch=True, Peek at {priority} recorded {seen}, you predicted {predicted}. The updater sets an '
        'epoch-based LR in before_train_epoch, which runs before every before_train_iter of that epoch, '
        'whatever the priorities')
