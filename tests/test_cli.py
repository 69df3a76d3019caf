"""train.py's cli: only the errors a user can cause end as one line and an exit status (a
ConfigError 2; the runtime failures of USER_ERRORS 1; a stop its own); any other exception,
a ValueError or TypeError included, is a bug and keeps its traceback."""
import pytest

import train
from checkpoint import CheckpointError
from config import ConfigError
from data import DatasetError
from extras.guards import TrainingStopped


@pytest.mark.parametrize('error, status', [(ConfigError('optimizer.lr=-1 is out of range'), 2),
                                           (CheckpointError('x.pth is not a checkpoint'), 1),
                                           (DatasetError('data/cifar10 not found'), 1),
                                           (TrainingStopped('SIGTERM received', 143), 143)])
def test_a_users_error_is_one_line_and_its_status(error, status, monkeypatch, capsys):
    def main(argv):
        raise error
    monkeypatch.setattr(train, 'main', main)
    with pytest.raises(SystemExit) as stop:
        train.cli([])
    err = capsys.readouterr().err
    assert stop.value.code == status and err == f'error: {error}\n'


@pytest.mark.parametrize('error', [ValueError('a bug'), TypeError('another bug')])
def test_a_bug_keeps_its_traceback(error, monkeypatch):
    def main(argv):
        raise error
    monkeypatch.setattr(train, 'main', main)
    with pytest.raises(type(error)) as raised:       # re-raised: Python prints the traceback
        train.cli([])
    assert raised.value is error
