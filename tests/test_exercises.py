"""Every exercise's checker fails on its starting point, passes on its reference solution and
fails on each of its written-down wrong answers (exercises/NN_*/wrong_*.py, at least two).
The checkers read the pristine files here (EXERCISE_IMPL), never a student's copy in
exercises/work/, so work in progress cannot break this test."""
import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import procs

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / 'exercises'
NAMES = sorted(p.name for p in EXERCISES.iterdir() if (p / f'test_{p.name}.py').exists())


def checkers(folder, *runs, timeout=600):
    """Run the checkers once per (EXERCISE_IMPL, paths) in `runs`, side by side: each a pytest
    process in its own process group (procs.popen: killed when done or on timeout), its output
    in a file of `folder`; one torch thread each, as they share the cores. Return, in order,
    ({exercise: {test id: outcome}}, output)."""
    with contextlib.ExitStack() as stack:
        started = []
        for i, (impl, paths) in enumerate(runs):
            log = stack.enter_context(open(folder / f'checkers_{i}.txt', 'w+'))
            args = [sys.executable, '-m', 'pytest', '-q', '-rA', '-p', 'no:cacheprovider', *paths]
            started.append((impl, log, stack.enter_context(procs.popen(
                args, cwd=ROOT, env=dict(os.environ, EXERCISE_IMPL=impl, OMP_NUM_THREADS='1'),
                stdout=log, stderr=subprocess.STDOUT))))
        results = []
        for impl, log, proc in started:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pytest.fail(f'the checkers (EXERCISE_IMPL={impl}) did not finish in {timeout} s')
            log.seek(0)
            out, found = log.read(), {}
            for outcome, name, test in re.findall(
                    r'^(PASSED|FAILED|ERROR) exercises/(\w+)/\S+::(\S+)', out, re.M):
                found.setdefault(name, {})[test] = outcome
            results.append((found, out))
    return results


def test_the_exercises_are_complete():
    assert len(NAMES) >= 10
    for name in NAMES:
        assert (EXERCISES / name / 'start.py').exists(), f'{name}: no start.py'
        assert (EXERCISES / 'solutions' / f'{name}.py').exists(), f'{name}: no solution'
        assert len(list((EXERCISES / name).glob('wrong_*.py'))) >= 2, f'{name}: fewer than two wrong answers'


def test_checkers_fail_on_start_pass_on_the_solution_and_reject_every_wrong_answer(tmp_path):
    (start, start_log), (solution, solution_log), (wrong, wrong_log) = checkers(
        tmp_path, ('start', ['exercises']), ('solution', ['exercises']), ('wrong', ['exercises']))
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
    (found, out), (solved, solved_out) = checkers(
        tmp_path, (str(wrong), ['exercises/07_metric']),
        (str(EXERCISES / 'solutions' / '07_metric.py'), ['exercises/07_metric']))
    assert 'FAILED' in found.get('07_metric', {}).values(), out[-2000:]
    assert 'plain accuracy' in out, out[-2000:]
    assert set(solved.get('07_metric', {}).values()) == {'PASSED'}, solved_out[-2000:]


def test_start_copies_and_resets_into_the_work_folder(tmp_path):
    """exercises/start.py on a copy of the exercises folder (the real work folder is the student's)."""
    import shutil
    copy = tmp_path / 'exercises'
    shutil.copytree(EXERCISES, copy, ignore=shutil.ignore_patterns('work', '__pycache__'))
    script = [sys.executable, str(copy / 'start.py')]
    r = procs.run(script + ['2'], capture_output=True, text=True, timeout=60)
    target = copy / 'work' / 'ex02_lr_policy.py'
    assert r.returncode == 0 and target.read_text() == (copy / '02_lr_policy' / 'start.py').read_text(), r.stderr
    target.write_text('# my work\n')
    r = procs.run(script + ['02'], capture_output=True, text=True, timeout=60)
    assert 'already exists' in r.stdout and target.read_text() == '# my work\n'
    r = procs.run(script + ['02', '--reset'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and target.read_text() == (copy / '02_lr_policy' / 'start.py').read_text()
    assert (copy / 'work' / 'ex02_lr_policy.py.bak').read_text() == '# my work\n'
    r = procs.run(script + ['42'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and 'no exercise' in r.stderr


def test_start_on_a_checkout_it_cannot_write_is_one_line(tmp_path):
    """A read-only checkout (a copy with no write permission; as root, where
    permissions do not stop writes, a file where the work folder goes) gives one line naming
    the work folder, and nothing is copied."""
    import shutil
    copy = tmp_path / 'exercises'
    shutil.copytree(EXERCISES, copy, ignore=shutil.ignore_patterns('work', '__pycache__'))
    (copy / 'work').write_text('not a folder\n')
    copy.chmod(0o555)
    try:
        r = procs.run([sys.executable, str(copy / 'start.py'), '02'], capture_output=True,
                           text=True, timeout=60)
    finally:
        copy.chmod(0o755)
    assert r.returncode == 2 and r.stderr.startswith('error: cannot write exercises/work/ ('), r.stderr
    assert len(r.stderr.splitlines()) == 1 and (copy / 'work').read_text() == 'not a folder\n'
