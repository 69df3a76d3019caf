"""Tests for model.py: mmcls 0.25's state_dict layout, shapes, init, train_step and the builder."""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import ConfigError, BackboneConfig, HeadConfig, LossConfig, ModelConfig, NeckConfig  # noqa: E402
from model import (Bottleneck, CrossEntropyLoss, GlobalAveragePooling,  # noqa: E402
                   ImageClassifier, LinearClsHead, ResNet_CIFAR, accuracy, build_classifier)

# Recorded from the real mmcv 1.7.2 + mmcls 0.25.0 (see tests/golden/).
GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'resnet_cifar_keys.json').read_text())


def small_cfg(**backbone):
    """A fast ResNet-18 variant: 16 base channels, 3 stages -> 64 features for the head."""
    args = dict(depth=18, base_channels=16, num_stages=3, out_indices=(2,))
    args.update(backbone)
    return ModelConfig(backbone=BackboneConfig(**args), head=HeadConfig(num_classes=10, in_channels=64, cal_acc=True,
                                                                          topk=(1, 5)))


def batch(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(img=torch.randn(n, 3, 32, 32, generator=g), gt_label=torch.randint(0, 10, (n,), generator=g))


# ----------------------------------------------------------------------- mmcls layout

@pytest.mark.parametrize('depth', ['18', '34', '50'])
def test_state_dict_matches_mmcls(depth):
    golden = GOLDEN['depths'][depth]
    g = golden['model_cfg']
    cfg = ModelConfig(
        backbone=BackboneConfig(depth=g['backbone']['depth'], num_stages=g['backbone']['num_stages'],
                                out_indices=tuple(g['backbone']['out_indices']),
                                style=g['backbone']['style']),
        head=HeadConfig(num_classes=g['head']['num_classes'], in_channels=g['head']['in_channels']))
    with torch.device('meta'):  # shapes and names only: no memory, no time
        model = build_classifier(cfg)
    ours = [[k, list(v.shape), str(v.dtype).replace('torch.', '')] for k, v in model.state_dict().items()]
    assert ours == golden['state_dict']
    params = list(model.parameters())
    assert sum(p.numel() for p in params) == golden['num_parameters']
    assert sum(p.numel() for p in params if p.requires_grad) == golden['num_trainable_parameters']
    assert len(params) == golden['num_parameter_tensors']
    assert hasattr(model.backbone, 'maxpool') == golden['has_maxpool_attr']


def test_mmcls_shaped_state_dict_loads_strictly():
    golden = GOLDEN['depths']['18']
    dtypes = {'float32': torch.float32, 'int64': torch.int64}
    state = {k: torch.zeros(shape, dtype=dtypes[dt]) for k, shape, dt in golden['state_dict']}
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=18), head=HeadConfig(in_channels=512)))
    model.load_state_dict(state, strict=True)
    assert model.head.fc.weight.abs().sum() == 0


def test_resnet50_is_the_default_config():
    model = ImageClassifier(ResNet_CIFAR(50), GlobalAveragePooling(), LinearClsHead(10, 2048))
    with torch.device('meta'):
        built = build_classifier(ModelConfig())
    assert sum(p.numel() for p in built.parameters()) == 23_520_842
    assert [k for k in model.state_dict()] == [k for k in built.state_dict()]


# ----------------------------------------------------------------------- forward

@pytest.mark.parametrize('depth', [18, 50])
def test_same_function_as_torchvision_resnet_with_cifar_stem(depth):
    """An independent reference: torchvision's ResNet (also 'pytorch' style), given the CIFAR
    stem (3x3 stride-1 conv, no max-pool) and our weights, computes the same logits."""
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    ours = build_classifier(ModelConfig(backbone=BackboneConfig(depth=depth),
                                        head=HeadConfig(in_channels=512 if depth == 18 else 2048)))
    ours.init_weights()
    ref = getattr(torchvision.models, f'resnet{depth}')(num_classes=10)
    ref.conv1 = torch.nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    ref.maxpool = torch.nn.Identity()
    ref.load_state_dict({k.split('.', 1)[1]: v for k, v in ours.state_dict().items()}, strict=True)
    ours.train()
    ref.train()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(ours.head.fc(ours.extract_feat(x)[-1]), ref(x), rtol=1e-4, atol=1e-5)

def test_backbone_neck_head_shapes():
    backbone = ResNet_CIFAR(18, num_stages=3, out_indices=(0, 1, 2), base_channels=16)
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 32, 16, 16), (2, 64, 8, 8)]
    pooled = GlobalAveragePooling()(outs)
    assert [tuple(p.shape) for p in pooled] == [(2, 16), (2, 32), (2, 64)]
    assert GlobalAveragePooling()(torch.randn(1, 5, 4, 4)).shape == (1, 5)  # batch of one kept
    # The head classifies from the last output of a tuple.
    assert len(LinearClsHead(10, 64).simple_test(pooled)) == 2
    # Bottleneck: 4x wider stages; the stem stays 64 wide whatever base_channels is (mmcls).
    outs = ResNet_CIFAR(50, num_stages=2, out_indices=(0, 1), base_channels=8)(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 64, 16, 16)]


def test_train_step_outputs():
    model = build_classifier(small_cfg())
    model.init_weights()
    data = batch(n=2)
    out = model.train_step(data, optimizer=None)
    assert set(out) == {'loss', 'log_vars', 'num_samples'}
    assert out['loss'].dim() == 0 and out['loss'].requires_grad
    assert list(out['log_vars']) == ['top-1', 'top-5', 'loss']  # mmcls 0.25's names and order
    # detached 0-d tensors: no GPU sync per iteration; the log buffer copies them when it averages
    assert all(torch.is_tensor(v) and v.dim() == 0 and not v.requires_grad for v in out['log_vars'].values())
    assert out['log_vars']['loss'] == pytest.approx(out['loss'].item())
    assert out['num_samples'] == 2
    # forward(return_loss=True) returns the raw losses: the accuracy as a dict of tensors.
    losses = model(**data)
    assert set(losses) == {'accuracy', 'loss'} and set(losses['accuracy']) == {'top-1', 'top-5'}
    val = model.val_step(data)
    assert list(val['log_vars']) == ['top-1', 'top-5', 'loss'] and val['num_samples'] == 2


def test_parse_losses_sums_every_loss_entry_and_names_a_head_without_one():
    model = build_classifier(small_cfg())
    a, b = torch.tensor(1.5, requires_grad=True), torch.tensor([0.5, 1.5], requires_grad=True)
    loss, log_vars = model._parse_losses({'loss_cls': a, 'loss_aux': b, 'accuracy': {'top-1': torch.tensor([50.])}})
    assert loss.item() == 2.5 and loss.requires_grad          # 1.5 + mean(0.5, 1.5), as mmcls sums them
    assert list(log_vars) == ['loss_cls', 'loss_aux', 'top-1', 'loss'] and log_vars['top-1'].item() == 50.0
    with pytest.raises(ValueError, match="no entry whose name contains 'loss'"):
        model._parse_losses({'accuracy': {'top-1': torch.tensor([50.])}})
    loss, _ = model._parse_losses({'aux': {'loss_a': a}})      # a dict's own keys count
    assert loss.item() == 1.5
    with pytest.raises(TypeError, match='loss_cls is not a tensor or a dict of tensors'):
        model._parse_losses({'loss_cls': 1.5})


def test_loss_weight_scales_the_loss():
    torch.manual_seed(0)
    model = build_classifier(small_cfg())
    model.eval()
    data = batch(n=4)
    base = model.train_step(data)['loss']
    model.head.compute_loss = CrossEntropyLoss(loss_weight=0.5)
    assert model.train_step(data)['loss'].item() == pytest.approx(0.5 * base.item(), rel=1e-5)


def test_sgd_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = build_classifier(small_cfg())
    model.init_weights()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = batch(n=8, seed=1)
    losses = []
    for _ in range(12):
        out = model.train_step(data, optimizer)
        optimizer.zero_grad()
        out['loss'].backward()
        optimizer.step()
        losses.append(out['log_vars']['loss'])
    assert losses[-1] < 0.5 * losses[0], losses


def test_simple_test_returns_probabilities():
    model = build_classifier(small_cfg())
    model.init_weights()
    model.eval()
    data = batch(n=3)
    with torch.no_grad():
        scores = model(img=data['img'], return_loss=False)
        # the test batch may also carry gt_label and img_metas (Collect's meta_keys); the
        # evaluation loop passes them all, as mmcls's single_gpu_test; prediction ignores them
        again = model(return_loss=False, img_metas=[{'flip': False}] * 3, **data)
    assert isinstance(scores, list) and len(scores) == 3
    for s, t in zip(scores, again):
        assert isinstance(s, np.ndarray) and s.shape == (10,)
        assert s.sum() == pytest.approx(1.0, abs=1e-5) and (s >= 0).all()
        np.testing.assert_allclose(s, t)


def test_accuracy_values_and_topk_beyond_num_classes():
    pred = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    target = torch.tensor([1, 1, 0, 2])
    top1, top2, top5 = accuracy(pred, target, (1, 2, 5))
    assert top1.item() == pytest.approx(25.0)
    assert top2.item() == pytest.approx(75.0)
    assert top5.item() == pytest.approx(100.0)  # k > num_classes: every sample counts
    assert top1.shape == (1,)


# ----------------------------------------------------------------------- init_weights

def test_init_weights_as_mmcls():
    torch.manual_seed(0)
    model = ImageClassifier(ResNet_CIFAR(18, base_channels=16, num_stages=3, out_indices=(2,),
                                         zero_init_residual=False),
                            GlobalAveragePooling(), LinearClsHead(100, 512))
    model.init_weights()
    fc = model.head.fc
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert abs(fc.weight.mean().item()) < 1e-3
    assert torch.all(fc.bias == 0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    # Kaiming normal, fan_out: std = sqrt(2 / (out_channels * k * k))
    w = model.backbone.layer3[0].conv2.weight   # 64 x 64 x 3 x 3
    assert w.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)


@pytest.mark.parametrize('depth,last_bn', [(18, 'bn2'), (50, 'bn3')])
def test_zero_init_residual(depth, last_bn):
    backbone = ResNet_CIFAR(depth, base_channels=8, num_stages=2, out_indices=(1,), zero_init_residual=True)
    backbone.init_weights()
    for layer in (backbone.layer1, backbone.layer2):
        for block in layer:
            assert torch.all(getattr(block, last_bn).weight == 0)
            assert torch.all(block.bn1.weight == 1)
            if block.downsample is not None:
                assert torch.all(block.downsample[1].weight == 1)
    assert torch.all(backbone.bn1.weight == 1)
    # The config's value reaches the backbone.
    assert build_classifier(small_cfg(zero_init_residual=False)).backbone.zero_init_residual is False


# ----------------------------------------------------------------------- style

def test_style_moves_the_stride():
    pytorch = ResNet_CIFAR(50, base_channels=8, num_stages=2, out_indices=(1,), style='pytorch')
    caffe = ResNet_CIFAR(50, base_channels=8, num_stages=2, out_indices=(1,), style='caffe')
    assert isinstance(pytorch.layer2[0], Bottleneck)
    assert pytorch.layer2[0].conv1.stride == (1, 1) and pytorch.layer2[0].conv2.stride == (2, 2)
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)
    assert caffe.layer2[0].downsample[0].stride == (2, 2)
    x = torch.randn(1, 3, 32, 32)
    assert pytorch(x)[0].shape == caffe(x)[0].shape == (1, 64, 16, 16)


# ----------------------------------------------------------------------- builder errors

@pytest.mark.parametrize('cfg,words', [
    (ModelConfig(type='Classifier'), ["model.type='Classifier'", 'ImageClassifier']),
    (small_cfg(type='ResNt'), ["model.backbone.type='ResNt'", "did you mean 'ResNet'",
                               'ResNet_CIFAR, ResNet']),
    (small_cfg(depth=20), ['model.backbone.depth=20', '18, 34, 50, 101, 152']),
    (small_cfg(num_stages=5), ['model.backbone.num_stages=5', '1, 2, 3, 4']),
    (small_cfg(out_indices=(3,)), ['model.backbone.out_indices=(3,)', '0..2']),
    (small_cfg(out_indices=()), ['model.backbone.out_indices=()']),
    (small_cfg(style='tf'), ["model.backbone.style='tf'", 'pytorch, caffe']),
    (replace(small_cfg(), neck=NeckConfig(type='GAP')), ["model.neck.type='GAP'", 'GlobalAveragePooling']),
    (replace(small_cfg(), head=HeadConfig(type='ClsHead')), ["model.head.type='ClsHead'", 'LinearClsHead']),
    (replace(small_cfg(), head=HeadConfig(loss=LossConfig(type='FocalLoss'))),
     ["model.head.loss.type='FocalLoss'", 'CrossEntropyLoss']),
])
def test_builder_names_the_bad_field(cfg, words):
    with pytest.raises(ConfigError) as err:          # exit 2, one line, as a config's error
        build_classifier(cfg)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize('field, value', [('base_channels', 0), ('base_channels', 1025),
                                          ('stem_channels', 0), ('stem_channels', 4096)])
def test_backbone_widths_are_bounded_before_anything_is_built(field, value):
    # a width from a file must not allocate what it asks for (1..1024, as mmcls_checks)
    with pytest.raises(ConfigError, match=f'model.backbone.{field}={value} is out of range; '
                                          'allowed: 1..1024'):
        build_classifier(small_cfg(**{field: value}))


def test_builder_accepts_lists_from_json():
    cfg = small_cfg(out_indices=[2])
    cfg.head.topk = [1, 5]
    model = build_classifier(cfg)
    assert model.backbone.out_indices == (2,) and model.head.topk == (1, 5)


@pytest.mark.parametrize('head, words', [
    (HeadConfig(num_classes=0, in_channels=64), ['model.head.num_classes=0', 'int >= 1']),
    (HeadConfig(num_classes=-3, in_channels=64), ['model.head.num_classes=-3', 'int >= 1']),
    (HeadConfig(num_classes=100_001, in_channels=64), ['model.head.num_classes=100001', '100000']),
    (HeadConfig(num_classes=10, in_channels=128), ['model.head.in_channels=128', 'expected 64']),
])
def test_head_that_does_not_fit_is_named_at_build_time(head, words):
    """The demo's backbone (base 16, three stages, out_indices (2,)) ends 16 * 1 * 2**2 = 64 wide."""
    backbone = BackboneConfig(depth=18, num_stages=3, out_indices=(2,), base_channels=16, stem_channels=16)
    with pytest.raises(ValueError) as e:
        build_classifier(ModelConfig(backbone=backbone, head=head))
    assert all(w in str(e.value) for w in words) and '\n' not in str(e.value)
    # Bottleneck: 64 * 4 * 2**3 = 2048 for ResNet-50; out_indices (1, 3) reads the last stage
    with pytest.raises(ValueError, match='expected 2048'):
        with torch.device('meta'):
            build_classifier(ModelConfig(backbone=BackboneConfig(depth=50, out_indices=(1, 3)),
                                         head=HeadConfig(in_channels=512)))


def test_the_loss_is_mmcls_sum_over_the_batch_size_to_the_bit():
    """mmcls 0.25: ClsHead.loss calls CrossEntropyLoss with avg_factor=len(cls_score), so
    weight_reduce_loss takes cross_entropy(reduction='none').sum() / N, then * loss_weight.
    F.cross_entropy's own mean differs in the last bit on this batch (and on about half of
    such batches), which made one logged loss in 76 differ from mmcls's. Checked
    equal to mmcls's ClsHead(loss=CrossEntropyLoss(loss_weight=0.7)).loss on 200 batches."""
    g = torch.Generator().manual_seed(0)
    scores, labels = torch.randn(16, 10, generator=g) * 3, torch.randint(0, 10, (16,), generator=g)
    per_sample = torch.nn.functional.cross_entropy(scores, labels, reduction='none')
    assert torch.nn.functional.cross_entropy(scores, labels) != per_sample.sum() / 16   # the trap
    assert CrossEntropyLoss()(scores, labels, avg_factor=16) == per_sample.sum() / 16
    assert CrossEntropyLoss(loss_weight=0.7)(scores, labels, avg_factor=16) == \
        0.7 * (per_sample.sum() / 16)
    head = LinearClsHead(10, 4, loss=CrossEntropyLoss(loss_weight=0.7))   # the head gives N
    assert head.loss(scores, labels)['loss'] == 0.7 * (per_sample.sum() / 16)
