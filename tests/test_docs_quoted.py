"""The command outputs quoted in README.md, docs/ and exercises/README.md are what the
program prints today, the tests they name exist, and they cite no issue, session or round.

- Marked blocks (`<!-- output: command -->` above a fenced block) and docs/hook_timeline.txt
  equal a fresh run of their command (tools/quoted_outputs.py --check, its documented
  normalisation); the two train.py runs this takes are shared with the checks below.
- Quotes inside sentences and tables are checked against real runs with
  tools/quoted_outputs.py's `matches` (`...`, `[...]` and `<placeholder>` stand for any
  text, a rounded number for the numbers that round to it):
  - every log line quoted (`Epoch [1][10/40]\\tlr: ...`, `Epoch(val) [1][8]\\t...`) has the
    fields, in order, of a real log line of the demo (the values are one run's);
  - docs/lab.md's "It must end with a line `Logs are in ...`" is the last line of `--debug`,
    and the `--debug` folder's timestamp is its log's;
  - docs/bad_input.md's table: each message is what train.py prints for that input (run
    in this process, as tests/test_bad_input.py does), and every row is either run here
    (ROWS) or named in NOT_RUN with the reason; the same messages quoted in the docs
    (ALSO_QUOTED) too.
- Every test a doc names (`test_x.py: test_name`, `test_name_*` for a family) is defined
  in that file.
"""
import importlib.util
import io
import os
import pickle
import re
import sys
from pathlib import Path

import pytest
import torch

import procs
import train

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / 'configs' / 'demo.py')
# configs/demo.py shrunk to a tiny model and 32 / 16 images: each run below takes ~0.1 s
TINY = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4',
        'model.backbone.num_stages=1', 'model.backbone.out_indices=[0]',
        'model.head.in_channels=4', 'data.samples_per_gpu=16', 'data.workers_per_gpu=0',
        'data.train.num_samples=32', 'data.val.num_samples=16']
WIDER = ['model.backbone.base_channels=8', 'model.backbone.stem_channels=8',
         'model.head.in_channels=8']
DEBUG_RUN = 'python train.py --config configs/demo.py --debug --trace'


def load_tool():
    spec = importlib.util.spec_from_file_location('quoted_outputs',
                                                  ROOT / 'tools' / 'quoted_outputs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The tool's runner: each command's first program runs once for this module."""
    return tool.Runner(str(tmp_path_factory.mktemp('quoted_outputs')))


def test_marked_blocks_and_files_are_what_their_commands_print(runs):
    targets = tool.targets()
    docs = {doc for doc, _, _ in targets}
    assert {'docs/walkthrough.md', 'docs/hook_timeline.txt'} <= docs, docs
    stale = tool.stale(runs)
    assert not stale, ('stale quoted outputs (rerun python tools/quoted_outputs.py):\n'
                       + '\n'.join(tool.diff(*item) for item in stale))


# --- log lines ----------------------------------------------------------------------------

def log_fields(line):
    """'Epoch [1][10/40]\\tlr: 1.000e-01, eta: ..., loss: 2.2950' -> ('Epoch [#][#/#]',
    ['lr', 'eta', ..., 'loss'], ends with '...'). Digits become '#'."""
    line = line.replace('\\t', '\t')
    head, _, rest = line.partition('\t')
    items = [item.strip() for item in rest.split(', ')]
    more = bool(items) and items[-1] == '...'
    keys = [item.split(': ', 1)[0] for item in items if item != '...']
    return re.sub(r'\d+', '#', head.strip()), keys, more


def quoted_log_lines():
    found = []
    for doc in tool.DOCS:
        text = (ROOT / doc).read_text()
        found += [(doc, q) for q in re.findall(r'`(Epoch(?:\(val\))? \[\d+\]\[[^`]*)`', text)]
    return found


def test_quoted_log_lines_have_the_fields_of_real_ones(runs):
    out = runs.stdout_of(tool.TIMELINE_RUN)   # the demo's 40 iterations an epoch, every 10th logged
    real = {}
    for line in out.splitlines():
        m = re.search(r'(Epoch(?:\(val\))? \[.*)$', line)
        if m:
            head, keys, _ = log_fields(m.group(1))
            real.setdefault(head, keys)
    quoted = quoted_log_lines()
    assert len(quoted) >= 3, quoted
    for doc, quote in quoted:
        head, keys, more = log_fields(quote)
        assert head in real, f'{doc}: `{quote}`: no such line in a run ({sorted(real)})'
        assert (real[head][:len(keys)] if more else real[head]) == keys, (
            f'{doc}: `{quote}` has the fields {keys}; the demo logs {real[head]}')
        assert re.search(r'Epoch \[1\]\[10/40\]\t', out) and 'Epoch(val) [1][' in out


def test_the_lab_quotes_the_last_line_of_a_debug_run(runs):
    lab = (ROOT / 'docs' / 'lab.md').read_text()
    quote = re.search(r'It must end with a line `([^`]+)`', lab).group(1)
    last = runs.stdout_of(DEBUG_RUN).strip().splitlines()[-1]
    assert tool.matches(quote, last), f'lab.md: `{quote}`; the last line of {DEBUG_RUN!r}: {last!r}'
    # "its own folder, work_dirs/demo/debug/<timestamp>/": the folder's timestamp is its logs'
    folder, log = re.search(r'work_dirs/demo/debug/(\d{8}_\d{6})/(\d{8}_\d{6})\.log\.json',
                            last).groups()
    assert folder == log, last


# --- docs/bad_input.md's table ------------------------------------------------------------

class Case:
    """One input of a row: train.py's arguments (the shrunk demo unless they name --config),
    --cfg-options, files to write first ({name: text or bytes or callable(folder)}), a
    setup(folder, monkeypatch) to run first (it may return a function that undoes it), and
    where the message goes."""

    def __init__(self, *args, options=(), files=None, setup=None, stream='err'):
        self.args, self.options, self.files = list(args), list(options), files or {}
        self.setup, self.stream = setup, stream


def saved(obj):                            # torch.save's bytes
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def good(folder):                          # a real checkpoint of the shrunk demo, copied in
    return (folder.parent / 'good' / 'w' / 'epoch_1.pth').read_bytes()


def planted(change):
    """A callable writing the good checkpoint with `change(checkpoint)` applied."""
    def write(folder):
        checkpoint = torch.load(folder.parent / 'good' / 'w' / 'epoch_1.pth', weights_only=True)
        checkpoint['meta'] = dict(checkpoint['meta'])
        change(checkpoint)
        path = folder / 'm.pth'
        torch.save(checkpoint, path)
        return path.read_bytes()
    return write


def adam_state(checkpoint):
    checkpoint['optimizer'] = torch.optim.Adam(torch.nn.Linear(1, 1).parameters()).state_dict()


def hold_lock(folder, monkeypatch):        # another run holding the work dir; returns the release
    from extras.run import work_dir
    fd = work_dir.lock(str(folder / 'w'))
    return lambda: os.close(fd)


def interrupt_start_up(folder, monkeypatch):   # Ctrl-C while the datasets are read
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, 'build_dataset', interrupted)


OTHER_CONFIG_PY = '''import importlib.util
spec = importlib.util.spec_from_file_location('config_copy', 'config_copy.py')
copy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(copy)
cfg = copy.cfg
'''

# The input cell of each row -> one Case per message of its message cell, in order.
ROWS = {
    '`--config missing.py`': [Case('--config', 'missing.py')],
    'a config file without `cfg`': [Case('--config', 'nocfg.py', files={'nocfg.py': 'x = 1\n'})],
    'a config file that raises': [
        Case('--config', 'failing.py', files={'failing.py': "raise RuntimeError('boom')\n"})],
    '`--cfg-options optimiser.lr=0.1`': [Case(options=['optimiser.lr=0.1'])],
    '`--cfg-options total_epochs=four`': [Case(options=['total_epochs=four'])],
    '`--cfg-options optimizer.lr`': [Case(options=['optimizer.lr'])],
    '`--cfg-options optimizer.lr=-0.1`': [Case(options=['optimizer.lr=-0.1'])],
    '`--cfg-options total_epochs=0`': [Case(options=['total_epochs=0'])],
    '`--cfg-options data.samples_per_gpu=0`': [Case(options=['data.samples_per_gpu=0'])],
    '`--cfg-options lr_config.policy=cosine`': [Case(options=['lr_config.policy=cosine'])],
    '`--cfg-options lr_config.policy=CosineAnnealing lr_config.min_lr=0` (step still set)': [
        Case(options=['lr_config.policy=CosineAnnealing', 'lr_config.min_lr=0'])],
    '`--cfg-options optimizer.type=SDG`': [Case(options=['optimizer.type=SDG'])],
    '`--cfg-options data.train.type=CIFAR1000`': [Case(options=['data.train.type=CIFAR1000'])],
    "a pipeline `dict(type='RandomCrop', sise=32)`": [
        Case(options=["data.train.pipeline=[{'type': 'RandomCrop', 'sise': 32}]"])],
    "a pipeline `dict(type='Resise')`": [
        Case(options=["data.train.pipeline=[{'type': 'Resise'}]"])],
    '`--resume nope.pth`': [Case('--resume', 'nope.pth')],
    '`--resume junk.pth` (truncated / not a checkpoint)': [
        Case('--resume', 'junk.pth', files={'junk.pth': lambda folder: good(folder)[:100]})],
    '`--load-from pickle.pth` (needs unpickling)': [
        Case('--load-from', 'pickle.pth',
             files={'pickle.pth': pickle.dumps({'state_dict': {}, 'meta': object()})})],
    '`--resume` with a checkpoint of another model': [Case('--resume', 'good.pth', options=WIDER,
                                                           files={'good.pth': good})],
    '`--load-from` with other shapes (a head of another number of classes)': [
        Case('--load-from', 'good.pth', '--no-validate', options=[*WIDER, 'total_epochs=1'],
             files={'good.pth': good}, stream='out')],
    '`--load-from` a file with no key of the model': [Case('--load-from', 'other.pth', files={
        'other.pth': lambda folder: saved({'state_dict': {'fc.weight': torch.zeros(3, 4)}})})],
    '`--config epoch_1.pth` (a checkpoint where a config goes)': [
        Case('--config', 'epoch_1.pth', files={'epoch_1.pth': good})],
    'a work dir that cannot be written': [
        Case('--work-dir', 'nocfg.py/x', files={'nocfg.py': 'x = 1\n'})],
    'a fresh run in a work dir with checkpoints': [
        Case('--work-dir', 'w', files={'w/epoch_1.pth': good})],
    'a NaN loss': [Case('--no-validate', options=['optimizer.lr=1e30'])],
    "`evaluation.metric='mAP'`, `metric_options={'topk': 'a'}`": [
        Case(options=["evaluation.metric='mAP'"])],
    "`workflow=[('val', 1)]` (mmcv would loop forever)": [Case(options=["workflow=[('val', 1)]"])],
    '`lr_config.gamma=-1`, `optimizer_config.grad_clip.max_norm=-1`': [
        Case(options=['lr_config.gamma=-1'])],
    "`total_epochs=1e30`, `log_level=LOUD`, `custom_hooks=['EMAHook']`": [
        Case(options=['total_epochs=1e30']), Case(options=['log_level=LOUD']),
        Case(options=["custom_hooks=['EMAHook']"])],
    "an mmcv-style `optimizer=dict(type='SGD', ...)` in a config file": [
        Case('--config', 'mmcv_style.py', files={'mmcv_style.py': (
            "from config import cfg, replace\n"
            "cfg = replace(cfg, optimizer=dict(type='SGD', lr=0.1, momentum=0.9))\n")})],
    'a `Config` from another copy of config.py': [Case('--config', 'c.py', files={
        'config_copy.py': (ROOT / 'config.py').read_text(), 'c.py': OTHER_CONFIG_PY})],
    '`--config some_dir`, `--resume some_dir`': [
        Case('--config', 'some_dir', files={'some_dir/x': ''}),
        Case('--resume', 'some_dir', files={'some_dir/x': ''})],
    '`--resume x.log.json`': [
        Case('--resume', 'x.log.json', files={'x.log.json': '{"mode": "train"}\n'})],
    '`--resume a.pth --load-from b.pth`': [Case('--resume', 'a.pth', '--load-from', 'b.pth')],
    'a checkpoint whose meta has no `epoch`, is a list, or whose `hook_states` is not a dict': [
        Case('--resume', 'm.pth', files={'m.pth': planted(lambda c: c['meta'].pop('epoch'))}),
        Case('--resume', 'm.pth', files={'m.pth': planted(lambda c: c.update(meta=[1, 2]))}),
        Case('--resume', 'm.pth', files={'m.pth': planted(lambda c: c.update(hook_states=[1]))})],
    'a checkpoint with malformed `rng`': [
        Case('--resume', 'm.pth',
             files={'m.pth': planted(lambda c: c.update(rng={'python': 'x'}))})],
    'an Adam checkpoint resumed with SGD': [
        Case('--resume', 'm.pth', files={'m.pth': planted(adam_state)})],
    'a checkpoint without `optimizer`': [
        Case('--resume', 'm.pth', '--no-validate', options=['total_epochs=2'],
             files={'m.pth': planted(lambda c: c.pop('optimizer'))}, stream='out')],
    'a checkpoint at epoch 99, `total_epochs=2`': [
        Case('--resume', 'm.pth', options=['total_epochs=2'],
             files={'m.pth': planted(lambda c: c['meta'].update(epoch=99))})],
    "`head.num_classes` smaller than the data's labels": [
        Case(options=['model.head.num_classes=5'])],
    'a second run in the same work dir': [Case('--work-dir', 'w', setup=hold_lock)],
    'a fresh run into a shared `checkpoint_config.out_dir` that holds checkpoints': [
        Case('--work-dir', 'w', options=['checkpoint_config.out_dir=ckpts'],
             files={'ckpts/w/epoch_1.pth': good})],
    'Ctrl-C during start-up': [Case(setup=interrupt_start_up)],
    '`--resume auto` in a work dir whose run is finished (not an error)': [
        Case('--work-dir', 'w', '--resume', 'auto', options=['total_epochs=1'],
             files={'w/epoch_1.pth': good}, stream='out')],
}
# The same messages quoted elsewhere: row -> [(doc, a regex whose group 1 is the quote)]
ALSO_QUOTED = {
    'a fresh run in a work dir with checkpoints': [
        ('docs/lab.md', r'A fresh run stops with `([^`]+)`')],
}
NOT_RUN = {
    'no CIFAR-10 on disk, no network':
        'it needs a machine without network: with one, the run downloads 170 MB',
    'a truncated or md5-mismatched batch file':
        'the row describes the message and quotes none (tests/test_data.py)',
    'a full disk while saving':
        'it needs a full disk (tests/test_work_dir.py fakes one and checks the words)',
    # the messages below are checked, word by word, where each is made
    '`--load-from` a file none of whose weights fits (every weight another shape, or another '
    'prefix)': "planted checkpoints (tests/test_bad_input.py: load-from: no weight fits, "
               'load-from: another prefix)',
    '`--resume` after class folders were renamed or added':
        'a planted checkpoint (tests/test_bad_input.py: classes renamed)',
    'a checkpoint with int64 weights':
        'a planted checkpoint (tests/test_bad_input.py: int64 weights: resume, load-from)',
    '`--resume` with a damaged optimizer state':
        'a planted checkpoint (tests/test_bad_input.py: momentum buffer of another shape)',
    'a val label past `model.head.num_classes` (an ann_file without `classes`)':
        'an ann_file (tests/test_bad_input.py: '
        'test_a_val_label_past_num_classes_is_refused_before_training)',
    'a work dir that is a dangling symbolic link':
        'tests/test_work_dir.py: test_a_work_dir_that_is_a_dangling_link_is_refused',
    '`ulimit -n 20` with 2 loader workers':
        'a process limit (tests/test_hardening.py: '
        'test_too_few_open_files_for_the_loader_workers_is_one_line)',
    'SIGTERM (or SIGHUP, Ctrl-C) sent twice': 'two real signals (tests/test_cli.py)',
    'a `.pth` whose zip directory declares 2 GB for 108 floats (a deflate bomb)':
        'tests/test_checkpoint.py patches a real zip',
    '`--resume fifo.pth`, a FIFO named `epoch_9.pth` in the work dir':
        'FIFOs (tests/test_checkpoint.py, tests/test_work_dir.py)',
    'a FIFO named `.lock` in the work dir': 'a FIFO (tests/test_work_dir.py)',
    '`--resume auto` among checkpoints this user may not read':
        "another user's files (tests/test_work_dir.py simulates the denial)",
    'API: `runner.run` with an empty or val-only workflow; `EpochBasedRunner` without `max_epochs`':
        'the API, not train.py (tests/test_runner_contract.py)',
    "API: `register_training_hooks(dict(policy='step', step=[1]), ...)`; `build_optimizer` with "
    '`paramwise_cfg=[1]`': 'the API, not train.py (tests/test_runner_contract.py)',
    'an evaluation that returns no metrics with `save_best` set':
        'a warning from the API (tests/test_runner_contract.py)',
    'an mmcls config with `optimizer = dict(momentun=0.9)`, or `TensorboardLoggerHook` in '
    '`log_config`':
        'mmcls files with _base_ (tests/test_bad_input.py: mmcls optimizer typo, mmcls logger '
        'hook)',
    'an mmcls config or checkpoint text with a size past what a model can be '
    '(`num_stages=5e6`), nested 200,000 deep, a 5,000-digit int, a list where a dict goes':
        'mmcls files and text (tests/test_bad_input.py: mmcls num_stages; '
        'tests/test_mmcls_config.py)',
    'an image file that is truncated, no image, empty (0 bytes), a decompression bomb, '
    'unreadable; a symlink loop in the folder':
        'image folders (tests/test_bad_input.py: image: <kind>)',
    'an ann_file line that is blank, names a missing file, or a label out of range':
        'image folders (tests/test_bad_input.py: image: <kind>; tests/test_image_folder.py)',
}


BAD_INPUT = ROOT / 'docs' / 'bad_input.md'


def table_rows():
    """docs/bad_input.md's table: [(input cell, [quoted messages])]."""
    section = BAD_INPUT.read_text().split('\n## The messages', 1)[1].split('\n## ', 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith('| ') or line.startswith('| input') or set(line) <= set('|- '):
            continue
        cell, message = line[2:].rsplit(' | ', 1)
        message = message.rstrip(' |')
        inner = message[message.find('`') + 1:message.rfind('`')] if '`' in message else ''
        rows.append((cell, re.split(r'`[,;] `', inner) if inner else []))
    return rows


@pytest.fixture(scope='module')
def shared(tmp_path_factory, runs):
    """A folder for every case, with the demo's data (the runs' above, made once) and a
    good checkpoint."""
    base = tmp_path_factory.mktemp('bad_input')
    os.makedirs(os.path.join(runs.folder, 'data'), exist_ok=True)
    os.symlink(os.path.join(runs.folder, 'data'), base / 'data')
    folder = base / 'good'
    folder.mkdir()
    os.symlink(base / 'data', folder / 'data')
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        train.cli(['--config', DEMO, '--work-dir', 'w', '--no-validate', '--cfg-options', *TINY,
                   'total_epochs=1'])
    finally:
        os.chdir(cwd)
    assert (folder / 'w' / 'epoch_1.pth').exists()
    return base


def run_case(case, folder, monkeypatch, capsys):
    folder.mkdir()
    os.symlink(folder.parent / 'data', folder / 'data')
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = content(folder) if callable(content) else content
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    args = case.args if '--config' in case.args else [
        '--config', DEMO, *case.args, '--cfg-options', *TINY, *case.options]
    with monkeypatch.context() as patch:
        patch.chdir(folder)
        release = case.setup(folder, patch) if case.setup else None
        capsys.readouterr()
        try:
            train.cli(args)
        except SystemExit:
            pass
        finally:
            if release:
                release()
        out, err = capsys.readouterr()
    if case.stream == 'out':
        return out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), (args, err[-2000:])
    return lines[0][len('error: '):]


def test_every_row_of_the_bad_input_table_is_run_or_says_why_not():
    cells = [cell for cell, _ in table_rows()]
    assert len(cells) >= 40, cells
    missing = [cell for cell in cells if cell not in ROWS and cell not in NOT_RUN]
    gone = [cell for cell in list(ROWS) + list(NOT_RUN) if cell not in cells]
    assert not missing and not gone, (f'docs/bad_input.md rows not run here: {missing}; '
                                      f'rows gone from docs/bad_input.md: {gone}')


def test_the_bad_input_messages_are_what_train_py_prints(shared, monkeypatch, capsys):
    wrong = []
    for number, (cell, quotes) in enumerate(table_rows()):
        if cell in NOT_RUN:
            continue
        cases = ROWS[cell]
        if len(quotes) != len(cases):
            printed = [run_case(case, shared / f'row{number}_{i}', monkeypatch, capsys)
                       for i, case in enumerate(cases)]
            wrong.append(f'{cell}\n    {len(quotes)} message(s) quoted, {len(cases)} input(s) run: '
                         + ' | '.join(printed))
            continue
        for i, (quote, case) in enumerate(zip(quotes, cases)):
            printed = run_case(case, shared / f'row{number}_{i}', monkeypatch, capsys)
            if case.stream == 'out':
                ok = tool.matches(quote, printed)
            else:
                ok = tool.matches(quote, printed, whole=True)
            if not ok:
                wrong.append(f'{cell}\n    doc:     {quote}\n    printed: {printed.strip()[-600:]}')
            for doc, pattern in ALSO_QUOTED.get(cell, []):
                other = re.search(pattern, (ROOT / doc).read_text()).group(1)
                if not tool.matches(other, printed, whole=True):
                    wrong.append(f'{cell}\n    {doc}: {other}\n'
                                 f'    printed: {printed.strip()[-600:]}')
    assert not wrong, ('docs/bad_input.md quotes messages train.py does not print:\n'
                       + '\n'.join(wrong))


# --- the tests the docs name ----------------------------------------------------------------

NAMED_TEST = re.compile(r'`(?:tests/)?(test_\w+\.py): (test_\w+?)(\*?)`')


def named_tests():
    """[(doc, file, name, is_prefix)] for every `test_x.py: test_name` quoted in the docs;
    a name in a table cell may follow others after `;` or `,` inside the same backticks."""
    found = []
    for doc in tool.DOCS:
        for m in NAMED_TEST.finditer((ROOT / doc).read_text()):
            found.append((doc, m.group(1), m.group(2), bool(m.group(3))))
    return found


def test_every_test_the_docs_name_exists():
    named = named_tests()
    assert len(named) >= 15, named
    missing = []
    for doc, file, name, prefix in named:
        source = (ROOT / 'tests' / file).read_text() if (ROOT / 'tests' / file).exists() else ''
        pattern = rf'^def {name}' + ('' if prefix else r'\(')
        if not re.search(pattern, source, re.M):
            missing.append(f'{doc}: {file}: {name}{"*" if prefix else ""}')
    assert not missing, 'the docs name tests that do not exist:\n' + '\n'.join(missing)


# --- README: the extras every run imports ---------------------------------------------------

IMPORTED = '''
import sys
import train
train.cli(sys.argv[1:])
print(' '.join(sorted(name for name in sys.modules if name.startswith('extras.'))))
'''


def test_the_readme_names_the_extras_a_demo_run_imports(tmp_path):
    text = (ROOT / 'README.md').read_text()
    paragraph = text.split('**Which extras every run imports.**', 1)[1].split('\n\n## ', 1)[0]
    optional = paragraph.split('**optional**', 1)
    named = set(re.findall(r'`(extras/[\w/]+\.py)`', optional[0]))
    asked = set(re.findall(r'`(extras/[\w/]+\.py)`', optional[1]))   # what a flag asks for
    r = procs.run([sys.executable, '-c', IMPORTED, '--config', DEMO, '--work-dir', 'w',
                   '--cfg-options', *TINY, 'total_epochs=1'],
                  cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    modules = r.stdout.strip().splitlines()[-1].split()
    imported = {name.replace('.', '/') + '.py' for name in modules if name.count('.') == 2}
    assert asked == {'extras/options/cfg_options.py'}, asked       # --cfg-options shrinks the run
    assert named == imported - asked, (
        f'README names {sorted(named - imported)} that a demo run does not import, '
        f'and not {sorted(imported - asked - named)}')


# --- no citation a reader cannot follow -----------------------------------------------------

CITATION = re.compile(r'(?<![-\w])(?:issues?|sessions?|rounds?|helper|work period)[ -]#?\d+',
                      re.I)       # not a flag such as --rounds 7


def test_no_doc_cites_an_issue_session_or_round():
    """A reader has no tracker and no diary: the docs say what and why instead."""
    found = [f'{doc}: {m.group()!r}' for doc in tool.DOCS
             for m in CITATION.finditer((ROOT / doc).read_text())]
    assert not found, found


# --- README's two set-up commands -----------------------------------------------------------

def test_the_readme_set_up_commands_are_what_ci_runs():
    """The test command is .ci/run's steps joined by &&; the demo command installs the same
    way and then runs the demo; docs/lab.md quotes both."""
    section = (ROOT / 'README.md').read_text().split('\n## Set up', 1)[1].split('\n## ', 1)[0]
    demo, tests = [line.strip().split(' && ') for line in section.splitlines()
                   if line.startswith('       python3 -m venv')]
    steps = (ROOT / '.ci' / 'run').read_text().splitlines()
    ci = [line.replace('pip install -q ', 'pip install ') for line in steps
          if line and not line.startswith(('#', 'set ', 'cd '))]
    assert tests == ci, (tests, ci)
    assert demo == ci[:3] + ['python train.py --config configs/demo.py'], demo   # no extras
    lab_lines = (ROOT / 'docs' / 'lab.md').read_text().splitlines()
    lab = [line.strip().split(' && ') for line in lab_lines
           if line.startswith('    python3 -m venv')]
    assert lab == [demo, tests], lab                   # the lab's "two commands of the README"
