"""Checker of exercise 10: two small real runs of train.py (configs/demo.py, shrunk, run by
train.py's cli in this process), made once per session; your numbers must be the logs'
numbers. matplotlib is not needed."""
import pytest

from conftest import ROOT, train_in_process
from tools.analyze_logs import load_json_log

RUNS = {'a': ['lr_config.step=[2]'], 'b': ['optimizer.lr=0.05', 'lr_config.policy=fixed', 'lr_config.step=None']}


@pytest.fixture(scope='session')
def logs(tmp_path_factory):
    paths = {}
    for name, options in RUNS.items():
        work = tmp_path_factory.mktemp(f'ex10_{name}')
        code, out, err = train_in_process(ROOT / 'configs' / 'demo.py', work, 'total_epochs=3', *options,
                                          validate=True)
        assert code == 0, f'train.py failed (not your code): {err[-2000:]}'
        paths[name] = str(next(work.glob('*.log.json')))
    return paths


def reference_curve(path, key):
    rows = [r for r in load_json_log(path)['train'] if key in r]
    per_epoch = max(r['iter'] for r in rows if r['epoch'] == rows[0]['epoch'])
    return [((r['epoch'] - 1) * per_epoch + r['iter'], r[key]) for r in rows]


def call(function, *args):
    try:
        return function(*args)
    except NotImplementedError:
        pytest.fail(f'{function.__name__} is not written yet', pytrace=False)


@pytest.mark.parametrize('key', ['loss', 'lr'])
def test_curve(impl, logs, key):
    for name, path in logs.items():
        got, want = [tuple(p) for p in call(impl.curve, path, key)], reference_curve(path, key)
        if len(got) != len(want):
            pytest.fail(f'run {name}: curve(log, {key!r}) has {len(got)} points, the log has {len(want)} train records '
                        "with that key. Only mode 'train' lines belong to a train curve (the val lines carry lr too; "
                        'the first line is the meta)', pytrace=False)
        xs = [x for x, _ in got]
        if xs != [x for x, _ in want]:
            pytest.fail(f'run {name}: the x values of curve(log, {key!r}) are {xs}; plot_curve draws '
                        f'{[x for x, _ in want]}: `iter` counts within an epoch, so add (epoch - 1) * '
                        'iterations_per_epoch', pytrace=False)
        assert [y for _, y in got] == pytest.approx([y for _, y in want]), f'run {name}: the {key} values differ'


def test_lr_changes_and_last_val(impl, logs):
    for name, path in logs.items():
        points = reference_curve(path, 'lr')
        want = [(x, before, lr) for (_, before), (x, lr) in zip(points, points[1:]) if lr != before]
        got = [tuple(c) for c in call(impl.lr_changes, path)]
        assert got == want, f'run {name}: lr_changes gives {got}, the log has {want}'
        val = [r for r in load_json_log(path)['val'] if 'accuracy_top-1' in r][-1]['accuracy_top-1']
        assert call(impl.last_val, path) == pytest.approx(val), f'run {name}: last_val is not the last evaluation\'s'


def test_the_lr_step_explained(impl, logs):
    answer = impl.LR_STEP_EXPLAINED
    assert answer in ('a', 'b', 'c'), "answer LR_STEP_EXPLAINED with 'a', 'b' or 'c'"
    lrs = {}
    for record in load_json_log(logs['a'])['train']:
        lrs.setdefault(record['epoch'], set()).add(record['lr'])
    facts = (f"in run A every train line of an epoch logs the same lr ({ {e: sorted(v) for e, v in lrs.items()} }), "
             'and the log records the LR of the moment, not an average')
    assert answer == 'a', {
        'b': f'not b: CheckpointHook only saves (it never touches the optimizer); {facts}. Who sets lr, and at which '
             'stage? See StepLrUpdaterHook.get_lr and LrUpdaterHook.before_train_epoch',
        'c': f'not c: {facts}. by_epoch=True: the LR changes once per epoch, in before_train_epoch',
    }[answer]
