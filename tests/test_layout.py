"""The shape of the code, where it protects a reader: no line over 100 characters, no import
circle in the whole project, the core's imports one way, no core file over 750 lines,
train.py a page of flow, and docs/default_path.md (the reading guide of
tools/default_path.py) current. The guide's other figures (lines and passages per step of
docs/flow.md, guard lines) are printed by the tool and are not held here: code is not bent
to meet them (architecture.md)."""
import ast
import glob
import os
import sys

import pytest

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import default_path  # noqa: E402

CORE = default_path.CORE
# The code a reader opens: the core, the extras, the tools, the benchmarks and the configs
READ = CORE + tuple(sorted(glob.glob('extras/**/*.py', root_dir=ROOT, recursive=True)
                           + glob.glob('tools/*.py', root_dir=ROOT)
                           + glob.glob('benchmarks/*.py', root_dir=ROOT)
                           + glob.glob('configs/*.py', root_dir=ROOT)))
# Who in the core may import whom (architecture.md, "Imports go one way"). A core file may
# import an extra at its top only if every run enters it (EVERY_RUN); an optional extra is
# reached through a name table ('module:Class', resolved by config.lookup when a config names
# it) or imported inside the one function that reads the option asking for it.
ALLOWED = {'config.py': set(), 'model.py': {'config'}, 'data.py': {'config', 'model'},
           'checkpoint.py': {'model'},
           'hooks.py': {'config', 'model'},
           'runner.py': {'config', 'checkpoint', 'hooks', 'model'},
           'train.py': {'config', 'checkpoint', 'hooks', 'runner', 'data', 'model'}}
EVERY_RUN = {'extras.checks.api_checks', 'extras.checks.model_checks',
             'extras.checks.regular_file', 'extras.run.logger', 'extras.run.work_dir',
             'extras.run.cpu_threads', 'extras.run.device', 'extras.run.guards',
             'extras.bridge.mmcls_config'}


def lines(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read().splitlines()


def module_of(path):
    return path[:-len('.py')].replace('/', '.').removesuffix('.__init__')


def imports(path, top_only=False):
    """The project modules `path` imports, at its top or (unless top_only) anywhere, as
    dotted names ('config', 'extras.run.logger')."""
    tree = ast.parse('\n'.join(lines(path)))
    nodes = tree.body if top_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f'{node.module}.{a.name}' for a in node.names}   # from extras.x import y
    project = {module_of(p) for p in READ}
    return {n for n in names if n in project}


def test_no_line_is_over_100_characters():
    # the core and the extras every run enters; extras/options/, demos/, tools/, benchmarks/
    # and configs/ still hold longer lines (python tools/default_path.py --long lists them)
    every_run = [f for f in READ if module_of(f) in EVERY_RUN or f.startswith('extras/run/')]
    long = [f'{f}:{i + 1}' for f in CORE + tuple(every_run) + ('tools/default_path.py',)
            for i, line in enumerate(lines(f)) if len(line) > 100]
    assert long == []


def test_no_core_file_is_over_750_lines():
    counts = {f: len(lines(f)) for f in CORE}
    assert all(n <= 750 for n in counts.values()), counts


def test_train_py_is_a_page_of_flow():
    # main() and train_model() are what a student reads first, top to bottom, with the CLI's
    # one-line errors and the config checks beside them; 400 lines is about what one sitting
    # holds. Anything longer belongs in an extra (extras/run/) that main calls by name.
    assert len(lines('train.py')) <= 400


def test_no_import_circle_in_the_project():
    graph = {module_of(p): imports(p) for p in READ}
    state, circles = {}, []                  # state: 1 on the current path, 2 done

    def visit(module, path):
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 1:
                circles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = 2
    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == [], circles[:3]


@pytest.mark.parametrize('path', CORE)
def test_the_core_imports_one_way(path):
    core = {f[:-3] for f in CORE}
    assert imports(path) & core <= ALLOWED[path], path
    assert {m for m in imports(path, top_only=True) if m.startswith('extras.')} <= EVERY_RUN


def test_no_extra_imports_train_py():
    assert [f for f in READ if f.startswith('extras/') and 'train' in imports(f)] == []


def test_imports_are_read_at_the_top_and_inside_functions():
    assert 'extras.run.logger' in imports('hooks.py', top_only=True)
    assert 'extras.options.paramwise' in imports('runner.py')
    assert 'extras.options.paramwise' not in imports('runner.py', top_only=True)


def test_a_row_counts_what_a_reader_steps_through_checks_included():
    # step 2 names build_optimizer and optimizer_class; they call optimizer_args, config's
    # lookup and check_args, and api_checks' check_optimizer_cfg (imported plainly, called on
    # every run): all are read, and the checks are also counted apart
    row = default_path.read_row(['runner.py: build_optimizer', 'runner.py: optimizer_class'])
    assert {'config.py: lookup', 'runner.py: optimizer_args', 'config.py: check_args',
            'extras/checks/api_checks.py: check_optimizer_cfg'} <= set(row['callees'])
    alone = sum(b - a + 1 for a, b in (default_path.resolve('runner.py', n) for n in
                                       ('build_optimizer', 'optimizer_class')))
    checks = sum(b - a + 1 for a, b in (default_path.resolve(p, n) for p, n in (
        ('config.py', 'check_args'), ('extras/checks/api_checks.py', 'check_optimizer_cfg'))))
    assert row['checks'] == checks and row['lines'] >= alone + checks


def test_guard_lines_are_matched_with_their_class():
    guards = default_path.guards()
    assert 'model.py: ResNet_CIFAR.train' not in guards           # not EpochBasedRunner.train
    assert 'runner.py: EpochBasedRunner.train' in guards
    assert default_path.guard_lines(ast.parse('check_x(a)\nif a:\n    raise E\n')) == 3


def test_docs_default_path_md_is_current():
    with open(os.path.join(ROOT, 'docs', 'default_path.md')) as f:
        text = f.read()
    assert text.startswith(default_path.page()), \
        'stale: python tools/default_path.py --markdown docs/default_path.md'


def test_markdown_into_a_missing_folder_is_one_line(tmp_path):
    r = procs.run([sys.executable, os.path.join(ROOT, 'tools', 'default_path.py'),
                   '--markdown', str(tmp_path / 'no' / 'page.md')], timeout=60)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'does not exist' in r.stderr and 'Traceback' not in r.stderr
