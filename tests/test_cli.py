"""train.py's cli: only the errors a user can cause end as one line and an exit status (a
ConfigError 2; the runtime failures of USER_ERRORS 1; a stop its own); any other exception,
a ValueError or TypeError included, is a bug and keeps its traceback."""
import pytest

import train
from checkpoint import CheckpointError
from config import ConfigError
from data import DatasetError
from extras.run.guards import TrainingStopped


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


# ---- Where stdout goes, and a signal sent twice -------------------------------------------
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import procs  # noqa: E402
from extras.run.guards import StopSignalHook  # noqa: E402
from test_work_dir import cli, config  # noqa: E402,F401  (fixtures: a tiny run in this process)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def demo_data(config):
    """The tiny config's data, written here once, so that the runs below only train."""
    from config import load_config
    from data import build_dataset
    build_dataset(load_config(config).data.train)


@pytest.mark.parametrize('stdout', ['>&-', '| head -1'])
def test_training_does_not_care_where_stdout_goes(stdout, config, demo_data, tmp_path):
    """stdout closed, or a pipe whose reader left after one line (the process and its stdout
    are the point): the run ends 0, stderr holds no traceback and no 'Logging error', the .log
    holds every line."""
    command = (f'{sys.executable} {ROOT}/train.py --config {config} --work-dir w2 --no-validate '
               f'--cfg-options total_epochs=1 {stdout}; echo "status $?" >&2')
    if stdout.startswith('|'):
        command = (f'set -o pipefail; {sys.executable} {ROOT}/train.py --config {config} '
                   '--work-dir w2 --no-validate --cfg-options total_epochs=1 2>err.txt | head -1 '
                   '>/dev/null; echo "status ${PIPESTATUS[0]}" >>err.txt; cat err.txt >&2')
    r = procs.run(['bash', '-c', command], cwd=tmp_path, timeout=300)
    assert r.stderr.strip() == 'status 0', r.stderr[-3000:]
    log = next((tmp_path / 'w2').glob('*.log')).read_text()
    assert 'Epoch [1][4/4]' in log and 'Saving checkpoint at 1 epochs' in log


def test_a_signal_sent_twice_is_named_and_exits_with_its_status(cli, monkeypatch):
    class TwiceAt(StopSignalHook):
        def after_train_iter(self, runner):
            if runner.iter == 1:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)      # the second: stop at once
            super().after_train_iter(runner)
    monkeypatch.setattr(train, 'StopSignalHook', TwiceAt)
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=1')
    assert code == 128 + signal.SIGTERM == 143
    assert err.strip().splitlines()[-1] == ('error: interrupted (SIGTERM received twice); '
                                            'nothing was saved after the last checkpoint')
