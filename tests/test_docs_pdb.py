"""docs/walkthrough.md's pdb recipe, typed into pdb the way a student types it.

The recipe is read from the walkthrough itself (the indented block that starts with
`python -m pdb`), never copied here: its command runs from a scratch stand-in for the
repository root (tools/quoted_outputs.py: scratch), its `(Pdb) ` lines go to pdb's stdin,
and the test checks that
- pdb sets every breakpoint the recipe names inside that function (a `b module.Class.method`
  that pdb resolves to the class line would never stop),
- the run stops at every one of them, in the order the recipe sets them, and nothing fails;
- and, in the same session, that every other breakpoint of the walkthrough's table, set
  beside the recipe's (in `main`, where the recipe imports the modules) as a one-off
  (`tbreak`), is hit too.
"""
import ast
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import procs

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = ROOT / 'docs' / 'walkthrough.md'
STOP = re.compile(r'> (\S+\.py)\((\d+)\)(\S+)\(\)')
SET = re.compile(r'Breakpoint (\d+) at (\S+\.py):(\d+)')


def load_tool():
    spec = importlib.util.spec_from_file_location('quoted_outputs',
                                                  ROOT / 'tools' / 'quoted_outputs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recipe(text):
    """(the shell command, [the pdb commands]) of the indented block that runs pdb."""
    blocks = re.findall(r'(?:^    .*\n)+', text, re.M)
    block = next(b for b in blocks if 'python -m pdb' in b)
    lines = [line.strip() for line in block.splitlines()]
    command = next(line for line in lines if line.startswith('python -m pdb'))
    return command, [line[len('(Pdb) '):] for line in lines if line.startswith('(Pdb) ')]


def table_breakpoints(text):
    """The names in the first column of the walkthrough's breakpoint table."""
    table = text.split('| breakpoint (pdb: `b <name>`)', 1)[1].split('\n\n', 1)[0]
    return re.findall(r'^\| `([\w.]+)` \|', table, re.M)


def span(name):
    """`module.function` or `module.Class.method` -> (file, first line, last line) of its def."""
    module, *path = name.split('.')
    file = ROOT / f'{module}.py'
    scope = ast.parse(file.read_text()).body
    for part in path:
        node = next(n for n in scope
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
        scope = node.body
    return file, node.lineno, node.end_lineno


def stops(out):
    """[(file, line, function)] of every place pdb stopped, in order."""
    return [(Path(f).resolve(), int(line), func) for f, line, func in STOP.findall(out)]


def test_the_walkthrough_pdb_recipe_stops_at_every_breakpoint_in_order(tmp_path):
    text = WALKTHROUGH.read_text()
    command, commands = recipe(text)
    named = [c.split(None, 1)[1] for c in commands if c.split()[0] in ('b', 'break')]
    assert len(named) >= 3, commands
    extra = [name for name in table_breakpoints(text) if name not in named]
    assert len(extra) >= 3, extra
    # the table's other breakpoints, set where the walkthrough says (with the recipe's, in the
    # frame of its import) as one-off stops; then a `c` for each stop the recipe's `c` leave
    last_b = max(i for i, c in enumerate(commands) if c.split()[0] in ('b', 'break'))
    session = commands[:last_b + 1] + [f'tbreak {name}' for name in extra] + commands[last_b + 1:]
    session += ['c'] * max(0, len(named) + len(extra) - commands.count('c'))
    args = shlex.split(command)
    assert args[0] == 'python'
    folder = load_tool().scratch(tmp_path / 'root')
    with procs.popen([sys.executable] + args[1:], cwd=folder, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        out, _ = proc.communicate('\n'.join(session) + '\n', timeout=300)
    assert 'Traceback' not in out and 'Uncaught exception' not in out, out[-4000:]
    assert '*** ' not in out, out[-4000:]          # pdb's mark for a command it refused

    set_at = SET.findall(out)
    assert len(set_at) == len(named) + len(extra), out[-4000:]
    for name, (_, file, line) in zip(named + extra, set_at):
        where, first, last = span(name)
        assert Path(file).resolve() == where and first <= int(line) <= last, (
            f'pdb put `b {name}` at {file}:{line}, outside {where.name} lines {first}-{last}')

    def which(stop):
        f, line, func = stop
        return next((name for name in named + extra
                     if span(name)[0] == f and name.split('.')[-1] == func
                     and span(name)[1] <= line <= span(name)[2]), None)
    # not pdb's first stop, line 1 of train.py
    seen = [which(s) for s in stops(out) if s[2] != '<module>']
    assert None not in seen, (stops(out), out[-4000:])
    assert list(dict.fromkeys(name for name in seen if name in named)) == named, (seen, out[-4000:])
    # the table's other breakpoints: each hit once (in the run's order, not the table's)
    assert sorted(name for name in seen if name in extra) == sorted(extra), (seen, out[-4000:])
