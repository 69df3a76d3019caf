"""The shape of the code (README, "Files"): seven core files within their line targets, no
long lines, the flow apart from its guards, each step of docs/flow.md readable in one
sitting, and imports that go one way."""
import ast
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import default_path  # noqa: E402

CORE = default_path.CORE
# who may import whom, inside the project (README: "Imports go one way")
ALLOWED = {'config.py': set(), 'model.py': set(), 'data.py': {'config', 'model'},
           'checkpoint.py': {'config'}, 'hooks.py': {'config', 'checkpoint'},
           'runner.py': {'config', 'checkpoint', 'hooks'},
           'train.py': {'config', 'checkpoint', 'hooks', 'runner', 'data', 'model', 'extras'}}
PROJECT = {f[:-3] for f in CORE} | {'extras'}


def lines(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read().splitlines()


def imported(path):
    """Every project module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse('\n'.join(lines(path)))):
        if isinstance(node, ast.Import):
            names |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split('.')[0])
    return names & PROJECT


def test_the_seven_core_files_keep_their_line_targets():
    counts = {f: len(lines(f)) for f in CORE}
    # issue 22 asked for 3,500; the code alone is ~2,620 lines after the long lines were split
    # and the hardening and mmcls-bridge issues added theirs (docs/default_path.md): this
    # ceiling keeps the total from growing
    assert sum(counts.values()) <= 3800, counts
    assert all(n <= 750 for n in counts.values()), counts
    assert counts['train.py'] <= 350
    long = [f'{f}:{i + 1}' for f in CORE for i, line in enumerate(lines(f)) if len(line) > 100]
    assert long == []


def test_the_flow_functions_hold_few_guard_lines():
    guards = default_path.flow_guards()
    assert len(guards) >= len(default_path.FLOW)       # every flow function is found
    assert sum(guards.values()) <= 25 and max(guards.values()) <= 3, guards


def test_each_step_of_the_flow_reads_in_one_sitting():
    rows = default_path.reading_list()
    assert len(rows) >= 16 and rows[0][0].startswith('0 ')
    for i, (step, entries) in enumerate(rows):
        assert default_path.reading_lines(entries) <= (200 if i == 0 else 150), step


@pytest.mark.parametrize('path', CORE)
def test_imports_go_one_way(path):
    assert imported(path) <= ALLOWED[path], path


def test_no_extra_imports_train_py_and_no_core_file_but_train_py_imports_an_extra():
    extras = [f'extras/{f}' for f in os.listdir(os.path.join(ROOT, 'extras')) if f.endswith('.py')]
    assert [f for f in extras if 'train' in imported(f)] == []
    assert [f for f in CORE if f != 'train.py' and 'extras' in imported(f)] == []
