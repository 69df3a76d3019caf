"""The lab's pictures and guide: tools/hook_timeline.py, tools/flow_diagram.py, docs/lab.md.

    python -m pytest -q tests/test_lab_tools.py

- hook_timeline.py, on the trace of a real short run (one train.py --trace run, shared by
  the tests of this file): rows in priority order, and every cell marked exactly where the
  trace says the hook acted; the same grid from stdout and from the <timestamp>.log; the
  text fallback when matplotlib is missing.
- flow_diagram.py draws docs/flow.svg byte for byte (the committed picture is its source's).
- every `file: function` named in flow_diagram.py and in docs/lab.md's "to change X, edit Y"
  table exists in the code (checked on the syntax tree: nothing is imported or run).

Every subprocess runs in its own session and is killed with its whole process group if it
overruns its (generous) limit; no test measures time.
"""
import ast
import importlib.util
import os
import re
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMELINE = os.path.join(ROOT, 'tools', 'hook_timeline.py')
FLOW = os.path.join(ROOT, 'tools', 'flow_diagram.py')
LAB = os.path.join(ROOT, 'docs', 'lab.md')
CALL = re.compile(r"\[trace\] call_hook\('(\w+)'\s*\)\s*(.*?)\s*-> (.*)$")


def run(args, limit=600, **kwargs):
    """Run a command in its own session; on overrun kill its whole process group, then fail."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f'{args} did not finish within {limit} s (killed)')
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)     # anything it left running (loader workers)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, out, err


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def trace_run(tmp_path_factory):
    """One real --trace run of the demo shortened to 2 epochs of 2 iterations: (stdout, .log path)."""
    work = tmp_path_factory.mktemp('trace_run')
    rc, out, err = run([sys.executable, os.path.join(ROOT, 'train.py'), '--config',
                        os.path.join(ROOT, 'configs', 'demo.py'), '--trace', '--work-dir', str(work / 'run'),
                        '--cfg-options', 'data.train.num_samples=256', 'data.val.num_samples=128',
                        'total_epochs=2', 'data.workers_per_gpu=0'], cwd=str(work))
    assert rc == 0, err[-3000:]
    logs = [f for f in os.listdir(work / 'run') if f.endswith('.log')]
    assert len(logs) == 1, logs
    stdout = work / 'stdout.txt'
    stdout.write_text(out)
    return stdout, work / 'run' / logs[0]


def timeline_text(log):
    rc, out, err = run([sys.executable, TIMELINE, str(log), '--text'], limit=120)
    assert rc == 0, err
    return out


def parse_grid(text):
    """The text grid -> (column stages, {hook: (priority, [cells])}). Columns are read off
    the first header line (short stage names, '...' for a gap), expanded with the legend."""
    lines = text.splitlines()
    header = lines[3].split()
    legend = dict(re.findall(r'\b([ab][A-Z]+) = (\w+)', text))
    stages = [legend.get(h, h) for h in header]
    rows = {}
    for line in lines[5:]:
        if not line.strip():
            break
        name, priority, *cells = line.split()
        assert len(cells) == len(stages), line
        rows[name] = (priority, cells)
    return stages, rows


def test_timeline_rows_are_the_hooks_in_priority_order(trace_run):
    stdout, _ = trace_run
    tool = load_module(TIMELINE, 'hook_timeline')
    _, rows = parse_grid(timeline_text(stdout))
    order = list(rows)
    numbers = [tool.priority_number(rows[h][0]) for h in order]
    assert numbers == sorted(numbers), order
    # The hooks the trace says were registered (steps 4-5, then EvalHook in step 6), in
    # registration order; a stable sort by priority is the order mmcv's runner keeps.
    text = stdout.read_text()
    registered = re.search(r'\[trace\] 4-5\. registered: (.*)', text).group(1)
    hooks = [re.match(r'(\w+) \((\w+)\)', item).groups() for item in registered.split(', ')]
    hooks.append(re.search(r'\[trace\] 6\. (EvalHook) \((\w+)\)', text).groups())
    expected = [name for name, level in sorted(hooks, key=lambda h: tool.PRIORITIES[h[1]])]
    assert order == expected
    assert 'TraceHook' not in rows                  # the trace leaves itself out


def test_timeline_marks_exactly_where_the_trace_says(trace_run):
    stdout, _ = trace_run
    stages, rows = parse_grid(timeline_text(stdout))
    calls = [CALL.search(line) for line in stdout.read_text().splitlines()]
    calls = [(m.group(1), {n.strip() for n in m.group(3).split(',')}) for m in calls if m]
    traced = [i for i, s in enumerate(stages) if s != '...']
    assert [stages[i] for i in traced] == [stage for stage, _ in calls]
    for i, (stage, acting) in zip(traced, calls):
        marked = {h for h, (_, cells) in rows.items() if cells[i] == 'x'}
        assert marked == acting, (i, stage)
    # The cells a student is asked to read off the picture:
    def acts_at(hook):
        return {stages[i] for i, cell in enumerate(rows[hook][1]) if cell == 'x'}
    assert acts_at('OptimizerHook') == {'after_train_iter'}
    assert acts_at('CheckpointHook') == {'before_run', 'after_train_iter', 'after_train_epoch'}
    assert acts_at('DistSamplerSeedHook') == {'before_train_epoch'}
    assert acts_at('StepLrUpdaterHook') == {'before_run', 'before_train_epoch', 'before_train_iter'}
    # Epoch 2 is not traced (one summary line): one gap column, and nothing marked in it.
    gaps = [i for i, s in enumerate(stages) if s == '...']
    assert len(gaps) == 1 and all(cells[gaps[0]] == '|' for _, cells in rows.values())


def test_timeline_reads_the_log_file_like_stdout(trace_run):
    stdout, log = trace_run
    assert timeline_text(log) == timeline_text(stdout)


def test_timeline_falls_back_to_text_without_matplotlib(trace_run, tmp_path):
    stdout, _ = trace_run
    out_png = tmp_path / 'timeline.png'
    # sys.modules['matplotlib'] = None makes `import matplotlib` fail, installed or not.
    code = ("import sys, runpy; sys.modules['matplotlib'] = None; "
            f"sys.argv = ['hook_timeline.py', {str(stdout)!r}, '--out', {str(out_png)!r}]; "
            f"runpy.run_path({TIMELINE!r}, run_name='__main__')")
    rc, out, err = run([sys.executable, '-c', code], limit=120)
    assert rc == 0, err
    assert 'matplotlib is not installed' in err
    assert out == timeline_text(stdout)
    assert not out_png.exists()


def test_timeline_png_with_matplotlib(trace_run, tmp_path):
    pytest.importorskip('matplotlib')
    stdout, _ = trace_run
    out_png = tmp_path / 'timeline.png'
    rc, out, err = run([sys.executable, TIMELINE, str(stdout), '--out', str(out_png)], limit=300)
    assert rc == 0, err
    assert out_png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_timeline_says_what_is_missing(tmp_path):
    no_table = tmp_path / 'plain.log'
    no_table.write_text('2026-11-30 11:50:42,916 - minicls - INFO - Epoch [1][10/40]\tlr: 1.000e-01\n')
    rc, _, err = run([sys.executable, TIMELINE, str(no_table), '--text'], limit=120)
    assert rc == 2 and 'no hook table' in err
    no_trace = tmp_path / 'untraced.log'
    no_trace.write_text('x - minicls - INFO - Hooks will be executed in the following order:\nbefore_run:\n'
                        '(VERY_HIGH   ) StepLrUpdaterHook\n -------------------- \n')
    rc, _, err = run([sys.executable, TIMELINE, str(no_trace), '--text'], limit=120)
    assert rc == 2 and '--trace' in err


def test_timeline_priority_numbers_are_mmcvs():
    sys.path.insert(0, ROOT)
    try:
        from hooks import Priority
    finally:
        sys.path.remove(ROOT)
    tool = load_module(TIMELINE, 'hook_timeline')
    assert tool.PRIORITIES == {p.name: p.value for p in Priority}


def test_flow_svg_is_what_flow_diagram_draws(tmp_path):
    out = tmp_path / 'flow.svg'
    rc, _, err = run([sys.executable, FLOW, '--out', str(out)], limit=120)
    assert rc == 0, err
    with open(os.path.join(ROOT, 'docs', 'flow.svg'), 'rb') as f:
        assert f.read() == out.read_bytes(), 'docs/flow.svg is stale: run python tools/flow_diagram.py'
    rc, out_text, _ = run([sys.executable, FLOW, '--check'], limit=120)
    assert rc == 0, out_text


# --- file: function names -----------------------------------------------------------------

def defined(path, dotted):
    """True if the Python file `path` defines `dotted` (a function, class or module-level
    name; 'Class.method' or 'Class.attribute' one level down)."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    scope = tree.body
    for part in dotted.split('.'):
        found = None
        for node in scope:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == part:
                found = node
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == part for t in node.targets):
                found = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == part:
                found = node
        if found is None:
            return False
        scope = getattr(found, 'body', [])
    return True


def names_in(text):
    """Every `file.py: name, name.attr` in backticks -> [(file, name)]."""
    found = []
    for span in re.findall(r'`([\w/]+\.py): ([^`]+)`', text):
        path, names = span
        found += [(path, n.strip()) for n in names.split(',')]
    return found


def test_defined_sees_functions_methods_and_tables():
    path = os.path.join(ROOT, 'hooks.py')
    assert defined(path, 'OptimizerHook.after_train_iter') and defined(path, 'LR_POLICIES')
    assert not defined(path, 'OptimizerHook.no_such_method') and not defined(path, 'NoSuchHook')


def test_flow_diagram_names_exist():
    tool = load_module(FLOW, 'flow_diagram')
    entries = [tool.SETUP[1]] + [where for _, where in tool.STEPS] + [where for *_, where in tool.LOOP]
    for entry in entries:
        path, name = entry.split(': ')
        assert defined(os.path.join(ROOT, path), name), entry


def test_lab_table_names_exist():
    text = open(LAB, encoding='utf-8').read()
    table = text.split('## To change X, edit Y', 1)[1].split('\n## ', 1)[0]
    names = names_in(table)
    assert len(names) >= 12, names                  # six tasks, a few places each
    missing = [f'{path}: {name}' for path, name in names
               if not os.path.exists(os.path.join(ROOT, path)) or not defined(os.path.join(ROOT, path), name)]
    assert not missing, f'docs/lab.md names what does not exist: {missing}'
