"""docs/lab.md, exercises/README.md, docs/walkthrough.md and docs/flow.md as a teacher
uses them, where it costs no training run:

- every `file.py: name` that they, the README and every other page of docs/ point a reader
  to exists in the code (checked on the syntax tree, as tests/test_lab_tools.py does for the
  lab's table; `tools/train.py` is mmcls's; the tests they name: tests/test_docs_quoted.py);
- the start/reset/solution commands of the lab's and the exercises README's blocks run in
  their written order on a copy of exercises/, each doing what its comment says: a copy
  made, the pristine start back, the reference solution in place, and every replaced
  version kept (.bak, .bak2, ...).
"""
import re
import shlex
import shutil
import sys
from pathlib import Path

import procs
from test_lab_tools import defined, names_in

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import quoted_outputs as tool  # noqa: E402  (its DOCS: README, every page of docs/, exercises)
DOCS = ['docs/lab.md', 'docs/walkthrough.md', 'docs/flow.md', 'exercises/README.md']
UPSTREAM = {'tools/train.py'}             # mmcls's files, named beside ours


def test_every_file_and_function_the_docs_name_exists():
    missing = []
    assert set(DOCS) <= set(tool.DOCS), tool.DOCS
    for doc in tool.DOCS:
        for path, name in names_in((ROOT / doc).read_text()):
            # a quoted message (`mm.py: optimizer.momentun=0.9 is not ...`) names no code
            if path in UPSTREAM or path.startswith('test') or not re.fullmatch(r'[\w.]+', name):
                continue
            if not (ROOT / path).exists() or not defined(str(ROOT / path), name):
                missing.append(f'{doc}: `{path}: {name}`')
    assert not missing, 'the docs name what the code does not define:\n' + '\n'.join(missing)


def start_commands(doc):
    """The `python exercises/start.py ...` lines of the doc's indented blocks, comment cut."""
    lines = re.findall(r'^    (python exercises/start\.py.*)$', (ROOT / doc).read_text(), re.M)
    return [shlex.split(line.split('#', 1)[0]) for line in lines]


def test_the_start_reset_and_solution_commands_do_what_the_docs_say(tmp_path):
    for doc in ['docs/lab.md', 'exercises/README.md']:
        commands = start_commands(doc)
        flags = [tuple(c[2:]) for c in commands]
        assert flags[:2] == [(), ('02',)], flags
        assert ('02', '--reset') in flags and ('02', '--solution') in flags, flags
        copy = tmp_path / doc.replace('/', '_') / 'exercises'
        shutil.copytree(ROOT / 'exercises', copy,
                        ignore=shutil.ignore_patterns('work', '__pycache__'))
        target = copy / 'work' / 'ex02_lr_policy.py'
        start = (copy / '02_lr_policy' / 'start.py').read_text()
        solution = (copy / 'solutions' / '02_lr_policy.py').read_text()
        kept = []
        # the doc's commands in order, then --reset and --solution once more: nothing is lost
        again = [c for c in commands if c[2:] in (['02', '--reset'], ['02', '--solution'])]
        for number, args in enumerate(commands + again):
            existed = target.exists()
            mine = f'# my version {number}\n'
            if existed:
                target.write_text(mine)
            r = procs.run([sys.executable, str(copy / 'start.py'), *args[2:]], timeout=60,
                          cwd=copy.parent)
            assert r.returncode == 0, (doc, args, r.stderr)
            if args[2:] == []:
                assert re.search(r'^02_lr_policy +(started|-) ', r.stdout, re.M), r.stdout
                continue
            if existed:
                kept.append(mine)
            assert target.read_text() == (solution if '--solution' in args else start), (doc, args)
        backups = sorted(target.parent.glob('ex02_lr_policy.py.bak*'),
                         key=lambda p: (len(p.name), p.name))
        assert [p.name for p in backups] == ['ex02_lr_policy.py.bak'] + [
            f'ex02_lr_policy.py.bak{n}' for n in range(2, len(kept) + 1)]
        assert [p.read_text() for p in backups] == kept, doc
        r = procs.run([sys.executable, str(copy / 'start.py'), '02', '--reset', '--solution'],
                      timeout=60)
        assert r.returncode == 2 and 'not allowed' in r.stderr
