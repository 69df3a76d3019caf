"""The contract of mmcv 1.7.2 / mmcls 0.25.0 that users meet when they bring a
model, a config or a metric over (the optimizer builder, gradient accumulation, accuracy,
evaluate, Normalize, collate, md5 None, simple_test). Expected values are mmcls's, from its
sources (see each test); none of these tests needs mmcv installed."""
import logging
import os
import pickle
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny import TinyModel, loader, quiet_logger
import data
from config import (BackboneConfig, CheckpointConfig, DatasetConfig, HeadConfig, LrConfig, ModelConfig,
                    OptimizerConfig, OptimizerHookConfig, ParamwiseConfig, cfg as default_cfg, test_pipeline)
from extras.options import batched_transforms
from extras.options.grad_accumulation import GradientCumulativeOptimizerHook
from model import accuracy, build_classifier
from runner import EpochBasedRunner, build_optimizer

ROOT = Path(__file__).resolve().parents[1]


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


# ---- 2. gradient accumulation: mmcv's absolute windows, also after a resume -----------------

def test_grad_accumulation_resumed_at_iter_2_divides_the_last_window_as_mmcv(tmp_path, monkeypatch):
    """10 iterations (5 epochs x 2), N=4, resumed at iter 2. mmcv: divisible_iters = 8, remainder 2;
    iters 2..7 divide by 4, iters 8 and 9 by 2 (the last window sums to a whole one); steps after
    iters 3, 7 and 9 (absolute (iter + 1) % 4, and the last)."""
    def make(epochs):
        torch.manual_seed(0)
        model = TinyModel()
        runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig(lr=0.1)), str(tmp_path),
                                  quiet_logger(), meta={}, max_epochs=epochs)
        runner.register_training_hooks(LrConfig(policy='fixed'), OptimizerHookConfig(cumulative_iters=4),
                                       CheckpointConfig(interval=1))
        return runner
    make(1).run([loader(n=2)], [('train', 1)])
    path = str(tmp_path / 'epoch_1.pth')
    factors, steps = [], []
    monkeypatch.setattr(GradientCumulativeOptimizerHook, 'backward',
                        lambda self, runner, loss: factors.append((runner.iter, (runner.outputs['loss'] / loss).item())))
    monkeypatch.setattr(GradientCumulativeOptimizerHook, 'step', lambda self, runner: steps.append(runner.iter))
    runner = make(5)
    handler = ListHandler()
    runner.logger.addHandler(handler)
    try:
        runner.resume(path)
        assert runner.iter == 2
        runner.run([loader(n=2)], [('train', 1)])
    finally:
        runner.logger.removeHandler(handler)
    assert [i for i, _ in factors] == list(range(2, 10))
    assert [f for _, f in factors] == pytest.approx([4] * 6 + [2, 2])
    assert sum(1 / f for i, f in factors if i >= 8) == pytest.approx(1.0)   # minicls before: 0.5
    assert steps == [3, 7, 9]
    assert any('Resume iter number is not divisible by cumulative_iters' in m for m in handler.messages)
    assert any('Loss will be divided by 2 in the last 2 iterations' in m for m in handler.messages)


# ---- 8, 9, 10. the optimizer builder --------------------------------------------------------

class Shared(torch.nn.Module):
    """One Parameter reached through two modules: in two param groups."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
        self.b.weight = self.a.weight


def small_model():
    return build_classifier(ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                                                base_channels=4, stem_channels=4),
                                        head=HeadConfig(in_channels=4)))


def test_empty_paramwise_cfg_gives_one_param_group():
    """mmcv: `if not self.paramwise_cfg: optimizer_cfg['params'] = model.parameters()`."""
    model = small_model()
    opt = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4,
                                                 paramwise_cfg=ParamwiseConfig()))
    assert len(opt.param_groups) == 1 and len(opt.param_groups[0]['params']) == len(list(model.parameters()))
    # any field set: one group per parameter, the others at mmcv's defaults
    opt = build_optimizer(model, OptimizerConfig(lr=0.1, weight_decay=1e-4,
                                                 paramwise_cfg=ParamwiseConfig(bias_lr_mult=2.0)))
    assert len(opt.param_groups) == len(list(model.parameters()))
    head_bias = next(g for g in opt.param_groups if g['params'][0] is model.head.fc.bias)
    assert head_bias['lr'] == pytest.approx(0.2) and head_bias['weight_decay'] == pytest.approx(1e-4)
    bn = next(g for g in opt.param_groups if g['params'][0] is model.backbone.bn1.weight)
    assert bn['weight_decay'] == pytest.approx(1e-4)            # norm_decay_mult None: 1.0


def test_a_parameter_in_two_groups_raises_unless_bypass_duplicate():
    with pytest.raises(ValueError, match='some parameters appear in more than one parameter group'):
        build_optimizer(Shared(), OptimizerConfig(lr=0.1, paramwise_cfg=ParamwiseConfig(bias_lr_mult=1.0)))
    with pytest.warns(UserWarning, match='^b is duplicate. It is skipped since bypass_duplicate=True$'):
        opt = build_optimizer(Shared(), OptimizerConfig(lr=0.1, paramwise_cfg=ParamwiseConfig(bypass_duplicate=True)))
    assert len(opt.param_groups) == 3                           # a.weight, a.bias, b.bias


def test_weight_decay_and_momentum_not_given_are_torch_defaults():
    """mmcls dict(type='SGD', lr=0.1): weight_decay 0 and momentum 0 (torch's), not 1e-4 / 0.9."""
    assert OptimizerConfig().weight_decay is None and OptimizerConfig().momentum is None
    assert (default_cfg.optimizer.momentum, default_cfg.optimizer.weight_decay) == (0.9, 0.0001)   # the article's
    group = build_optimizer(TinyModel(), OptimizerConfig(type='SGD', lr=0.1)).param_groups[0]
    assert group['weight_decay'] == 0 and group['momentum'] == 0
    group = build_optimizer(TinyModel(), OptimizerConfig(type='AdamW', lr=0.1)).param_groups[0]
    assert group['weight_decay'] == 0.01                        # AdamW's own default
    for name in ('Rprop', 'LBFGS'):                              # they take no weight_decay
        assert type(build_optimizer(TinyModel(), OptimizerConfig(type=name, lr=0.1))).__name__ == name


def test_paramwise_without_weight_decay():
    """mmcv: no base_wd -> no group gets weight_decay; a decay mult then raises."""
    opt = build_optimizer(TinyModel(), OptimizerConfig(lr=0.1, paramwise_cfg=ParamwiseConfig(bias_lr_mult=2.0)))
    assert [g['weight_decay'] for g in opt.param_groups] == [0, 0] and opt.param_groups[1]['lr'] == pytest.approx(0.2)
    for pw in (ParamwiseConfig(norm_decay_mult=0.0), ParamwiseConfig(custom_keys={'fc': dict(decay_mult=0.0)})):
        with pytest.raises(ValueError, match='base_wd should not be None'):
            build_optimizer(TinyModel(), OptimizerConfig(lr=0.1, paramwise_cfg=pw))


# ---- 11. cal_acc: a hit counts only above thrs (0) ----------------------------------------

def test_training_accuracy_counts_a_hit_only_above_the_threshold():
    """mmcls accuracy_torch: `_correct = correct & (pred_score.t() > thr)`, thr 0 on raw logits."""
    assert accuracy(torch.tensor([[-1., -2., -3.]]), torch.tensor([0]))[0].item() == 0.0
    assert [a.item() for a in accuracy(torch.tensor([[-1., -2.], [1., -3.]]), torch.tensor([0, 0]))] == [50.0]
    assert accuracy(torch.tensor([[3., 1., 2.]]), torch.tensor([2]), topk=(1, 2))[1].item() == 100.0
    assert accuracy(torch.tensor([[3., -1., -2.]]), torch.tensor([2]), topk=(3,))[0].item() == 0.0


# ---- 12. dataset.evaluate ---------------------------------------------------------------------

def labelled(labels):
    dataset = data.CIFAR10.__new__(data.CIFAR10)
    dataset.data_infos = [{'gt_label': np.array(label, dtype=np.int64)} for label in labels]
    return dataset


def test_evaluate_accuracy_is_float32_and_takes_a_logger():
    scores = np.array([[.9, .1, 0.], [.1, .9, 0.], [.1, .9, 0.]], np.float32)
    dataset = labelled([0, 0, 2])
    res = dataset.evaluate(scores, metric_options={'topk': (1,)}, logger=logging.getLogger('x'))
    assert res == {'accuracy_top-1': 33.33333206176758}       # float32(100 / 3), as mmcls
    assert labelled([0, 1, 2]).evaluate(scores, metric_options={'topk': 1}) == {'accuracy': 66.66666412353516}


def test_evaluate_ties_break_as_torch_topk():
    """mmcls ranks with torch.topk, which does not prefer the lowest index on ties."""
    scores = np.full((1, 40), 0.025, np.float32)
    want = torch.from_numpy(scores).topk(3, dim=1).indices[0].tolist()
    for k, label in enumerate(want):
        assert labelled([label]).evaluate(scores, metric_options={'topk': (1, 3)}) == \
            {'accuracy_top-1': 100.0 if k == 0 else 0.0, 'accuracy_top-3': 100.0}
    top1 = want[0]
    res = labelled([top1]).evaluate(scores, metric=['precision'], metric_options={'average_mode': 'none'})
    assert res['precision'][top1] == 100.0 and res['precision'].sum() == 100.0


def test_evaluate_thresholds_support_and_per_class():
    """mmcls keys: f'{key}_thr_{thr:.2f}' for a tuple thrs; support ignores thrs."""
    scores = np.array([[.6, .3, .1], [.4, .35, .25], [.2, .7, .1], [.1, .2, .7]], np.float32)
    dataset = labelled([0, 0, 1, 1])
    res = dataset.evaluate(scores, metric=['accuracy', 'precision', 'recall', 'f1_score', 'support'],
                           metric_options={'topk': (1, 2), 'thrs': (0.0, 0.5)})
    assert list(res) == ['accuracy_top-1_thr_0.00', 'accuracy_top-1_thr_0.50', 'accuracy_top-2_thr_0.00',
                         'accuracy_top-2_thr_0.50', 'support', 'precision_thr_0.00', 'precision_thr_0.50',
                         'recall_thr_0.00', 'recall_thr_0.50', 'f1_score_thr_0.00', 'f1_score_thr_0.50']
    assert res['accuracy_top-1_thr_0.00'] == 75.0 and res['accuracy_top-1_thr_0.50'] == 50.0
    assert res['accuracy_top-2_thr_0.00'] == 100.0 and res['accuracy_top-2_thr_0.50'] == 50.0
    assert res['support'] == 4.0 and isinstance(res['support'], float)
    # thr 0: predictions 0, 0, 1, 2 -> precision (1, 1, 0) / 3 classes; thr 0.5: 0, -, 1, 2
    assert res['precision_thr_0.00'] == pytest.approx(200 / 3) and res['recall_thr_0.00'] == pytest.approx(50.0)
    assert res['recall_thr_0.50'] == pytest.approx(100 / 3)
    assert labelled([0, 0, 1, 1]).evaluate(scores, metric_options={'topk': 1, 'thrs': (0.3, 0.5)}) == \
        {'accuracy_thr_0.30': 75.0, 'accuracy_thr_0.50': 50.0}
    per_class = dataset.evaluate(scores, metric=['precision', 'recall', 'support'],
                                 metric_options={'average_mode': 'none'})
    assert per_class['support'].dtype == np.int64 and per_class['support'].tolist() == [2, 2, 0]
    assert per_class['precision'].dtype == np.float64 and per_class['precision'].tolist() == [100.0, 100.0, 0.0]
    assert per_class['recall'].tolist() == [100.0, 50.0, 0.0]
    with pytest.raises(ValueError, match="average_mode 'micro'"):
        dataset.evaluate(scores, metric=['precision'], metric_options={'average_mode': 'micro'})


# ---- 13. Normalize: bit for bit mmcv.imnormalize with opencv <= 5.0 ---------------------------

@pytest.mark.parametrize('to_rgb', [True, False])
def test_normalize_is_bit_identical_to_imnormalize(to_rgb):
    """mmcv: cv2.subtract(img, f64 mean), cv2.multiply(img, 1 / f64(std)) on float32: with
    opencv <= 5.0 (4.x too) the product in float64, rounded once (fact sheet 10); opencv 5.1's
    float32 product is what random_streams='mmcls' computes (test_interop.py). Every uint8
    value, the article's mean and std."""
    mean, std = np.float32(default_cfg.data.train.pipeline[2]['mean']), np.float32(default_cfg.data.train.pipeline[2]['std'])
    img = np.stack(np.meshgrid(np.arange(256), np.arange(3), indexing='ij'), -1)[..., 0]      # (256, 3)
    img = np.stack([np.roll(img[:, 0], s) for s in range(3)], -1).astype(np.uint8).reshape(16, 16, 3)
    src = img[..., ::-1] if to_rgb else img
    want = ((src.astype(np.float32) - mean).astype(np.float64) * (1 / std.astype(np.float64))).astype(np.float32)
    got = data.Normalize(mean=mean.tolist(), std=std.tolist(), to_rgb=to_rgb)({'img': img})['img']
    assert got.dtype == np.float32 and np.array_equal(got.view(np.int32), want.view(np.int32))
    batch = batched_transforms.BatchNormalize(mean=mean.tolist(), std=std.tolist(), to_rgb=to_rgb)
    got = batch({'img': np.stack([img, img[::-1]])})['img']
    assert np.array_equal(got[0].view(np.int32), want.view(np.int32))
    # the old float32 `* (1 / std)` was 1 ulp off here
    old = (src.astype(np.float32) - mean) * (np.float32(1) / std)
    assert not np.array_equal(old, want)


# ---- 14. simple_test, with_neck, with_head -----------------------------------------------------

def test_simple_test_softmax_post_process_and_with_properties():
    torch.manual_seed(0)
    model = small_model().eval()
    model.init_weights()
    torch.nn.init.normal_(model.head.fc.weight)
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        logits = model.head.fc(model.head.pre_logits(model.extract_feat(img)))
        scores = model(img=img, return_loss=False)
        raw = model.simple_test(img, softmax=False)
        tensor = model.simple_test(img, post_process=False)
        raw_tensor = model(img=img, return_loss=False, softmax=False, post_process=False)
    assert isinstance(scores, list) and len(scores) == 2 and isinstance(scores[0], np.ndarray)
    np.testing.assert_allclose(np.stack(scores), torch.softmax(logits, 1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.stack(raw), logits.numpy(), rtol=1e-6)   # softmax=False: the logits
    assert isinstance(tensor, torch.Tensor) and torch.allclose(tensor, torch.softmax(logits, 1))
    assert isinstance(raw_tensor, torch.Tensor) and torch.allclose(raw_tensor, logits)
    assert model.with_neck and model.with_head
    model.neck = None
    assert not model.with_neck and model.with_head


# ---- 15. collate: what mmcv.parallel.collate accepts for plain data ----------------------------

def test_collate_tuples_lists_dicts_numbers():
    t = torch.arange(3.)
    out = data.collate([(t, 1), (t + 1, 2)])                  # tuples -> a list, zipped
    assert isinstance(out, list) and out[0].shape == (2, 3) and out[1].tolist() == [1, 2]
    assert out[1].dtype == torch.int64
    assert [x.tolist() for x in data.collate([[1, 2], [3, 4]])] == [[1, 3], [2, 4]]
    out = data.collate([{'a': np.zeros(2, np.float32), 'b': np.array(3), 'c': 0.5, 'd': {'e': (t, t)}}] * 2)
    assert out['a'].dtype == torch.float32 and out['a'].shape == (2, 2)
    assert out['b'].dtype == torch.int64 and out['c'].dtype == torch.float64
    assert out['d']['e'][1].shape == (2, 3)
    assert data.collate([{'name': 'x'}, {'name': 'y'}]) == {'name': ['x', 'y']}   # mmcv: RecursionError
    metas = [{'flip': True}, {'flip': False}]
    assert data.collate([{'img_metas': m} for m in metas]) == {'img_metas': metas}
    with pytest.raises(TypeError, match='a batch is a list of samples'):
        data.collate(x for x in [t])


# ---- 16. md5 None skips the check; the own-data example config ---------------------------------

def write_cifar(folder, names, n=4, num_classes=10, protocol=2):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        entry = {'batch_label': name, 'labels': rng.integers(0, num_classes, n).tolist(),
                 'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8), 'filenames': ['x.png'] * n}
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(entry, f, protocol=protocol)
    with open(os.path.join(folder, 'batches.meta'), 'wb') as f:
        pickle.dump({'label_names': [f'c{i}' for i in range(num_classes)]}, f, protocol=protocol)


def test_md5_none_skips_the_check(tmp_path):
    write_cifar(tmp_path / 'cifar-10-batches-py', ['data_batch_1', 'test_batch'])
    cls = type('Mine', (data.CIFAR10,), dict(train_list=[('data_batch_1', None)], test_list=[('test_batch', 'f' * 32)],
                                             meta=dict(filename='batches.meta', key='label_names', md5=None)))
    assert len(cls(tmp_path, [])) == 4                         # no md5 to check
    with pytest.raises(data.DatasetError, match='test_batch.*corrupt'):
        cls(tmp_path, [], test_mode=True)                      # a given md5 is still checked


def test_own_cifar_format_config_trains_on_own_files(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / 'configs'))          # train.py puts the config's folder there
    cfg = runpy.run_path(str(ROOT / 'configs' / 'own_cifar_format.py'))['cfg']
    assert cfg.data.train.type == 'own_cifar_format:OwnCIFAR10'
    prefix = tmp_path / 'my_cifar'
    write_cifar(prefix / 'cifar-10-batches-py', ['data_batch_1', 'data_batch_2', 'test_batch'])
    for split in ('train', 'test'):
        dataset_cfg = getattr(cfg.data, split)
        dataset = data.build_dataset(DatasetConfig(type=dataset_cfg.type, data_prefix=str(prefix),
                                                   pipeline=dataset_cfg.pipeline, test_mode=dataset_cfg.test_mode))
        assert type(dataset).__name__ == 'OwnCIFAR10' and len(dataset) == (8 if split == 'train' else 4)
        assert dataset[0]['img'].shape == (3, 32, 32)
    os.remove(prefix / 'cifar-10-batches-py' / 'test_batch')
    with pytest.raises(data.DatasetError, match='test_batch not found.*Put your CIFAR-format files'):
        data.build_dataset(DatasetConfig(type=cfg.data.test.type, data_prefix=str(prefix), pipeline=test_pipeline,
                                         test_mode=True))
    with pytest.raises(ValueError, match="'nowhere:Nothing'|No module named 'nowhere'"):
        data.build_dataset(DatasetConfig(type='nowhere:Nothing', pipeline=test_pipeline))


def test_evaluate_options_after_a_json_round_trip():
    """A config stored as JSON (checkpoint meta) turns tuples into lists: the same keys."""
    scores = np.array([[.6, .3, .1], [.2, .7, .1]], np.float32)
    dataset = labelled([0, 2])
    assert dataset.evaluate(scores, metric_options={'topk': [1, 2], 'thrs': [0.0, 0.5]}) == \
        dataset.evaluate(scores, metric_options={'topk': (1, 2), 'thrs': (0.0, 0.5)})


class SharedModule(torch.nn.Module):
    """One Linear registered under two parents (a.0, b.1) and twice under the root (c, d)."""

    def __init__(self):
        super().__init__()
        shared = torch.nn.Linear(2, 2)
        self.a = torch.nn.Sequential(shared, torch.nn.BatchNorm1d(2))
        self.b = torch.nn.Sequential(torch.nn.Linear(2, 2), shared)
        self.c, self.d = shared, shared


def test_a_module_under_two_names_is_visited_as_mmcv_add_params_does():
    """mmcv 1.7.2 DefaultOptimizerConstructor.add_params recurses over named_children: the
    Linear shared by a and b is reached twice (named_children gives c and d once: c comes
    first), so without bypass_duplicate torch refuses the groups, with it the second visit is
    skipped with a warning per parameter (seen the same with the real mmcv)."""
    pw = ParamwiseConfig(bias_lr_mult=2.0)
    with pytest.raises(ValueError, match='some parameters appear in more than one parameter group'):
        build_optimizer(SharedModule(), OptimizerConfig(lr=0.1, paramwise_cfg=pw))
    model = SharedModule()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        opt = build_optimizer(model, OptimizerConfig(lr=0.1, paramwise_cfg=ParamwiseConfig(
            bias_lr_mult=2.0, bypass_duplicate=True)))
    assert [str(w.message) for w in seen] == \
        ['b.1 is duplicate. It is skipped since bypass_duplicate=True'] * 2 + \
        ['c is duplicate. It is skipped since bypass_duplicate=True'] * 2
    assert [(g['params'][0], g['lr']) for g in opt.param_groups] == [
        (model.c.weight, 0.1), (model.c.bias, 0.2), (model.a[1].weight, 0.1), (model.a[1].bias, 0.1),
        (model.b[0].weight, 0.1), (model.b[0].bias, 0.2)]


# ---- evaluate's thrs -------------------------------------------------------------------------
import json  # noqa: E402

# evaluate's thrs: a score equal to it is not a hit (mmcls: pred_score > thr).
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
