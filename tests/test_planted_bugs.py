"""Issue 24, items 19-24: one-line bugs that were planted in the core and let through. Each
test checks expected values (mmcv 1.7.2 / mmcls 0.25.0 semantics; golden/ where a recorded
schedule fits), not only that two runs agree, and each was watched failing with its bug:

    19 by_epoch=False warmup ends one iteration late    test_warmup_by_iter_*
    20 resume restores torch's random state only        test_resume_restores_*_random_states
    21 evaluate's thrs counts score == thr as a hit     test_thrs_*, test_evaluate_options_*
    22 save_best takes an equal score as a new best     test_save_best_*_on_a_tie
    23 the restricted unpickler allows one more global  test_cifar_unpickler_*,
                                                        test_checkpoint_gadgets_*
    24 the text logger reports another group's LR       test_text_logger_reports_*
"""
import builtins
import io
import json
import logging
import os
import pickle
import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny import TinyModel, loader, quiet_logger
import data
from config import (CheckpointConfig, LogConfig, LrConfig, OptimizerConfig, OptimizerHookConfig,
                    ParamwiseConfig)
from hooks import EvalHook, Hook
from runner import EpochBasedRunner, build_optimizer

try:                                   # the restricted unpickler of CIFAR files
    from data import _CifarUnpickler
except ImportError:                    # pragma: no cover - should it move with the checkpoint code
    from checkpoint import _CifarUnpickler

GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'lr_schedules_public.json').read_text())


def make_runner(work_dir, max_epochs, lr_config=None, checkpoint=None, log=None, model=None,
                optimizer=None, logger=None):
    model = model or TinyModel()
    optimizer = optimizer or build_optimizer(
        model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0))
    runner = EpochBasedRunner(model, optimizer, None if work_dir is None else str(work_dir),
                              logger or quiet_logger(), meta={}, max_epochs=max_epochs)
    runner.timestamp = 'test'
    runner.register_training_hooks(lr_config, OptimizerHookConfig(), checkpoint, log)
    return runner


class LrRecorder(Hook):
    """The first group's lr in before_train_iter, after the updater ran (as golden/ records)."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner):
        lr = runner.optimizer.param_groups[0]['lr']
        self.rows.append((runner.epoch, runner.iter, runner.inner_iter, lr))


def lr_rows(lr_config, epochs=6, iters=10):
    runner = make_runner(None, epochs, lr_config)
    recorder = LrRecorder()
    runner.register_hook(recorder, 'LOWEST')
    runner.run([loader(n=iters)], [('train', 1)])
    return recorder.rows


# ---- 19. warmup with by_epoch=False ------------------------------------------------------
# mmcv LrUpdaterHook.before_train_iter, by_epoch=False: every iteration the regular lr is
# computed from runner.iter; `if warmup is None or cur_iter >= warmup_iters` it is set as
# is, else scaled by the warmup factor of cur_iter. (test_warmup_by_iter_and_by_epoch in
# test_lr_updater.py runs by_epoch=True schedules only: LrConfig's by_epoch=None is True.)

def test_warmup_by_iter_equals_the_golden_by_epoch_schedule():
    """step=[20, 40] iterations with by_epoch=False is golden's step=[2, 4] epochs schedule
    (10 iterations an epoch), its 15 warmup iterations included, at every iteration."""
    case = GOLDEN['cases']['step_warmup_linear15']
    rows = lr_rows(LrConfig(**dict(case['lr_config'], step=[20, 40], by_epoch=False)))
    assert len(rows) == len(case['rows']) == 60
    for got, want in zip(rows, case['rows']):
        assert list(got[:3]) == want[:3]
        assert got[3] == pytest.approx(want[3], abs=1e-12), want


@pytest.mark.parametrize('mode', ['constant', 'linear', 'exp'])
def test_warmup_by_iter_ends_exactly_at_warmup_iters(mode):
    """by_epoch=False, warmup_iters=5, warmup_ratio=0.2, step=[3] iterations (gamma 0.1):
    warmup scales each iteration's regular lr (which drops at iteration 3, inside the
    warmup) at iterations 0..4 only; iteration 5 has the regular lr. Constant warmup shows an
    end one iteration late (linear and exp reach factor 1 at iteration 5 anyway)."""
    factor = {'constant': lambda i: 0.2,
              'linear': lambda i: 1 - (1 - i / 5) * (1 - 0.2),
              'exp': lambda i: 0.2 ** (1 - i / 5)}[mode]
    rows = lr_rows(LrConfig(policy='step', step=[3], gamma=0.1, by_epoch=False, warmup=mode,
                            warmup_iters=5, warmup_ratio=0.2), epochs=2, iters=4)
    regular = [0.1 if i < 3 else 0.01 for i in range(8)]
    want = [regular[i] * factor(i) if i < 5 else regular[i] for i in range(8)]
    assert [r[1] for r in rows] == list(range(8))
    assert [r[3] for r in rows] == pytest.approx(want, abs=1e-15)
    # written out: the last warmup iteration and the first one after it
    last = {'constant': 0.002, 'linear': 0.01 * 0.84, 'exp': 0.01 * 0.2 ** 0.2}[mode]
    assert rows[4][3] == pytest.approx(last, abs=1e-15)
    assert rows[5][3] == pytest.approx(0.01, abs=1e-15)


# ---- 20. resume restores python's, numpy's and torch's random states ----------------------

class Draws(Hook):
    """One draw from each generator at every training iteration."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner):
        self.rows.append((runner.epoch, runner.iter, random.random(), float(np.random.random()),
                          float(torch.rand(1))))


def test_resume_restores_python_numpy_and_torch_random_states(tmp_path):
    """Epochs 3-4 resumed from epoch_2.pth draw, from random, np.random and torch, what the
    uninterrupted 4-epoch run drew there, whatever the generators held before the resume."""
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    full = make_runner(tmp_path / 'full', 4, checkpoint=CheckpointConfig(interval=1))
    full_draws = Draws()
    full.register_hook(full_draws, 'LOWEST')
    full.run([loader(n=3)], [('train', 1)])

    random.seed(101), np.random.seed(102), torch.manual_seed(103)
    resumed = make_runner(tmp_path / 'resumed', 4)
    draws = Draws()
    resumed.register_hook(draws, 'LOWEST')
    resumed.resume(str(tmp_path / 'full' / 'epoch_2.pth'))
    resumed.run([loader(n=3)], [('train', 1)])
    want = full_draws.rows[6:]
    assert [r[:2] for r in draws.rows] == [r[:2] for r in want] == \
        [(e, i) for e in (2, 3) for i in range(3 * e, 3 * e + 3)]
    for name, column in (('random', 2), ('numpy', 3), ('torch', 4)):
        assert [r[column] for r in draws.rows] == [r[column] for r in want], name
    # the draws differ from iteration to iteration (no state reset to a seed on the way)
    assert len({r[3] for r in full_draws.rows}) == len(full_draws.rows)


# ---- 21. evaluate's thrs: a score equal to it is not a hit (mmcls: pred_score > thr) -------

def labelled(labels):
    dataset = data.CIFAR10.__new__(data.CIFAR10)       # evaluate needs only the labels
    dataset.data_infos = [{'gt_label': np.array(label, dtype=np.int64)} for label in labels]
    return dataset


# Scores exact in float32. Sample 1: right, top-1 score 0.5; 2: right, 0.75; 3: right, 0.5;
# 4: wrong (predicts 1 with 0.75), its gt 0 second with 0.125.
THR_SCORES = np.array([[.5, .25, .25], [.75, .125, .125], [.25, .5, .25], [.125, .75, .0625]],
                      np.float32)
THR_LABELS = [0, 0, 1, 0]


def test_thrs_a_score_equal_to_the_threshold_is_not_a_hit():
    dataset = labelled(THR_LABELS)

    def evaluate(**options):
        return dataset.evaluate(THR_SCORES, metric_options=options)
    assert evaluate(topk=(1, 2), thrs=0.5) == {'accuracy_top-1': 25.0, 'accuracy_top-2': 25.0}
    assert evaluate(topk=1, thrs=0.25) == {'accuracy': 75.0}
    # sample 4's gt (0.125, second) is no hit at 0.125 either
    assert evaluate(topk=(1, 2), thrs=0.125) == {'accuracy_top-1': 75.0, 'accuracy_top-2': 75.0}
    # no thrs: 0, every score counts
    assert evaluate(topk=(1, 2)) == {'accuracy_top-1': 75.0, 'accuracy_top-2': 100.0}


def test_thrs_tuple_and_precision_recall_at_the_threshold():
    dataset = labelled(THR_LABELS)
    res = dataset.evaluate(THR_SCORES, metric_options={'topk': (1,), 'thrs': (0., 0.5, 0.75)})
    assert res == {'accuracy_top-1_thr_0.00': 75.0, 'accuracy_top-1_thr_0.50': 25.0,
                   'accuracy_top-1_thr_0.75': 0.0}
    # precision/recall (mmcls: pred_positive[pred_score <= thr] = 0). At 0.5 only samples 2
    # (class 0, right) and 4 (class 1, wrong) are predictions: precision [100, 0, 0] and
    # recall [1/3, 0, 0], in percent.
    res = dataset.evaluate(THR_SCORES, metric=['precision', 'recall'], metric_options={'thrs': 0.5})
    assert res['precision'] == pytest.approx(100 / 3) and res['recall'] == pytest.approx(100 / 9)
    # at 0 all four are: class 0 by samples 1, 2 (right), class 1 by 3 (right) and 4 (wrong):
    # precision [100, 50, 0], recall [2/3, 1, 0]
    res = dataset.evaluate(THR_SCORES, metric=['precision', 'recall'], metric_options={'thrs': 0.})
    assert res['precision'] == pytest.approx(50.0) and res['recall'] == pytest.approx(500 / 9)


def test_evaluate_options_after_a_json_round_trip_equal_the_expected_values():
    """test_contract.py's round-trip test compares list options with tuple options only; here
    both equal mmcls's numbers. Sample 1 hits at both thresholds; sample 2 only in its top-2
    and only at thr 0 (0.4); sample 3's score equals 0.5: a hit at thr 0, none at 0.5."""
    scores = np.array([[.6, .3, .1], [.45, .4, .15], [.2, .3, .5]], np.float32)
    dataset = labelled([0, 1, 2])
    hits = {'accuracy_top-1_thr_0.00': 2, 'accuracy_top-1_thr_0.50': 1,
            'accuracy_top-2_thr_0.00': 3, 'accuracy_top-2_thr_0.50': 1}       # out of 3
    for options in ({'topk': [1, 2], 'thrs': [0.0, 0.5]}, {'topk': (1, 2), 'thrs': (0.0, 0.5)},
                    json.loads(json.dumps({'topk': (1, 2), 'thrs': (0.0, 0.5)}))):
        res = dataset.evaluate(scores, metric_options=options)
        assert list(res) == list(hits)
        assert res == pytest.approx({k: n * 100 / 3 for k, n in hits.items()}, rel=1e-6)
        assert all(type(v) is float for v in res.values())


# ---- 22. save_best: an equal score is not a new best (mmcv: greater / less, strict) --------

@pytest.mark.parametrize('key, scores, best_epoch', [
    ('accuracy_top-1', [50.0, 60.0, 60.0, 40.0], 2),
    ('loss', [3.0, 2.0, 2.0, 2.5], 2),
])
def test_save_best_keeps_the_earlier_epoch_on_a_tie(tmp_path, key, scores, best_epoch):
    runner = make_runner(tmp_path, len(scores))
    values = iter(scores)
    val = loader(n=2)
    val.dataset.evaluate = lambda results, **kw: {key: next(values)}
    runner.register_hook(EvalHook(val, save_best=key), 'LOW')
    runner.run([loader(n=2)], [('train', 1)])
    name = f'best_{key}_epoch_{best_epoch}.pth'
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best_')) == [name]
    msgs = runner.meta['hook_msgs']
    assert msgs['best_score'] == scores[best_epoch - 1]
    assert msgs['best_ckpt'] == str(tmp_path / name)
    meta = torch.load(tmp_path / name, weights_only=True)['meta']
    assert meta['epoch'] == best_epoch and meta['hook_msgs']['best_score'] == scores[best_epoch - 1]


# ---- 23. the restricted unpickler: the exact allow-list, several kinds of gadget -----------

ALLOWED = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
           ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode'),
           ('builtins', 'bytes'), ('__builtin__', 'bytes')}
NEAR_MISSES = [
    ('builtins', 'eval'), ('builtins', 'exec'), ('builtins', 'getattr'), ('builtins', '__import__'),
    ('builtins', 'open'), ('builtins', 'compile'), ('builtins', 'bytearray'),
    ('__builtin__', 'eval'), ('os', 'system'), ('posix', 'system'), ('nt', 'system'),
    ('subprocess', 'Popen'), ('commands', 'Popen'), ('subprocess', 'check_output'),
    ('numpy', 'load'), ('numpy', 'frombuffer'), ('numpy.core.multiarray', 'scalar'),
    ('numpy.testing._private.utils', 'runstring'), ('_codecs', 'decode'), ('pickle', 'loads'),
    ('copyreg', '_reconstructor'), ('functools', 'partial'), ('torch', 'load'),
    ('importlib', 'import_module')]


def test_cifar_unpickler_allows_exactly_the_globals_cifar_files_need():
    assert set(_CifarUnpickler.ALLOWED) == ALLOWED
    unpickler = _CifarUnpickler(io.BytesIO(b''))
    for module, name in sorted(ALLOWED):
        assert callable(unpickler.find_class(module, name))
    for module, name in NEAR_MISSES:
        message = f'it holds {module}.{name}, which a CIFAR file never holds'
        with pytest.raises(pickle.UnpicklingError, match=re.escape(message)):
            unpickler.find_class(module, name)


class Reduce:
    """An object that pickles as `func(*args)`: what a planted __reduce__ runs on unpickling."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args):          # a Reduce may stand as the callable of another one
        raise AssertionError('never called while pickling')


def gadgets(marker):
    """{name: object}: each touches `marker` when unpickled."""
    touch = f'touch {marker}'
    import_os = Reduce(builtins.__import__, 'os')
    return {'os.system': Reduce(os.system, touch),
            'eval': Reduce(builtins.eval, f'__import__("os").system({touch!r})'),
            'exec': Reduce(builtins.exec, f'import os; os.system({touch!r})'),
            'Popen': Reduce(subprocess.Popen, ['touch', str(marker)]),
            # getattr(__import__('os'), 'system')(touch): REDUCE on REDUCE
            'getattr': Reduce(Reduce(getattr, import_os, 'system'), touch)}


GADGETS = list(gadgets('m'))


def runs_unrestricted(gadget, marker):
    """The gadget is real: plain pickle.loads runs it."""
    result = pickle.loads(pickle.dumps({'data': gadget}, protocol=4))['data']
    if isinstance(result, subprocess.Popen):
        result.wait(30)
    return marker.exists()


def first_global_of(path):
    """'module.name' of the first global a pickle file names (as its protocol spells it)."""
    class First(pickle.Unpickler):
        def find_class(self, module, name):
            raise LookupError(f'{module}.{name}')
    with open(path, 'rb') as f, pytest.raises(LookupError) as e:
        First(f, encoding='latin1').load()
    return e.value.args[0]


class Own(data.CIFAR10):
    """Own files, no checksums (configs/own_cifar_format.py's kind)."""
    train_list = [('data_batch_1', None)]
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)
    url = None


@pytest.mark.parametrize('protocol', [2, 4])
@pytest.mark.parametrize('which', GADGETS)
def test_cifar_unpickler_refuses_each_kind_of_gadget_and_runs_nothing(tmp_path, which, protocol):
    """Protocol 2 (the official files') spells builtins __builtin__ and subprocess commands;
    protocol 4 spells them as they are."""
    assert runs_unrestricted(gadgets(tmp_path / 'live')[which], tmp_path / 'live')
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    rng = np.random.default_rng(0)
    entry = {'filenames': gadgets(tmp_path / 'pwned')[which],   # first: its global is met first
             'batch_label': 'b', 'labels': [1, 2],
             'data': rng.integers(0, 256, (2, 3072), dtype=np.uint8)}
    for file, obj in (('data_batch_1', entry), ('test_batch', entry),
                      ('batches.meta', {'label_names': list('abc')})):
        with open(folder / file, 'wb') as f:
            pickle.dump(obj, f, protocol=protocol)
    first_global = first_global_of(folder / 'data_batch_1')
    assert first_global.split('.')[-1] == which.split('.')[-1]    # system, eval, exec, ...
    with pytest.raises(data.DatasetError) as e:
        Own(tmp_path, [])
    message = str(e.value)
    assert 'data_batch_1' in message and 'is not a CIFAR pickle' in message
    assert f'it holds {first_global}, which a CIFAR file never holds' in message
    assert '\n' not in message
    assert not (tmp_path / 'pwned').exists()


@pytest.mark.parametrize('which', GADGETS)
def test_checkpoint_gadgets_are_refused_by_resume_and_load_and_run_nothing(tmp_path, which):
    """Checkpoints are read with torch.load(weights_only=True): a gadget anywhere in one is
    refused with the project's message, by resume and by load_checkpoint, and never runs."""
    model = TinyModel()
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': model.state_dict(),
                'payload': gadgets(tmp_path / 'pwned')[which]}, tmp_path / 'evil.pth')
    runner = make_runner(tmp_path / 'w', 1, model=model)
    for load in (runner.resume, runner.load_checkpoint):
        with pytest.raises(RuntimeError) as e:
            load(str(tmp_path / 'evil.pth'))
        assert type(e.value).__name__ == 'CheckpointError'
        assert 'evil.pth holds pickled Python objects' in str(e.value)
        assert 'could run code' in str(e.value) and '--trust-checkpoint' in str(e.value)
    assert not (tmp_path / 'pwned').exists()
    assert runner.epoch == 0 and runner.iter == 0


# ---- 24. the text logger logs the first param group's lr (mmcv: current_lr()[0]) -----------

class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize('groups', ['paramwise', 'manual'])
def test_text_logger_reports_the_first_param_groups_lr(tmp_path, groups):
    """mmcv TextLoggerHook.log: 'only record lr of the first param group' (cur_lr[0]). Here
    the first group has the smaller lr (0.05 and 0.2; times 0.1 after epoch 1)."""
    model = TinyModel()
    if groups == 'paramwise':           # fc.weight, then fc.bias: module order, as mmcv
        paramwise = ParamwiseConfig(custom_keys={'weight': dict(lr_mult=0.5),
                                                 'bias': dict(lr_mult=2.0)})
        optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0,
                                                           paramwise_cfg=paramwise))
    else:
        optimizer = torch.optim.SGD([{'params': [model.fc.weight], 'lr': 0.05},
                                     {'params': [model.fc.bias], 'lr': 0.2}], lr=0.1, momentum=0.9)
    assert [g['lr'] for g in optimizer.param_groups] == pytest.approx([0.05, 0.2])
    logger = logging.getLogger(f'minicls.test.planted.{groups}')
    logger.handlers.clear()
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    runner = make_runner(tmp_path, 2, lr_config=LrConfig(policy='step', step=[1], gamma=0.1),
                         log=LogConfig(interval=2), model=model, optimizer=optimizer, logger=logger)
    runner.run([loader(n=4)], [('train', 1)])
    lines = [m.split('\t') for m in handler.messages if m.startswith('Epoch [')]
    assert [line[0] for line in lines] == ['Epoch [1][2/4]', 'Epoch [1][4/4]',
                                           'Epoch [2][2/4]', 'Epoch [2][4/4]']
    assert [line[1].split(',')[0] for line in lines] == \
        ['lr: 5.000e-02', 'lr: 5.000e-02', 'lr: 5.000e-03', 'lr: 5.000e-03']
    records = [json.loads(x) for x in open(tmp_path / 'test.log.json')][1:]
    assert [r['lr'] for r in records if r['mode'] == 'train'] == [0.05, 0.05, 0.005, 0.005]
    assert runner.current_lr() == pytest.approx([0.005, 0.02])     # both groups scheduled
