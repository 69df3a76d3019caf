"""mmcls 0.25's losses and the parts of its Mixup / retrieval recipes: CrossEntropyLoss with
use_soft, use_sigmoid, class_weight and reduction (model.py), LabelSmoothLoss
(extras/models/losses.py), MultiLabelLinearClsHead (extras/models/heads.py) and
GeneralizedMeanPooling (extras/models/necks.py): the values the real mmcls gives on the same
inputs (tests/golden/resnet_family.json, recorded by tests/mmcls_resnet_family_ref.py; re-run
where $MMREF holds mmcls), and the checks of their config fields."""
import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
import mmcls_resnet_family_ref as ref
from config import (BackboneConfig, ConfigError, HeadConfig, LossConfig, ModelConfig, NeckConfig,
                    lookup)
from extras.models.heads import MultiLabelLinearClsHead
from model import LOSSES, build_classifier

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / 'tests' / 'mmcls_resnet_family_ref.py'     # run with the real mmcls on the path
GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'resnet_family.json').read_text())


def classifier(loss=None, head='LinearClsHead', neck='GlobalAveragePooling', **neck_args):
    """A small ResNet-18 classifier of 5 classes with this loss, head and neck."""
    return build_classifier(ModelConfig(
        backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,), base_channels=4,
                                stem_channels=4),
        neck=NeckConfig(type=neck, **neck_args),
        head=HeadConfig(type=head, num_classes=5, in_channels=4, loss=loss or LossConfig())))


@pytest.mark.parametrize('name', list(ref.LOSSES))
def test_loss_values_are_mmcls(name):
    """Given avg_factor as mmcls's heads give it. LabelSmoothLoss's reduction and loss_weight
    change nothing, as in mmcls 0.25 (a config cannot set them: see the checks below)."""
    args, kind = ref.LOSSES[name]
    args = dict(args)
    loss = lookup(LOSSES, args.pop('type'), 'type')(**args)
    scores, labels = ref.loss_inputs(kind)
    value = loss(scores, labels, avg_factor=None if 'none' in name else 6)
    assert value.reshape(-1).tolist() == pytest.approx(GOLDEN['losses'][name], abs=1e-6)


def test_mmcls_gives_the_recorded_values(mmref):
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    r = procs.run([sys.executable, '-W', 'ignore', str(REF),
                   '--only', 'losses'], cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    theirs = json.loads(r.stdout.strip().splitlines()[-1])
    assert theirs['losses'] == GOLDEN['losses'] and theirs['gem'] == GOLDEN['gem']


def test_the_heads_loss_is_the_losses_with_the_batch_as_avg_factor():
    """LinearClsHead and MultiLabelLinearClsHead (mmcls: ClsHead.loss, MultiLabelClsHead.loss)
    give avg_factor = the batch size; the multi-label head takes |label| as its target."""
    scores, labels = ref.loss_inputs('multi')
    head = classifier(LossConfig(use_sigmoid=True, loss_weight=2.),
                      head='MultiLabelLinearClsHead').head
    assert head.loss(scores, -labels)['loss'].item() == pytest.approx(
        GOLDEN['losses']['ce_sigmoid'][0], abs=1e-6)
    default = MultiLabelLinearClsHead(5, 4)      # mmcls's default loss: sigmoid, weight 1.0
    assert default.loss(scores, labels)['loss'].item() == pytest.approx(
        GOLDEN['losses']['ce_sigmoid'][0] / 2, abs=1e-6)
    scores, labels = ref.loss_inputs('index')
    smooth = classifier(LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1)).head
    assert smooth.loss(scores, labels)['loss'].item() == pytest.approx(
        GOLDEN['losses']['ls_original'][0], abs=1e-6)


def test_multi_label_head_scores_are_sigmoids():
    model = classifier(head='MultiLabelLinearClsHead')
    model.eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        logits = model.simple_test(x, softmax=False, post_process=False)
        scores = model.simple_test(x)
    assert len(scores) == 3 and torch.allclose(torch.stack([torch.from_numpy(s) for s in scores]),
                                               torch.sigmoid(logits))


def test_gem_neck_is_mmcls_and_its_p_a_parameter():
    gem = classifier(neck='GeneralizedMeanPooling', p=2.5).neck
    x = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(5)) - 0.2
    assert gem(x).reshape(-1).tolist() == pytest.approx(GOLDEN['gem'], abs=1e-6)
    assert [k for k, _ in gem.named_parameters()] == ['p']         # mmcls's key: neck.p
    assert gem((x, x))[1].shape == (2, 3)
    default = classifier(neck='GeneralizedMeanPooling').neck        # mmcls's p=3, clamp
    assert default.p.item() == 3.0 and default.clamp and default.eps == 1e-6


@pytest.mark.parametrize('part, words', [
    (dict(loss=LossConfig(type='LabelSmoothLoss')),
     'model.head.loss.label_smooth_val=None is out of range; allowed: a float in [0, 1)'),
    (dict(loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1, use_soft=True)),
     'model.head.loss.use_soft=True is not an argument of LabelSmoothLoss'),
    (dict(loss=LossConfig(label_smooth_val=0.1)),
     'model.head.loss.label_smooth_val=0.1 is not an argument of CrossEntropyLoss'),
    (dict(loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=0.5)),
     'model.head.loss.loss_weight=0.5 is out of range; allowed: 1.0 with LabelSmoothLoss'),
    (dict(loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1, mode='smooth')),
     "model.head.loss.mode='smooth' is out of range"),
    (dict(loss=LossConfig(use_soft=True, use_sigmoid=True)),
     'model.head.loss.use_soft=True is out of range; allowed: not both'),
    (dict(loss=LossConfig(class_weight=[1., 2.])),
     'model.head.loss.class_weight=[1.0, 2.0] is out of range; allowed: None or '
     'head.num_classes=5 numbers'),
    (dict(loss=LossConfig(reduction='sum')), "model.head.loss.reduction='sum' is out of range"),
    (dict(loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=4)),
     'model.head.loss.num_classes=4 is out of range'),
    (dict(head='MultiLabelLinearClsHead', cal_acc=True), 'model.head.cal_acc=True is out of range'),
    (dict(head='MultiLabelLinearClsHead', topk=(1, 5)), 'model.head.topk=(1, 5) is out of range'),
    (dict(neck='GlobalAveragePooling', p=3.0),
     'model.neck.p=3.0 is not an argument of GlobalAveragePooling'),
    (dict(neck='GeneralizedMeanPooling', p=0.5), 'model.neck.p=0.5 is out of range'),
])
def test_loss_head_and_neck_fields_are_checked_before_anything_is_built(part, words):
    cfg = ModelConfig(
        backbone=BackboneConfig(depth=18, base_channels=4, stem_channels=4),
        neck=NeckConfig(type=part.get('neck', 'GlobalAveragePooling'), p=part.get('p')),
        head=HeadConfig(type=part.get('head', 'LinearClsHead'), num_classes=5, in_channels=32,
                        loss=part.get('loss', LossConfig()), cal_acc=part.get('cal_acc', False),
                        topk=part.get('topk', (1,))))
    with pytest.raises(ConfigError) as e:
        build_classifier(cfg)
    assert str(e.value).startswith(words), str(e.value)


def test_the_default_loss_has_only_loss_weight():
    """The default run's CrossEntropyLoss is built with loss_weight alone: the new fields at
    their defaults are not passed (each class keeps its own defaults)."""
    loss = classifier().head.compute_loss
    assert (loss.use_soft, loss.use_sigmoid, loss.reduction, loss.class_weight) == \
        (False, False, 'mean', None)
    assert dataclasses.asdict(LossConfig())['type'] == 'CrossEntropyLoss'
