"""The command outputs quoted in the docs, regenerated from real runs.

    python tools/quoted_outputs.py             # rewrites every marked block from a fresh run
    python tools/quoted_outputs.py --check     # exit 1, with a diff, where a block differs
    python tools/quoted_outputs.py --list      # the commands, and where their outputs go

A marked block is an HTML comment that names a command, right above a fenced block; the
block holds what the command prints (Markdown shows the comment as nothing):

    <!-- output: python train.py --config configs/demo.py --debug --trace | grep -F '[trace]' -->
    ```
    [trace] 1. build_dataloader x 1: batch 128, 0 workers, seed 0
    ...
    ```

A file that is a command's output as a whole is listed in FILES below. Edit the command,
never the block, and rerun; tests/test_docs_quoted.py fails when a block is not what its
command prints today.

How a command runs: with bash, from the repository root as the docs say, but in a scratch
folder that links every top-level entry of the repository except data/ and work_dirs/, so
that the run writes its data and work dirs there and never into the repository; `python`
is this interpreter. The first command of a pipeline runs once per call of this tool,
whichever blocks share it; the rest of the pipeline (grep, tools/hook_timeline.py) reads
its stdout.

What is normalised, and nothing else (the outputs are otherwise verbatim), in this order:

1. the logger's prefix (`2026-12-02 09:32:20,012 - minicls - INFO - `) is removed;
2. a run's timestamp (`20261202_093217`, in work dirs and file names) becomes `<timestamp>`;
3. the scratch folder's path becomes `.` (the repository root, where the docs run it);
4. the timings of a log line become placeholders: `eta: <eta>`, `time: <s>`, `data_time: <s>`;
5. spaces at the end of a line are removed.

Outputs quoted inside sentences and tables (a checker's message, an error line, a log line)
are not blocks: tests check them against real runs with `matches(quote, output)`, whose
rules are these. Runs of spaces and line breaks count as one space; `...`, `[...]` and a
`<placeholder>` stand for any text, the spaces around them included; a number written with d
decimals stands for any number that rounds to it at d decimals (the checkers print every
digit of a float, the docs round them), a number without decimals for that integer only.
"""
import argparse
import difflib
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The documents whose marked blocks this tool keeps, relative to the repository root: the
# README, every page of docs/ and the exercises' README.
DOCS = ['README.md', *sorted('docs/' + os.path.basename(path)
                             for path in glob.glob(os.path.join(ROOT, 'docs', '*.md'))),
        'exercises/README.md']

# Files that are one command's output as a whole: path -> command.
# docs/hook_timeline.txt is the trace of the demo's 5 epochs x 40 iterations; 2 images a batch
# (80 train, 2 val images) give the same 40 iterations an epoch and the same trace lines in
# a few seconds instead of the demo's minute: the timeline reads nothing else.
TIMELINE_RUN = ('python train.py --config configs/demo.py --trace --cfg-options '
                'data.samples_per_gpu=2 data.train.num_samples=80 data.val.num_samples=2')
FILES = {'docs/hook_timeline.txt': TIMELINE_RUN + ' | python tools/hook_timeline.py - --text'}

MARK = re.compile(r'<!-- output: (?P<command>.+?) -->\n(?P<fence>```[^\n]*)\n'
                  r'(?P<body>.*?)(?<=\n)```', re.S)
SKIP = {'data', 'work_dirs', '.git', '.venv', '.pytest_cache', '__pycache__'}
TIMEOUT = 300


def scratch(dest):
    """`dest` made a stand-in for the repository root: a link to every top-level entry but
    data/, work_dirs/ and the caches. Returns dest."""
    os.makedirs(dest, exist_ok=True)
    for name in sorted(os.listdir(ROOT)):
        if name not in SKIP and not os.path.lexists(os.path.join(dest, name)):
            os.symlink(os.path.join(ROOT, name), os.path.join(dest, name))
    return dest


def environment():
    """This interpreter's folder first on PATH: `python` in a command is this Python."""
    env = dict(os.environ)
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    return env


def shell(command, cwd, stdin=None, timeout=TIMEOUT):
    """Run `command` with bash in its own process group (killed with the group when done or
    timed out); return its stdout. A non-zero exit status is an error that shows stderr."""
    proc = subprocess.Popen(['bash', '-c', command], cwd=cwd, env=environment(), text=True,
                            start_new_session=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f'{command!r} did not finish within {timeout} s') from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f'{command!r} exited with {proc.returncode}:\n{err[-3000:]}')
    return out


def normalise(text, folder):
    """The documented normalisation (the module docstring), nothing else."""
    text = re.sub(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \w+ - [A-Z]+ - ', '', text, flags=re.M)
    text = re.sub(r'\b\d{8}_\d{6}\b', '<timestamp>', text)
    for path in {folder, os.path.realpath(folder)}:
        text = text.replace(path, '.')
    text = re.sub(r'\beta: \d+:\d\d:\d\d', 'eta: <eta>', text)
    text = re.sub(r'\b(data_time|time): \d+\.\d+', r'\1: <s>', text)
    end = '\n' if text.endswith('\n') else ''
    return '\n'.join(line.rstrip() for line in text.splitlines()) + end


NUMBER = re.compile(r'-?\d+(?:\.\d+)?(?:e[-+]?\d+)?')
WILD = re.compile(r'\[\.\.\.\]|\.\.\.|<[^<>\n]+>')


def _tokens(quote):
    """The quote as ('lit', text), ('num', text) and ('any', None) tokens."""
    tokens, pos = [], 0
    quote = ' '.join(quote.split())
    for m in re.finditer(f'{WILD.pattern}|{NUMBER.pattern}', quote):
        if m.start() > pos:
            tokens.append(('lit', quote[pos:m.start()]))
        tokens.append(('any', None) if WILD.fullmatch(m.group()) else ('num', m.group()))
        pos = m.end()
    if pos < len(quote):
        tokens.append(('lit', quote[pos:]))
    for i, (kind, value) in enumerate(tokens):      # the spaces around a wildcard are its own
        if kind == 'lit':
            if i + 1 < len(tokens) and tokens[i + 1][0] == 'any':
                value = value.rstrip(' ')
            if i and tokens[i - 1][0] == 'any':
                value = value.lstrip(' ')
            tokens[i] = (kind, value)
    return [token for token in tokens if token != ('lit', '')]


def _same_number(quoted, printed):
    if '.' not in quoted and 'e' not in quoted:
        return '.' not in printed and 'e' not in printed and int(quoted) == int(printed)
    decimals = len(quoted.split('.')[1].split('e')[0]) if '.' in quoted else 0
    return abs(float(printed) - float(quoted)) <= 0.5 * 10 ** -decimals * (1 + 1e-9) + 1e-12


def matches(quote, output, whole=False):
    """True if `quote` (from a doc) appears in `output` (a real run's), by the rules of the
    module docstring; with whole=True, if it is all of `output`."""
    tokens = _tokens(quote)
    text = ' '.join(output.split())
    seen = set()

    def match(t, pos):                    # tokens[t:] match text at pos
        if t == len(tokens):
            return not whole or pos == len(text)
        if (t, pos) in seen:
            return False
        seen.add((t, pos))
        kind, value = tokens[t]
        if kind == 'lit':
            return text.startswith(value, pos) and match(t + 1, pos + len(value))
        if kind == 'num':
            m = NUMBER.match(text, pos)
            return bool(m) and _same_number(value, m.group()) and match(t + 1, m.end())
        return any(match(t + 1, p) for p in starts(t + 1, pos))

    def starts(t, pos):                   # where tokens[t] may begin, from pos on
        if t == len(tokens):
            return [len(text)]
        kind, value = tokens[t]
        if kind == 'lit':
            found = []
            at = text.find(value, pos)
            while at >= 0:
                found.append(at)
                at = text.find(value, at + 1)
            return found
        if kind == 'num':
            return [m.start() for m in NUMBER.finditer(text, pos)]
        return [pos]

    return any(match(0, start) for start in ([0] if whole else starts(0, 0)))


class Runner:
    """Runs the commands in one scratch folder; each pipeline's first command once."""

    def __init__(self, folder=None):
        self.folder = scratch(folder or tempfile.mkdtemp(prefix='quoted_outputs_'))
        self.first = {}

    def stdout_of(self, program):
        """The raw stdout of one command (not a pipeline), run once."""
        if program not in self.first:
            self.first[program] = shell(program, self.folder)
        return self.first[program]

    def output(self, command):
        """What `command` (a pipeline, maybe) prints, normalised."""
        program, _, rest = command.partition(' | ')
        out = self.stdout_of(program)
        if rest:
            out = shell(rest, self.folder, stdin=out)
        return normalise(out, self.folder)


def blocks(text):
    """[(command, body, start, end)] of every marked block; start:end spans the body."""
    return [(m.group('command'), m.group('body'), m.start('body'), m.end('body'))
            for m in MARK.finditer(text)]


def targets(root=ROOT):
    """[(path, command, committed text)] for every marked block and every file of FILES."""
    found = []
    for doc in DOCS:
        path = os.path.join(root, doc)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                found += [(doc, command, body) for command, body, _, _ in blocks(f.read())]
    for doc, command in FILES.items():
        path = os.path.join(root, doc)
        committed = open(path, encoding='utf-8').read() if os.path.exists(path) else ''
        found.append((doc, command, committed))
    return found


def stale(runner, root=ROOT):
    """[(path, command, committed, fresh)] of every target that differs from a fresh run."""
    return [(doc, command, committed, fresh) for doc, command, committed in targets(root)
            for fresh in [runner.output(command)] if fresh != committed]


def diff(doc, command, committed, fresh):
    return ''.join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                        f'{doc} (committed)', f'{command} (now)'))


def rewrite(runner, root=ROOT):
    """Write every block and file anew; return the paths that changed."""
    changed = []
    for doc in DOCS:
        path = os.path.join(root, doc)
        if not os.path.exists(path):
            continue
        with open(path, encoding='utf-8') as f:
            text = f.read()
        new = text
        for command, body, start, end in reversed(blocks(text)):
            new = new[:start] + runner.output(command) + new[end:]
        if new != text:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(new)
            changed.append(doc)
    for doc, command in FILES.items():
        path = os.path.join(root, doc)
        fresh = runner.output(command)
        if not os.path.exists(path) or open(path, encoding='utf-8').read() != fresh:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(fresh)
            changed.append(doc)
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Regenerate (or --check) the command outputs quoted in the docs.')
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 where a block is stale')
    parser.add_argument('--list', action='store_true',
                        help='print the commands and where their outputs go')
    args = parser.parse_args(argv)
    if args.list:
        for doc, command, _ in targets():
            print(f'{doc}: {command}')
        return 0
    with tempfile.TemporaryDirectory(prefix='quoted_outputs_') as folder:
        runner = Runner(folder)
        if args.check:
            found = stale(runner)
            for item in found:
                print(diff(*item))
            print(f'{len(found)} stale block(s)' if found
                  else 'every quoted output is what its command prints')
            return 1 if found else 0
        changed = rewrite(runner)
    print('rewrote ' + ', '.join(changed) if changed else 'nothing changed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
