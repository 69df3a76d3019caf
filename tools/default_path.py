"""The shape of the code, measured: a reading guide. What a reader reads for each step of
docs/flow.md, the guard lines in it, and how much code a default run enters. The figures
beside them (architecture.md's) are a guide, not targets: where a layout would be bent to meet
one, the natural layout stays and the figure is reported as it is.

    python tools/default_path.py --steps            # lines to read per step, with passages
    python tools/default_path.py --guards           # guard lines in the reading-list functions
    python tools/default_path.py                    # lines a default demo run enters, per file
    python tools/default_path.py --markdown docs/default_path.md   # all of it, as that page
    python tools/default_path.py --long             # lines over 100 characters, per file

Reading rows (--steps). A row of flow.md's reading list names functions and classes; the
row's lines are their spans (from `def`/decorator to the last line, docstrings and comments
included) plus the spans of the functions they call one level down: a name defined in their
file or imported from a core file or an extra (`from extras.checks.api_checks import
check_new_hook`: a check called on every run is read on every run), `self.method`, or a class,
whose `__init__` is what runs; `config.lookup` included. One level down only: what those
callees call in turn (a check inside a check, a class a table names) is not counted, so a row
is a floor on what a reader steps through, checks of that level included; the `check_*`
helpers (and a class's `_check*`) among them are also shown in a column of their own. A
callee that another row names is read in that row, and is not counted twice. A passage is a
run of lines read straight through: two spans of one file are one passage when no other
function starts between them.

Guard lines (--guards): an `if` whose body only raises, an `except` that only raises, a
`raise`, and a statement that only calls a `check_*` helper; over every function on the
reading list (a class entry: all its methods), each matched with its class.

Lines entered (no option): the line span of every function of this repository that
`python train.py --config configs/demo.py` calls. Module and class bodies, which run at
import, do not count. The run is the demo shortened to one epoch on 256 / 128 images, with
no loader worker processes (the same functions run, in this process, where sys.settrace
sees them).
"""
import argparse
import ast
import inspect
import os
import runpy
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWN = ROOT + os.sep
CORE = ('train.py', 'config.py', 'runner.py', 'checkpoint.py', 'hooks.py', 'model.py', 'data.py')
FLOW_MD = os.path.join(ROOT, 'docs', 'flow.md')
# architecture.md's reading guide: where a figure is over its guide, the page says so and
# the code stays as it reads best (tests/test_layout.py holds only the hard limits: lines
# over 100 characters, a core file over 750 lines, train.py over a page)
GUIDE = dict(core_lines=3500, file_lines=750, train_lines=400, line_chars=100, row=150,
             first_row=200, passages=3, flow_guards=3)
# the functions a student reads to follow train_model: the flow, with few guard lines each
FLOW = ('train.py: train_model', 'train.py: main', 'train.py: build_cfg',
        'runner.py: EpochBasedRunner.__init__', 'runner.py: EpochBasedRunner.register_hook',
        'runner.py: EpochBasedRunner.register_training_hooks',
        'runner.py: EpochBasedRunner.register_logger_hooks', 'runner.py: EpochBasedRunner.run',
        'runner.py: EpochBasedRunner.train', 'runner.py: EpochBasedRunner.run_iter',
        'runner.py: EpochBasedRunner.resume', 'runner.py: EpochBasedRunner.save_checkpoint',
        'runner.py: EpochBasedRunner.load_checkpoint', 'runner.py: build_optimizer',
        'data.py: build_dataloader', 'data.py: build_dataset', 'data.py: collate',
        'hooks.py: build_updater_hook', 'hooks.py: build_optimizer_hook',
        'model.py: ImageClassifier.train_step', 'model.py: ImageClassifier._parse_losses',
        'model.py: build_classifier')


# ---- Reading rows ----------------------------------------------------------------------

def steps_table():
    """The reading rows as a Markdown table, with their passages."""
    rows = [f'| step | lines to read (guide: about {GUIDE["row"]}) | of which check_* | '
            f'passages (guide: {GUIDE["passages"]}) | where |',
            '|---|---:|---:|---:|---|']
    for i, (step, entries) in enumerate(reading_list()):
        guide = GUIDE['first_row'] if i == 0 else GUIDE['row']
        r = read_row(entries)
        more = f' (guide {guide})' if r['lines'] > guide else ''
        where = ', '.join(f'{p} {a}-{b}' for p, a, b in r['passages'])
        rows.append(f'| {step} | {r["lines"]}{more} | {r["checks"]} | '
                    f'{len(r["passages"])} | {where} |')
    return '\n'.join(rows)


def reading_list(flow=FLOW_MD):
    """The rows of flow.md's reading-list table: [(step, ['file.py: name', ...])]."""
    text = open(flow).read()
    section = text.split('## Reading list', 1)[1].split('\n## ', 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 3 and cells[2].startswith('`') and ':' in cells[2]:
            entries = [e.strip('` ') for e in cells[2].split('`, `')]
            rows.append((f'{cells[0]} {cells[1]}', entries))
    return rows


def read_row(entries, rows=None):
    """{'lines': n, 'checks': n, 'passages': [(file, first, last)], 'callees': [...]} of
    one reading row: its entries and their one-level callees, checks included; 'checks': the
    lines of the check_* callees among them (see the docstring)."""
    named = set()                              # every line some row names
    for _, row in (rows or reading_list()):
        for entry in row:
            named |= span_lines(*key(entry))
    own = [key(e) for e in entries]
    read, checks, callees = set(), set(), []
    for path, name in own:
        read |= span_lines(path, name)
    for path, name in own:
        for callee in calls(path, name):
            if span_lines(*callee) <= named:    # read in its own row (or in this one)
                continue
            lines = span_lines(*callee)
            read |= lines
            callees.append(f'{callee[0]}: {callee[1]}')
            if is_check(callee[1]):
                checks |= lines
    return dict(lines=len(read), checks=len(checks), passages=passages(read),
                callees=sorted(set(callees)))


def key(entry):
    path, name = (part.strip() for part in entry.split(':'))
    return path, name


def is_check(name):
    """A check helper: check_*, or a class's _check*."""
    last = name.split('.')[-1]
    return last.startswith('check_') or last.startswith('_check')


def span_lines(path, name):
    first, last = resolve(path, name)
    return {(path, n) for n in range(first, last + 1)}


def resolve(path, name):
    """(first, last) line of 'name' or 'Class.name' in `path`, a method found in the
    class's bases of the same file too."""
    table = spans(path)
    if name in table:
        return table[name]
    if '.' in name:
        cls, method = name.split('.', 1)
        for base in bases(path).get(cls, []):
            if f'{base}.{method}' in table or base in bases(path):
                return resolve(path, f'{base}.{method}')
    raise SystemExit(f'error: docs/flow.md names {path}: {name}, which {path} does not define')


_parsed = {}


def parse(path):
    if path not in _parsed:
        with open(os.path.join(ROOT, path)) as f:
            _parsed[path] = ast.parse(f.read())
    return _parsed[path]


def spans(path):
    """{'name' or 'Class.name' or 'Class': (first line, last line)} of a file's functions
    and classes (decorators included)."""
    found = {}
    for node in parse(path).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = first_line(node), node.end_lineno
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f'{node.name}.{item.name}'] = first_line(item), item.end_lineno
    return found


def first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def bases(path):
    return {n.name: [b.id for b in n.bases if isinstance(b, ast.Name)]
            for n in parse(path).body if isinstance(n, ast.ClassDef)}


def node_of(path, name):
    for node in parse(path).body:
        if getattr(node, 'name', None) == name.split('.')[0]:
            if '.' not in name:
                return node
            for item in node.body:
                if getattr(item, 'name', None) == name.split('.')[1]:
                    return item
    first, last = resolve(path, name)           # inherited: the base's method
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.FunctionDef) and node.lineno <= first <= node.end_lineno:
            return node


def imported_names(path):
    """{name: file} of `from <module> import name` at the top of `path`, for the project's
    modules: a core file or an extra (`extras.run.logger` -> extras/run/logger.py)."""
    names = {}
    for node in parse(path).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            source = node.module.replace('.', '/') + '.py'
            if os.path.isfile(os.path.join(ROOT, source)):
                for alias in node.names:
                    names[alias.asname or alias.name] = source
    return names


def calls(path, name):
    """The project's functions that `name` (a function or a whole class) calls directly, as
    (file, 'name' or 'Class.name')."""
    node = node_of(path, name)
    cls = name.split('.')[0] if '.' in name else (name if isinstance(node, ast.ClassDef) else None)
    table, imported, found = spans(path), imported_names(path), []
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        f = call.func
        if isinstance(f, ast.Name):
            where = imported.get(f.id, path if f.id in table else None)
            if where is not None:
                found.append(callee(where, f.id))
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and f.value.id == 'self' and cls and f'{cls}.{f.attr}' in table:
            found.append((path, f'{cls}.{f.attr}'))
    return [c for c in dict.fromkeys(found) if c is not None and c[1] != name]


def callee(path, name):
    """A call of `name` in `path`: a function, or a class's __init__ (what the call runs)."""
    table = spans(path)
    if name not in table:
        return None
    if isinstance(node_of(path, name), ast.ClassDef):
        return (path, f'{name}.__init__') if f'{name}.__init__' in table else None
    return path, name


def passages(lines):
    """[(file, first, last)]: runs of `lines` in which no other function starts (a class's
    header and docstring between its methods do not break a run)."""
    found = []
    for path in sorted({p for p, _ in lines}):
        starts = {first_line(n) for n in ast.walk(parse(path)) if isinstance(n, ast.FunctionDef)}
        numbers = sorted(n for p, n in lines if p == path)
        first = last = numbers[0]
        for n in numbers[1:]:
            if any(s in starts for s in range(last + 1, n)):
                found.append((path, first, last))
                first = n
            last = n
        found.append((path, first, last))
    return found


# ---- Guard lines -------------------------------------------------------------------------

def guard_lines(node):
    """Lines of an `if` whose body only raises, an `except` that only raises, a `raise`, a
    statement that only calls a check_* helper."""
    def only_raises(body):
        return all(isinstance(s, ast.Raise) for s in body)

    def check_call(n):           # a statement that is only check_x(...)
        f = n.value.func if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) else None
        return f is not None and is_check(getattr(f, 'id', getattr(f, 'attr', '')))
    lines = set()
    for n in ast.walk(node):
        if isinstance(n, ast.If) and only_raises(n.body) and not n.orelse \
                or isinstance(n, ast.ExceptHandler) and only_raises(n.body) \
                or isinstance(n, ast.Raise) or check_call(n):
            lines.update(range(n.lineno, n.end_lineno + 1))
    return len(lines)


def reading_functions():
    """Every function on the reading list, 'file: Class.name' (a class: all its methods)."""
    found = []
    for _, entries in reading_list():
        for path, name in map(key, entries):
            node = node_of(path, name)
            if isinstance(node, ast.ClassDef):
                found += [f'{path}: {name}.{m.name}' for m in node.body
                          if isinstance(m, ast.FunctionDef)]
            else:
                found.append(f'{path}: {name}')
    return list(dict.fromkeys(found))


def guards():
    """{'file: Class.name': guard lines} over the reading list and FLOW."""
    functions = dict.fromkeys(reading_functions() + list(FLOW))
    return {f: guard_lines(node_of(*key(f))) for f in functions}


def guards_table():
    found = guards()
    flow = {f: found[f] for f in FLOW}
    rows = ['| function | guard lines | flow function |', '|---|---:|---|']
    for name, n in sorted(found.items(), key=lambda kv: (-kv[1], kv[0])):
        if n:
            rows.append(f'| `{name}` | {n} | {"yes" if name in flow else ""} |')
    rows.append(f'| **{len(found)} functions on the reading list** | **{sum(found.values())}** '
                f'| max in a flow function: {max(flow.values())} (guide: '
                f'{GUIDE["flow_guards"]}) |')
    return '\n'.join(rows)


# ---- Sizes -------------------------------------------------------------------------------

def file_lines(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read().splitlines()


def sizes_table():
    counts = {f: len(file_lines(f)) for f in CORE}
    long = sum(len(line) > GUIDE['line_chars'] for f in CORE for line in file_lines(f))
    rows = ['| file | lines | guide |', '|---|---:|---:|']
    for f in CORE:
        guide = GUIDE['train_lines'] if f == 'train.py' else GUIDE['file_lines']
        rows.append(f'| {f} | {counts[f]} | <= {guide} |')
    rows.append(f'| **the seven core files** | **{sum(counts.values())}** | '
                f'about {GUIDE["core_lines"]} |')
    rows.append(f'| lines over {GUIDE["line_chars"]} characters | {long} | 0 |')
    return '\n'.join(rows)


def long_lines():
    """{file: count} of the lines over 100 characters in the project's Python files (the
    tests apart)."""
    found = {}
    for folder, _, names in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        if rel.split(os.sep)[0] in ('tests', '.git', 'data', 'work_dirs', '.venv'):
            continue
        for name in (n for n in names if n.endswith('.py')):
            path = os.path.normpath(os.path.join(rel, name))
            n = sum(len(line) > GUIDE['line_chars'] for line in file_lines(path))
            if n:
                found[path] = n
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


# ---- Lines entered by a demo run -----------------------------------------------------------

def entered_spans(argv):
    """Run train.py with `argv` under sys.settrace; return {file: set of line numbers}."""
    codes = set()

    def tracer(frame, event, arg):
        if event == 'call':
            code = frame.f_code
            if code.co_filename.startswith(OWN) and code.co_flags & inspect.CO_NEWLOCALS \
                    and not code.co_filename.startswith(os.path.join(ROOT, '.venv')):
                codes.add(code)
        return None                          # no line events: only calls are needed

    sys.argv = ['train.py'] + argv
    sys.path.insert(0, ROOT)
    sys.settrace(tracer)
    try:
        runpy.run_path(os.path.join(ROOT, 'train.py'), run_name='__main__')
    except SystemExit as e:
        if e.code:
            raise
    finally:
        sys.settrace(None)
    lines = defaultdict(set)
    for code in codes:
        last = max(line for _, _, line in code.co_lines() if line is not None)
        lines[os.path.relpath(code.co_filename, ROOT)].update(range(code.co_firstlineno, last + 1))
    return lines


def entered_table(lines):
    rows = ['| file | lines entered | lines in file |', '|---|---:|---:|']
    files = sorted(lines, key=lambda f: (f not in CORE, CORE.index(f) if f in CORE else 0, f))
    for f in files:
        rows.append(f'| {f} | {len(lines[f])} | {len(file_lines(f))} |')
    core = sum(len(v) for f, v in lines.items() if f in CORE)
    rows.append(f'| **the seven core files** | **{core}** | '
                f'**{sum(len(file_lines(f)) for f in CORE)}** |')
    rows.append(f'| **everything entered** | **{sum(len(v) for v in lines.values())}** | |')
    return '\n'.join(rows)


SHORTEN = """import runpy
from dataclasses import replace
cfg = runpy.run_path({config!r})['cfg']
data = replace(cfg.data, workers_per_gpu=0, train=replace(cfg.data.train, num_samples=256),
               val=replace(cfg.data.val, num_samples=128))
cfg = replace(cfg, total_epochs=1, data=data)
"""


def demo_run(config):
    """{file: lines entered} of the shortened demo run (in this process)."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        # the shortening is a config file of its own: --cfg-options would enter its extra
        short = os.path.join(work, 'short.py')
        with open(short, 'w') as f:
            f.write(SHORTEN.format(config=os.path.abspath(config)))
        os.chdir(ROOT)
        try:
            return entered_spans(['--config', short, '--work-dir', os.path.join(work, 'run')])
        finally:
            os.chdir(cwd)


# ---- The page ------------------------------------------------------------------------------

PAGE = """# The shape of the code, measured

Generated by `python tools/default_path.py --markdown docs/default_path.md`;
tests/test_layout.py checks that it is current. A reading guide, not a set of targets
(architecture.md): the guide figures say where a step is long to read, and the code is not
bent to meet them. How each figure is counted: the docstring of tools/default_path.py.

## The seven core files

{sizes}

## Lines to read for each step of docs/flow.md

Each row: the functions docs/flow.md's reading list names and the functions they call one
level down, checks included (a callee that another row names is counted there; what those
callees call in turn is not, so a row is a floor); the lines of the `check_*` helpers among
them; the passages (runs read straight through, `file first-last`).

{steps}

## Guard lines in the functions of the reading list

{guards}
"""


ENTERED = """
## Lines a default run enters

`python tools/default_path.py`: the demo (configs/demo.py), shortened to one epoch on 256 /
128 images. The extras it enters are the ones every run imports (extras/README.md).

{entered}
"""


def page():
    """The page up to its last section (which needs a run): what tests/test_layout.py
    compares with docs/default_path.md."""
    return PAGE.format(sizes=sizes_table(), steps=steps_table(), guards=guards_table())


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=os.path.join(ROOT, 'configs', 'demo.py'))
    p.add_argument('--markdown', help='write the page (sizes, steps, guards) to this file')
    p.add_argument('--guards', action='store_true', help='guard lines (no run)')
    p.add_argument('--steps', action='store_true', help='lines to read per step (no run)')
    p.add_argument('--long', action='store_true', help='lines over 100 characters (no run)')
    args = p.parse_args()
    if args.markdown:
        folder = os.path.dirname(os.path.abspath(args.markdown))
        if not os.path.isdir(folder):
            sys.exit(f'error: --markdown {args.markdown}: the folder {folder} does not exist')
        entered = entered_table(demo_run(args.config))
        with open(args.markdown, 'w') as f:
            f.write(page() + ENTERED.format(entered=entered))
        print(f'wrote {args.markdown}')
    elif args.steps:
        print(steps_table())
    elif args.guards:
        print(guards_table())
    elif args.long:
        print('\n'.join(f'{n:5d} {path}' for path, n in long_lines().items()) or 'none')
    else:
        print(entered_table(demo_run(args.config)))


if __name__ == '__main__':
    main()
