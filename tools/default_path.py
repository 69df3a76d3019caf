"""How much code a default run enters: the line span of every function of this repository
that `python train.py --config configs/demo.py` calls, per file.

    python tools/default_path.py                    # prints a Markdown table
    python tools/default_path.py --config config.py --markdown docs/default_path.md
    python tools/default_path.py --steps            # lines to read per step of docs/flow.md
    python tools/default_path.py --guards           # inline guard lines in the flow functions

A function counts with all its lines, from its `def` (or decorator) to its last line,
docstring and comments included; a function inside another one is inside its span. Module
and class bodies, which run at import, do not count: they are definitions, not the path.
The run is the demo shortened to one epoch on 256 / 128 images, with no loader worker
processes (the same functions run, in this process, where sys.settrace sees them).
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


def table(lines):
    rows = ['| file | lines entered | lines in file |', '|---|---:|---:|']
    files = sorted(lines, key=lambda f: (f not in CORE, CORE.index(f) if f in CORE else 0, f))
    for f in files:
        rows.append(f'| {f} | {len(lines[f])} | {sum(1 for _ in open(os.path.join(ROOT, f)))} |')
    core = sum(len(v) for f, v in lines.items() if f in CORE)
    rows.append(f'| **the seven core files** | **{core}** | '
                f'**{sum(sum(1 for _ in open(os.path.join(ROOT, f))) for f in CORE)}** |')
    rows.append(f'| **everything entered** | **{sum(len(v) for v in lines.values())}** | |')
    return '\n'.join(rows)


def spans(path):
    """{'name' or 'Class.name' or 'Class': (first line, last line)} of a file's functions
    and classes (decorators included)."""
    tree = ast.parse(open(os.path.join(ROOT, path)).read())
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[node.name] = (first, node.end_lineno)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    first = min([item.lineno] + [d.lineno for d in item.decorator_list])
                    found[f'{node.name}.{item.name}'] = (first, item.end_lineno)
    return found


def is_check(name):
    """A check helper, which the reading count leaves out: check_*, or a class's _check*."""
    last = name.split('.')[-1]
    return last.startswith('check_') or last.startswith('_check')


def reading_lines(entries):
    """Lines to read for a list of 'file.py: name' entries: the union of their spans,
    less the spans of check helpers inside them."""
    lines = set()
    for entry in entries:
        path, name = (part.strip() for part in entry.split(':'))
        table = spans(path)
        if name not in table:
            raise SystemExit(f'docs/flow.md names {entry!r}, which {path} does not define')
        first, last = table[name]
        lines |= {(path, n) for n in range(first, last + 1)}
        for other, (a, b) in table.items():
            if is_check(other) and first <= a and b <= last:
                lines -= {(path, n) for n in range(a, b + 1)}
    return len(lines)


def reading_list(flow=os.path.join(ROOT, 'docs', 'flow.md')):
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


def steps_table(limit=150, first_limit=200):
    rows = ['| step | lines to read | target |', '|---|---:|---:|']
    for i, (step, entries) in enumerate(reading_list()):
        target = first_limit if i == 0 else limit
        n = reading_lines(entries)
        rows.append(f'| {step} | {n}{"" if n <= target else " (over)"} | <= {target} |')
    return '\n'.join(rows)


# The functions a student reads to follow train_model (issue 22's list)
FLOW = ('train_model', 'main', 'build_cfg', 'EpochBasedRunner.__init__', 'register_hook',
        'register_training_hooks', 'register_logger_hooks', 'run', 'train', 'run_iter', 'resume',
        'save_checkpoint', 'load_checkpoint', 'build_optimizer', 'build_dataloader',
        'build_dataset', 'collate', 'build_updater_hook', 'build_optimizer_hook', 'train_step',
        '_parse_losses', 'build_classifier')


def guard_lines(node):
    """Lines of an `if` whose body only raises, an `except` that only raises, a `raise`."""
    def only_raises(body):
        return all(isinstance(s, ast.Raise) for s in body)
    lines = set()
    for n in ast.walk(node):
        if isinstance(n, ast.If) and only_raises(n.body) and not n.orelse \
                or isinstance(n, ast.ExceptHandler) and only_raises(n.body) \
                or isinstance(n, ast.Raise):
            lines.update(range(n.lineno, n.end_lineno + 1))
    return len(lines)


def flow_guards():
    """{'file: function': guard lines} for every flow function of the core files."""
    found = {}
    for path in CORE:
        tree = ast.parse(open(os.path.join(ROOT, path)).read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) and node is not tree:
                continue
            for fn in node.body:
                if not isinstance(fn, ast.FunctionDef):
                    continue
                name = fn.name if fn.name != '__init__' else f'{getattr(node, "name", "")}.__init__'
                if name in FLOW:
                    found[f'{path}: {getattr(node, "name", "") + "." if node is not tree else ""}'
                          f'{fn.name}'] = guard_lines(fn)
    return found


SHORTEN = """import runpy
from dataclasses import replace
cfg = runpy.run_path({config!r})['cfg']
data = replace(cfg.data, workers_per_gpu=0, train=replace(cfg.data.train, num_samples=256),
               val=replace(cfg.data.val, num_samples=128))
cfg = replace(cfg, total_epochs=1, data=data)
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=os.path.join(ROOT, 'configs', 'demo.py'))
    p.add_argument('--markdown', help='also write the table to this file')
    p.add_argument('--guards', action='store_true',
                   help='inline guard lines in the flow functions (no run)')
    p.add_argument('--steps', action='store_true',
                   help='the lines a reader reads for each step of docs/flow.md (no run)')
    args = p.parse_args()
    if args.steps:
        print(steps_table())
        return
    if args.guards:
        guards = flow_guards()
        for name, n in sorted(guards.items(), key=lambda kv: -kv[1]):
            if n:
                print(f'{n:4d}  {name}')
        print(f'guards {sum(guards.values())} in {len(guards)} flow functions '
              f'(max {max(guards.values())})')
        return
    with tempfile.TemporaryDirectory() as work:
        # the shortening is a config file of its own: --cfg-options would enter its extra
        short = os.path.join(work, 'short.py')
        with open(short, 'w') as f:
            f.write(SHORTEN.format(config=os.path.abspath(args.config)))
        os.chdir(ROOT)
        result = table(entered_spans(['--config', short, '--work-dir', os.path.join(work, 'run')]))
    print(result)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(result + '\n')


if __name__ == '__main__':
    main()
