"""Every exercise's checker fails on its starting point, passes on its reference solution and
fails on each of its written-down wrong answers (exercises/NN_*/wrong_*.py, at least two).
The checkers read the pristine files here (EXERCISE_IMPL), never a student's copy in
exercises/work/, so work in progress cannot break this test."""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / 'exercises'
NAMES = sorted(p.name for p in EXERCISES.iterdir() if (p / f'test_{p.name}.py').exists())


def checkers(impl, *paths, timeout=600):
    """Run the checkers in a pytest subprocess (its own process group, killed when done or
    on timeout); return {exercise: {test id: outcome}} and the output."""
    env = dict(os.environ, EXERCISE_IMPL=impl)
    args = [sys.executable, '-m', 'pytest', '-q', '-rA', '-p', 'no:cacheprovider', *(paths or ['exercises'])]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f'the checkers (EXERCISE_IMPL={impl}) did not finish in {timeout} s:\n{out[-3000:]}')
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)           # anything the checkers left running
        except (ProcessLookupError, PermissionError):
            pass
    found = {}
    for outcome, name, test in re.findall(r'^(PASSED|FAILED|ERROR) exercises/(\w+)/\S+::(\S+)', out, re.M):
        found.setdefault(name, {})[test] = outcome
    return found, out


def test_the_exercises_are_complete():
    assert len(NAMES) >= 10
    for name in NAMES:
        assert (EXERCISES / name / 'start.py').exists(), f'{name}: no start.py'
        assert (EXERCISES / 'solutions' / f'{name}.py').exists(), f'{name}: no solution'
        assert len(list((EXERCISES / name).glob('wrong_*.py'))) >= 2, f'{name}: fewer than two wrong answers'


def test_checkers_fail_on_start_pass_on_the_solution_and_reject_every_wrong_answer():
    start, start_log = checkers('start')
    solution, solution_log = checkers('solution')
    wrong, wrong_log = checkers('wrong')
    for name in NAMES:
        assert 'FAILED' in start.get(name, {}).values(), (
            f'{name}: the checker does not fail on start.py\n{start_log[-3000:]}')
        assert solution.get(name) and set(solution[name].values()) == {'PASSED'}, (
            f'{name}: the solution does not pass\n{solution_log[-3000:]}')
        for path in sorted((EXERCISES / name).glob('wrong_*.py')):
            outcomes = {test: o for test, o in wrong.get(name, {}).items() if test.endswith(f'[{path.stem}]')
                        or f'[{path.stem}-' in test or f'-{path.stem}]' in test or f'-{path.stem}-' in test}
            assert outcomes, f'{name}: {path.name} was not checked\n{wrong_log[-3000:]}'
            assert 'FAILED' in outcomes.values(), f'{name}: the checker accepts the wrong answer {path.name}'


def test_a_single_file_can_be_checked_by_path(tmp_path):
    """EXERCISE_IMPL=<path>, as a teacher checks one answer (here a wrong one, then the solution)."""
    wrong = EXERCISES / '07_metric' / 'wrong_plain_accuracy.py'
    found, out = checkers(str(wrong), 'exercises/07_metric')
    assert 'FAILED' in found.get('07_metric', {}).values(), out[-2000:]
    assert 'plain accuracy' in out, out[-2000:]
    found, out = checkers(str(EXERCISES / 'solutions' / '07_metric.py'), 'exercises/07_metric')
    assert set(found.get('07_metric', {}).values()) == {'PASSED'}, out[-2000:]


def test_start_copies_and_resets_into_the_work_folder(tmp_path):
    """exercises/start.py on a copy of the exercises folder (the real work folder is the student's)."""
    import shutil
    copy = tmp_path / 'exercises'
    shutil.copytree(EXERCISES, copy, ignore=shutil.ignore_patterns('work', '__pycache__'))
    script = [sys.executable, str(copy / 'start.py')]
    r = subprocess.run(script + ['2'], capture_output=True, text=True, timeout=60)
    target = copy / 'work' / 'ex02_lr_policy.py'
    assert r.returncode == 0 and target.read_text() == (copy / '02_lr_policy' / 'start.py').read_text(), r.stderr
    target.write_text('# my work\n')
    r = subprocess.run(script + ['02'], capture_output=True, text=True, timeout=60)
    assert 'already exists' in r.stdout and target.read_text() == '# my work\n'
    r = subprocess.run(script + ['02', '--reset'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and target.read_text() == (copy / '02_lr_policy' / 'start.py').read_text()
    assert (copy / 'work' / 'ex02_lr_policy.py.bak').read_text() == '# my work\n'
    r = subprocess.run(script + ['42'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and 'no exercise' in r.stderr


def test_start_on_a_checkout_it_cannot_write_is_one_line(tmp_path):
    """Issue 31: a read-only checkout (a copy with no write permission; as root, where
    permissions do not stop writes, a file where the work folder goes) gives one line naming
    the work folder, and nothing is copied."""
    import shutil
    copy = tmp_path / 'exercises'
    shutil.copytree(EXERCISES, copy, ignore=shutil.ignore_patterns('work', '__pycache__'))
    (copy / 'work').write_text('not a folder\n')
    copy.chmod(0o555)
    try:
        r = subprocess.run([sys.executable, str(copy / 'start.py'), '02'], capture_output=True,
                           text=True, timeout=60)
    finally:
        copy.chmod(0o755)
    assert r.returncode == 2 and r.stderr.startswith('error: cannot write exercises/work/ ('), r.stderr
    assert len(r.stderr.splitlines()) == 1 and (copy / 'work').read_text() == 'not a folder\n'
