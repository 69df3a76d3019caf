"""What an unlucky or careless user can break: the work dir, the console, the logs. Each test
plants the input and checks the exit status, the one line and that nothing was lost. The
one-line refusals of bad values are in test_bad_input.py's table."""
import ast
import json
import os
import sys
import time
from collections import OrderedDict

import pytest
import torch

import checkpoint
import procs
import train
from extras.run import logger
from config import config_to_json
from runner import EpochBasedRunner, build_optimizer
from test_work_dir import cli, config  # noqa: F401  (fixtures)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def names(folder):
    return sorted(os.listdir(folder))


def test_a_resume_that_moves_checkpoints_aside_rewrites_the_pointer_first(cli, tmp_path):
    assert cli('--no-validate')[0] == 0                               # epoch_1..3.pth
    work = tmp_path / 'w'
    assert (work / 'last_checkpoint').read_text() == 'epoch_3.pth'
    # ends right after the claim moved epoch_2/3 aside (as a kill there would)
    code, out, err = cli('--resume', 'w/epoch_1.pth', '--cfg-options', 'total_epochs=1')
    assert code == 2 and 'nothing is left to train' in err
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'   # names a file that is there
    aside = [f for f in names(work) if f.startswith('superseded_')]
    assert len(aside) == 1 and names(work / aside[0]) == ['epoch_2.pth', 'epoch_3.pth']
    code, out, err = cli('--resume', 'auto', '--no-validate')
    assert code == 0 and 'resuming from w/epoch_1.pth' in out, err


def test_a_resume_from_elsewhere_that_moves_every_checkpoint_removes_the_pointer(cli, tmp_path):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    os.rename(tmp_path / 'w' / 'epoch_1.pth', tmp_path / 'start.pth')
    assert cli('--no-validate', '--work-dir', 'w2', '--cfg-options', 'total_epochs=2',
               'checkpoint_config.interval=2')[0] == 0                 # epoch_2.pth only
    code, out, err = cli('--work-dir', 'w2', '--resume', 'start.pth', '--cfg-options', 'total_epochs=1')
    assert code == 2 and not (tmp_path / 'w2' / 'last_checkpoint').exists()
    assert not any(f.endswith('.pth') for f in names(tmp_path / 'w2'))


def test_resume_auto_on_a_finished_run_exits_0_with_one_line(cli, tmp_path):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=2')[0] == 0
    before = names(tmp_path / 'w')
    code, out, err = cli('--resume', 'auto', '--cfg-options', 'total_epochs=2')
    assert code == 0 and err == ''
    assert out.strip().splitlines() == [
        'w/epoch_2.pth is at epoch 2 of 2: the run is finished, nothing to do']
    assert names(tmp_path / 'w') == before                          # no new log, no file moved
    code, out, err = cli('--resume', 'w/epoch_2.pth', '--cfg-options', 'total_epochs=2')
    assert code == 2 and 'nothing is left to train' in err          # explicit: still an error


def test_two_runs_in_the_same_second_keep_their_own_files(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(time, 'strftime', lambda fmt, t=None: '20260101_120000')
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    first = (tmp_path / 'w' / '20260101_120000.log').read_text()
    assert cli('--no-validate', '--resume', 'auto', '--cfg-options', 'total_epochs=2')[0] == 0
    work = tmp_path / 'w'
    assert (work / '20260101_120000.log').read_text() == first      # not appended to
    for end in ('.log', '.log.json', '_config.json'):
        assert (work / f'20260101_120000{end}').exists() and (work / f'20260101_120000_2{end}').exists()


def test_the_work_dir_is_resolved_once(cli, tmp_path):
    (tmp_path / 'real' / 'deep').mkdir(parents=True)
    os.symlink(tmp_path / 'real' / 'deep', tmp_path / 'links')
    # 'links/..' is real/, not tmp_path: the lock, the log, the config and the checkpoints
    assert cli('--no-validate', '--work-dir', 'links/../w', '--cfg-options', 'total_epochs=1')[0] == 0
    files = names(tmp_path / 'real' / 'w')
    assert '.lock' in files and 'epoch_1.pth' in files
    assert any(f.endswith('.log') for f in files) and any(f.endswith('_config.json') for f in files)
    assert not (tmp_path / 'w').exists()


def test_a_work_dir_that_is_not_utf8_runs_and_resumes(config, tmp_path):
    name = os.fsdecode(b'w\xff')
    for epochs, extra in ((1, []), (2, ['--resume', 'auto'])):
        args = [sys.executable, os.path.join(ROOT, 'train.py'), '--config', config, '--no-validate',
                '--work-dir', name, '--cfg-options', f'total_epochs={epochs}', *extra]
        r = procs.run(args, cwd=tmp_path, timeout=300, env=dict(os.environ, PYTHONIOENCODING='utf-8'))
        assert r.returncode == 0 and 'Logging error' not in r.stderr, r.stderr[-2000:]
        assert 'Traceback' not in r.stderr
    assert 'resumed epoch 1' in r.stdout and os.path.exists(tmp_path / name / 'epoch_2.pth')


class Versioned(torch.nn.Module):
    """A module at _version 2 whose loading converts version-1 weights (x -> 2x): loading
    its own checkpoint must see version 2, or it doubles the weights."""
    _version = 2

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
        if local_metadata.get('version', 1) < 2:
            state_dict[prefix + 'w'] = state_dict[prefix + 'w'] * 2
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)


def test_a_checkpoint_keeps_the_module_versions(tmp_path):
    model = torch.nn.Sequential(Versioned())
    runner = EpochBasedRunner(model, build_optimizer(model, train.load_config('config.py').optimizer),
                              work_dir=str(tmp_path), logger=train.logger)
    runner.save_checkpoint(str(tmp_path), 'v.pth')
    fresh = torch.nn.Sequential(Versioned())
    checkpoint.load_checkpoint(fresh, str(tmp_path / 'v.pth'))
    assert torch.equal(fresh[0].w, torch.ones(3))
    runner2 = EpochBasedRunner(fresh, build_optimizer(fresh, train.load_config('config.py').optimizer),
                               logger=train.logger)
    runner2.resume(str(tmp_path / 'v.pth'))
    assert torch.equal(fresh[0].w, torch.ones(3))
    plain = OrderedDict((k, v) for k, v in torch.load(tmp_path / 'v.pth')['state_dict'].items())
    converted = torch.nn.Sequential(Versioned())          # a state_dict without versions: v1
    converted.load_state_dict(plain)
    assert torch.equal(converted[0].w, 2 * torch.ones(3))


def test_api_misuse_gets_mmcvs_error_or_a_clear_one(tmp_path):
    model = torch.nn.Linear(2, 2)
    runner = EpochBasedRunner(model, optimizer=None, work_dir=str(tmp_path), logger=train.logger)
    path = runner.save_checkpoint(str(tmp_path), 'noopt.pth')       # mmcv leaves the optimizer out
    assert 'optimizer' not in torch.load(path, weights_only=True)
    with pytest.raises(TypeError, match='build_optimizer takes an OptimizerConfig .*not a list'):
        build_optimizer(model, [dict(type='SGD', lr=0.1)])


@pytest.mark.parametrize('error, words', [
    (RuntimeError('[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can\'t allocate '
                  'memory: you tried to allocate 85899345920 bytes. Error code 12'),
     'out of memory: lower data.samples_per_gpu'),
    (torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB'),
     'out of memory: lower data.samples_per_gpu'),
    (RuntimeError('Too many open files. Communication with the workers is no longer possible. '
                  'Please increase the limit using `ulimit -n` in the shell'),
     'too many open files for the loader workers'),
    (OSError(24, 'Too many open files'), 'lower data.workers_per_gpu')])
def test_resource_exhaustion_is_one_line_that_names_the_field(cli, tmp_path, monkeypatch, error, words):
    """The allocator's and the DataLoader's own messages, raised where they arise: in the step."""
    import model

    def step(self, data, optimizer=None):
        raise error
    monkeypatch.setattr(model.ImageClassifier, 'train_step', step)
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=1')
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and words in lines[0] and 'Traceback' not in err, err


def test_a_full_disk_under_the_log_stops_with_the_path(cli, tmp_path, monkeypatch):
    real = logger.open_no_follow

    def full(path):                              # /dev/full: every write is ENOSPC
        return open('/dev/full', 'a') if path.endswith('.log') else real(path)
    monkeypatch.setattr(logger, 'open_no_follow', full)
    code, out, err = cli('--no-validate', '--cfg-options', 'total_epochs=1')
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and 'Logging error' not in err, err
    assert '.log cannot be written: No space left on device' in lines[0]


# ---- checkpoints both ways with mmcls 0.x --------------------------------------------------

def mmcls_layout(ckpt):
    """A minicls checkpoint rewritten in the layout mmcv 1.7.2's save_checkpoint and mmcls
    0.25's tools/train.py write: meta with mmcv_version, mmcls_version, the config text,
    CLASSES, epoch, iter; state_dict; optimizer; nothing else (no random states)."""
    meta = ckpt['meta']
    return {'meta': {'mmcv_version': '1.7.2', 'time': 'Wed Dec  2 10:00:00 2026',
                     'mmcls_version': '0.25.0', 'config': meta['config'],
                     'CLASSES': meta['CLASSES'], 'env_info': meta['env_info'], 'seed': 0,
                     'exp_name': 'tiny.py', 'epoch': meta['epoch'], 'iter': meta['iter'],
                     'hook_msgs': {'last_ckpt': 'work_dirs/tiny/epoch_1.pth'}},
            'state_dict': ckpt['state_dict'], 'optimizer': ckpt['optimizer']}


def test_a_checkpoint_in_mmcls_layout_resumes_here(cli, tmp_path):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    ckpt = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)
    torch.save(mmcls_layout(ckpt), tmp_path / 'mmcls_epoch_1.pth')
    code, out, err = cli('--no-validate', '--work-dir', 'w2', '--resume', 'mmcls_epoch_1.pth',
                         '--cfg-options', 'total_epochs=2')
    assert code == 0 and 'resumed epoch 1, iter 4' in out, err
    log = [json.loads(line) for line in open(next((tmp_path / 'w2').glob('*.log.json')))]
    lrs = {r['lr'] for r in log if r.get('mode') == 'train'}
    assert lrs == {0.01} and {r['epoch'] for r in log if 'epoch' in r} == {2}   # step at 1; mmcv's JSON log rounds to 5 places


def test_a_checkpoints_config_is_mmcls_text_and_minicls_json(cli, tmp_path):
    from extras.bridge.mmcls_config import read_mmcls_text
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    meta = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)['meta']
    ast.parse(meta['config'])                                   # Python, as mmcv reads it
    assert 'runner = dict(' in meta['config'] and 'max_epochs=1' in meta['config']
    mine = json.loads(meta['minicls_config'])
    assert mine['total_epochs'] == 1 and mine['seed'] == 0
    back = read_mmcls_text(meta['config'], 'epoch_1.pth', [])
    assert json.loads(config_to_json(back)) == mine
    from extras.demos.demo_data import SyntheticCIFAR10
    assert meta['CLASSES'] == list(SyntheticCIFAR10.CLASSES)   # the model's, as mmcv saves them


def test_an_older_minicls_checkpoint_with_json_config_still_resumes(cli, tmp_path):
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    ckpt = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)
    ckpt['meta']['config'] = ckpt['meta'].pop('minicls_config')    # as minicls wrote it before meta['minicls_config']
    torch.save(ckpt, tmp_path / 'old.pth')
    code, out, err = cli('--no-validate', '--work-dir', 'w2', '--resume', 'old.pth',
                         '--cfg-options', 'total_epochs=2')
    assert code == 0 and 'resumed epoch 1, iter 4' in out, err


# ---- What a file holds never reaches the terminal raw -----------------------------------------

ESCAPES = '\x1b[2J\x1b[31mred\nsecond line'


@pytest.mark.parametrize('flag, where', [('--resume', 'a weight key'), ('--resume', 'meta epoch'),
                                         ('--load-from', 'a weight key')])
def test_escape_sequences_and_newlines_from_a_checkpoint_are_escaped(flag, where, cli, config, tmp_path):
    """A message or log line that quotes a file's content carries no control character: a
    terminal would run `ESC[2J` (clear the screen), and a newline would forge a line."""
    assert cli('--no-validate', '--cfg-options', 'total_epochs=1')[0] == 0
    ckpt = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)
    if where == 'meta epoch':
        ckpt['meta']['epoch'] = ESCAPES
    else:
        ckpt['state_dict'][ESCAPES] = torch.zeros(1)
    torch.save(ckpt, tmp_path / 'm.pth')
    args = [sys.executable, os.path.join(ROOT, 'train.py'), '--config', config, '--no-validate',
            '--work-dir', 'w2', flag, 'm.pth', '--cfg-options', 'total_epochs=2']
    r = procs.run(args, cwd=tmp_path, timeout=300)
    if flag == '--resume':
        assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1 and 'm.pth' in r.stderr
        assert r'\x1b[2J\x1b[31mred\nsecond line' in r.stderr
    else:           # the key is unexpected: named in the warning line, escaped
        assert r.returncode == 0, r.stderr
        (line,) = [x for x in r.stdout.splitlines() if 'do not match exactly' in x]
        assert r"unexpected keys in source state_dict: '\x1b[2J\x1b[31mred\nsecond line'" in line
    assert '\x1b' not in r.stdout + r.stderr
    assert not any(line.startswith('second line') for line in (r.stdout + r.stderr).splitlines())


def test_too_few_open_files_for_the_loader_workers_is_one_line(config, tmp_path):
    """`ulimit -n 20` with 2 loader workers: multiprocessing's threads failed with thousands of
    lines of tracebacks (each batch travels as file descriptors); refused before the run."""
    import resource

    def few_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (20, 20))
    args = [sys.executable, os.path.join(ROOT, 'train.py'), '--config', config, '--no-validate',
            '--cfg-options', 'total_epochs=1', 'data.workers_per_gpu=2']
    r = procs.run(args, cwd=tmp_path, timeout=300, preexec_fn=few_files)
    assert r.returncode == 2 and r.stderr.splitlines() == [
        'error: data.workers_per_gpu=2 wants 48 open files or more, but ulimit -n allows 20: the '
        'loader workers pass every batch as file descriptors; raise ulimit -n, or lower '
        'data.workers_per_gpu'], r.stderr[-2000:]
    assert not (tmp_path / 'w').exists()


def test_log_lines_escape_control_characters_but_keep_their_newlines(tmp_path, capsys):
    """The console and the .log: a message that carries ESC[2J (from a file it quotes) is
    escaped; the newlines of a message made of lines (env info, the hook table) stay."""
    import logging
    log = logging.getLogger('minicls.escape_test')
    logger.setup_logger(log, str(tmp_path / 'x.log'), 'INFO')
    log.info('a\x1b[2J\x1b[31mb\tc\nnext line\x00')
    for handler in log.handlers:
        handler.close()
    for text in (capsys.readouterr().out, (tmp_path / 'x.log').read_text()):
        assert text.endswith(' - INFO - a\\x1b[2J\\x1b[31mb\tc\nnext line\\x00\n'), text


BUG_IN_A_STEP = '''
import sys
sys.path.insert(0, {root!r})
import model, train
def step(self, data, optimizer=None):
    raise RuntimeError('a bug in train_step')
model.ImageClassifier.train_step = step
train.cli({args!r})
'''


def test_a_bug_with_loader_workers_exits_with_its_traceback(config, tmp_path):
    """The workers block SIGTERM (a scheduler's stop is the main process's to act on), but one
    from the main process still ends them: the exit's terminate() of a run that ends in a bug
    must not wait for them forever."""
    args = ['--config', config, '--no-validate', '--cfg-options', 'total_epochs=1',
            'data.workers_per_gpu=2']
    r = procs.run([sys.executable, '-c', BUG_IN_A_STEP.format(root=ROOT, args=args)],
                  cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and r.stderr.strip().endswith('RuntimeError: a bug in train_step')
