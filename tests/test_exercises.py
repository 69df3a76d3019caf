"""Every exercise's checker fails on its starting point and passes on its reference solution."""
import os
import re
import subprocess
import sys
from pathlib import Path

EXERCISES = Path(__file__).resolve().parent.parent / 'exercises'
NAMES = sorted(p.name for p in EXERCISES.iterdir() if (p / f'test_{p.name}.py').exists())


def outcomes(impl):
    """{exercise: set of outcomes of its checker's tests} for one run over all exercises."""
    env = dict(os.environ, EXERCISE_IMPL=impl)
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-rA', '-p', 'no:cacheprovider', 'exercises'],
                       cwd=EXERCISES.parent, env=env, capture_output=True, text=True, timeout=600)
    found = {}
    for outcome, name in re.findall(r'^(PASSED|FAILED|ERROR) exercises/(\w+)/', r.stdout, re.M):
        found.setdefault(name, set()).add(outcome)
    return found, r.stdout


def test_eight_exercises_fail_on_start_and_pass_on_their_solution():
    assert len(NAMES) >= 8
    assert all((EXERCISES / 'solutions' / f'{n}.py').exists() and (EXERCISES / n / 'start.py').exists() for n in NAMES)
    start, start_log = outcomes('start')
    solution, solution_log = outcomes('solution')
    for name in NAMES:
        assert 'FAILED' in start.get(name, set()), f'{name}: the checker does not fail on start.py\n{start_log[-2000:]}'
        assert solution.get(name) == {'PASSED'}, f'{name}: the solution does not pass\n{solution_log[-3000:]}'
