"""mmcls's ImageNet ResNet (model.py's ResNet, which ResNet_CIFAR changes): its state_dict against the real
mmcls 0.25 (a golden list recorded from it; and, where $MMREF holds mmcls, the same logits from an
mmcls checkpoint), the stem, out_indices, frozen_stages, norm_eval, and init_cfg Pretrained."""
import dataclasses
import hashlib
import json
import logging
import os
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
from checkpoint import CheckpointError
from config import (BackboneConfig, ConfigError, HeadConfig, ModelConfig, OptimizerConfig,
                    check_config, cfg as base_cfg)
from model import BasicBlock, Bottleneck, ResNet, build_classifier
from runner import build_optimizer

ROOT = Path(__file__).resolve().parent.parent
# Recorded from the real mmcv 1.7.2 + mmcls 0.25.0 by tests/mmcls_resnet_ref.py --record.
GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'resnet_keys.json').read_text())


def small(depth=18, width=8, num_classes=10, **backbone):
    """A ResNet classifier of the given width (8: a ResNet-18 of 8-16-32-64 channels)."""
    expansion = Bottleneck.expansion if depth >= 50 else BasicBlock.expansion
    return ModelConfig(backbone=BackboneConfig(type='ResNet', depth=depth, base_channels=width,
                                               stem_channels=width, **backbone),
                       head=HeadConfig(num_classes=num_classes, in_channels=width * expansion * 8))


def shaken(model, seed=0):
    """Every weight and BN statistic moved off its init (zero_init_residual, running stats 0/1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                low = 0.5 if name.endswith(('running_var', 'bn1.weight', 'bn2.weight')) else -0.2
                t.copy_(torch.rand(t.shape, generator=g) * 0.4 + low)
    return model


# ---- The state_dict: mmcls's keys, shapes and order -----------------------------------------

@pytest.mark.parametrize('depth', ['18', '34', '50', '101', '152'])
def test_state_dict_matches_mmcls(depth):
    golden = GOLDEN['depths'][depth]
    expansion = 1 if int(depth) < 50 else 4
    with torch.device('meta'):        # names and shapes only: no memory, no time
        model = build_classifier(ModelConfig(
            backbone=BackboneConfig(type='ResNet', depth=int(depth)),
            head=HeadConfig(num_classes=1000, in_channels=512 * expansion)))
    ours = [[k, list(v.shape), str(v.dtype).replace('torch.', '')]
            for k, v in model.state_dict().items()]
    if 'state_dict' in golden:        # 18 and 50 in full: a difference shows by name
        assert ours == golden['state_dict']
    assert len(ours) == golden['num_entries']
    assert hashlib.sha256(json.dumps(ours).encode()).hexdigest() == golden['sha256']


def test_an_mmcls_checkpoint_loads_strictly_and_gives_mmcls_logits(mmref, tmp_path):
    """The real mmcls builds, initialises and saves (mmcv's save_checkpoint) ResNet-18 and -50
    at width 8; here they load with strict=True, and through init_cfg Pretrained
    prefix='backbone'; logits and features as mmcls's (docs/interop.md: all depths, width 64)."""
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    r = procs.run([sys.executable, '-W', 'ignore', str(ROOT / 'tests' / 'mmcls_resnet_ref.py'),
                   '--work', str(tmp_path), '--depths', '18,50', '--width', '8', '--size', '64'],
                  cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for result in json.loads(r.stdout.strip().splitlines()[-1]):
        assert result['keys_equal'], result
        assert result['logits_max_abs_diff'] <= 1e-4, result
        assert result['pretrained_backbone_max_abs_diff'] <= 1e-4, result
        assert result['logits_max_abs'] > 1e-3, result       # not a trivially zero output


MMCLS_INIT = """
import sys, torch
from mmcls.models.backbones import ResNet
torch.manual_seed(0)
net = ResNet(18, num_stages=2, out_indices=(1,), base_channels=8, stem_channels=8, strides=(1, 2),
             dilations=(1, 1))
net.init_weights()
torch.save(dict(state=net.state_dict(), next=torch.randn(4)), sys.argv[1])
"""


def test_built_and_initialised_from_a_seed_as_mmcls_builds_it(mmref, tmp_path):
    """random_streams='mmcls': the same seed gives the same initial weights as mmcls's, and
    leaves torch's generator where mmcls leaves it (the stem built before the stages)."""
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    r = procs.run([sys.executable, '-W', 'ignore', '-c', MMCLS_INIT, str(tmp_path / 'm.pt')],
                  cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    theirs = torch.load(tmp_path / 'm.pt', weights_only=True)
    torch.manual_seed(0)
    net = ResNet(18, num_stages=2, out_indices=(1,), base_channels=8, stem_channels=8)
    net.init_weights()
    ours = net.state_dict()
    assert list(ours) == list(theirs['state'])
    assert all(torch.equal(ours[k], theirs['state'][k]) for k in ours)
    assert torch.equal(torch.randn(4), theirs['next'])


def test_the_stem_is_built_first_as_in_mmcls():
    """mmcls's ResNet builds its 7x7 stem before the stages: its default init takes the first
    random numbers (no 3x3 conv of ResNet_CIFAR built and thrown away first)."""
    torch.manual_seed(0)
    net = ResNet(18, num_stages=2, out_indices=(1,), base_channels=8, stem_channels=8)
    torch.manual_seed(0)
    first = torch.nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
    assert torch.equal(net.conv1.weight, first.weight)


# ---- The network ----------------------------------------------------------------------------

def test_imagenet_stem_and_out_indices_on_a_non_square_image():
    backbone = ResNet(18, base_channels=8, stem_channels=4, out_indices=(0, 1, 2, 3))
    assert (backbone.conv1.kernel_size, backbone.conv1.stride, backbone.conv1.padding) == \
        ((7, 7), (2, 2), (3, 3))
    assert backbone.conv1.out_channels == backbone.bn1.num_features == 4   # stem_channels
    outs = backbone(torch.randn(2, 3, 64, 96))
    # the stem makes it 4x smaller (conv stride 2, max pool stride 2); stages 2-4 halve it again
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 24), (2, 16, 8, 12), (2, 32, 4, 6),
                                             (2, 64, 2, 3)]
    last = ResNet(50, base_channels=4, stem_channels=4, num_stages=2, out_indices=(1,))
    assert [tuple(o.shape) for o in last(torch.randn(1, 3, 33, 33))] == [(1, 32, 5, 5)]


def test_a_head_that_does_not_fit_the_backbone_is_named():
    bad = dataclasses.replace(small(), head=HeadConfig(num_classes=10, in_channels=512))
    with pytest.raises(ValueError, match=r'model.head.in_channels=512 does not fit.*expected 64'):
        build_classifier(bad)
    with pytest.raises(ValueError, match=r"model.backbone.type='ResNt' is not known \(did you "
                                         r"mean 'ResNet'\?\); valid: ResNet_CIFAR, ResNet"):
        build_classifier(dataclasses.replace(small(), backbone=BackboneConfig(type='ResNt')))


def train_steps(model, steps=3, seed=0):
    """A few SGD steps (momentum, weight decay) on random 32x32 images, as the runner does."""
    model.train()
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        batch = dict(img=torch.randn(4, 3, 32, 32, generator=g),
                     gt_label=torch.randint(0, 10, (4,), generator=g))
        optimizer.zero_grad()
        model.train_step(batch)['loss'].backward()
        optimizer.step()


def frozen_part(state, stages):
    return {k: v.clone() for k, v in state.items()
            if k.startswith(('backbone.conv1.', 'backbone.bn1.'))
            or any(k.startswith(f'backbone.layer{i}.') for i in range(1, stages + 1))}


@pytest.mark.parametrize('stages', [0, 1, 4])
def test_frozen_stages_keep_weights_and_bn_statistics_as_loaded(stages):
    """frozen_stages=k: the stem and stages 1..k are exactly as loaded after training steps
    (weights and BN running statistics); the rest trains. 0: the stem only; 4: all stages."""
    model = build_classifier(small(frozen_stages=stages))
    # as mmcls's __init__: no gradient from the start (DDP and the optimizer see it so)
    assert [k for k, p in model.named_parameters() if not p.requires_grad] == \
        [k for k in frozen_part(dict(model.named_parameters()), stages)]
    model.load_state_dict(shaken(build_classifier(small())).state_dict(), strict=True)
    before = frozen_part(model.state_dict(), stages)
    rest = {k: v.clone() for k, v in model.state_dict().items() if k not in before}
    train_steps(model)
    after = model.state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())
    changed = [k for k, v in rest.items() if not torch.equal(v, after[k])]
    assert 'head.fc.weight' in changed
    if stages < 4:
        assert f'backbone.layer{stages + 1}.0.bn1.running_mean' in changed
        assert f'backbone.layer{stages + 1}.0.conv1.weight' in changed
    assert all(not p.requires_grad for k, p in model.named_parameters() if k in before)
    assert not model.backbone.bn1.training and model.head.training


def test_norm_eval_keeps_every_bn_statistic_while_weights_train():
    model = shaken(build_classifier(small(norm_eval=True)))
    stats = {k: v.clone() for k, v in model.state_dict().items()
             if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))}
    conv = model.backbone.layer1[0].conv1.weight.clone()
    train_steps(model)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())
    assert not torch.equal(conv, model.backbone.layer1[0].conv1.weight)   # not frozen


# ---- init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone') ----------------------

def save_classifier(path, num_classes=1000, seed=0):
    """A full classifier checkpoint, in mmcls's layout."""
    source = shaken(build_classifier(small(num_classes=num_classes)), seed)
    torch.save({'meta': {'mmcls_version': '0.25.0', 'CLASSES': [str(i) for i in range(num_classes)]},
                'state_dict': source.state_dict()}, path)
    return source.state_dict()


def test_init_cfg_pretrained_loads_the_backbone_of_a_classifier_checkpoint(tmp_path, caplog):
    source = save_classifier(tmp_path / 'in1k.pth')
    init = dict(type='Pretrained', checkpoint=str(tmp_path / 'in1k.pth'), prefix='backbone')
    model = build_classifier(small(init_cfg=init))
    with caplog.at_level('INFO', logger='minicls'):
        model.init_weights()
    state = model.state_dict()
    backbone = [k for k in state if k.startswith('backbone.')]
    assert backbone and all(torch.equal(state[k], source[k]) for k in backbone)
    # zero_init_residual is not applied over the loaded weights (mmcls: init_weights returns)
    assert model.backbone.layer1[0].bn2.weight.abs().min() > 0
    assert state['head.fc.weight'].shape == (10, 64)          # the head: its own init
    assert f"load backbone in model from: {tmp_path / 'in1k.pth'}" in caplog.text
    assert 'do not match' not in caplog.text                   # the backbone fits: no warning


def test_init_cfg_pretrained_names_what_it_could_not_load(tmp_path, caplog):
    save_classifier(tmp_path / 'in1k.pth')
    bare = torch.load(tmp_path / 'in1k.pth')['state_dict']
    bare['backbone.extra'] = torch.zeros(2)
    bare['backbone.conv1.weight'] = torch.zeros(8, 3, 3, 3)
    del bare['backbone.layer4.1.bn2.bias']
    torch.save(bare, tmp_path / 'edited.pth')
    init = dict(type='Pretrained', checkpoint=str(tmp_path / 'edited.pth'), prefix='backbone.')
    model = build_classifier(small(init_cfg=init))
    with caplog.at_level('WARNING', logger='minicls'):
        model.init_weights()
    lines = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(lines) == 1 and 'conv1.weight: checkpoint (8, 3, 3, 3) vs model (8, 3, 7, 7)' in lines[0]
    assert 'unexpected keys in source state_dict: extra' in lines[0]
    assert 'missing keys in source state_dict: layer4.1.bn2.bias' in lines[0]
    # a wider model: no weight of the file fits (mmcv would train on from the random init)
    with pytest.raises(CheckpointError, match=r"model.backbone.init_cfg: .*edited.pth: none of its 120 "
                                              r"weights fits this model: conv1.weight: checkpoint "
                                              r"\(8, 3, 3, 3\) vs model \(16, 3, 7, 7\), .*\(99 in all\)$"):
        build_classifier(small(width=16, init_cfg=init)).init_weights()
    with pytest.raises(CheckpointError, match=r"model.backbone.init_cfg: no key of .*edited.pth "
                                              r"starts with 'neck.' \(prefix='neck'\)"):
        build_classifier(small(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'edited.pth'),
                                             prefix='neck'))).init_weights()


def test_init_cfg_reads_checkpoints_as_every_checkpoint_is_read(tmp_path):
    torch.save({'state_dict': OrderedDict(), 'meta': logging.getLogger('x')}, tmp_path / 'pickle.pth')
    init = dict(type='Pretrained', checkpoint=str(tmp_path / 'pickle.pth'), prefix='backbone')
    with pytest.raises(CheckpointError, match=r'^model.backbone.init_cfg: .*pickle.pth holds pickled '
                                              'Python objects'):
        build_classifier(small(init_cfg=init)).init_weights()
    init['checkpoint'] = str(tmp_path / 'nope.pth')
    with pytest.raises(CheckpointError, match=r'^model.backbone.init_cfg: checkpoint .*nope.pth does '
                                              'not exist'):
        build_classifier(small(init_cfg=init)).init_weights()


@pytest.mark.parametrize('backbone, init', [
    (dict(type='ResNet'), dict(type='Pretrained', checkpoint='https://download.openmmlab.com/r50.pth',
                               prefix='backbone')),
    (dict(type='ResNet'), dict(type='Kaiming', layer='Conv2d')),
    (dict(type='ResNet'), dict(type='Pretrained', checkpoint='r.pth', prefix='backbone',
                               map_location='cpu')),
    (dict(type='ResNet'), dict(type='Pretrained', prefix='backbone')),
    (dict(type='ResNet_CIFAR'), dict(type='Pretrained', checkpoint='r.pth', prefix='backbone')),
])
def test_init_cfg_is_checked_before_anything_runs(backbone, init):
    cfg = dataclasses.replace(base_cfg, model=dataclasses.replace(
        base_cfg.model, backbone=BackboneConfig(**backbone, init_cfg=init)))
    with pytest.raises(ConfigError, match=r"^model.backbone.init_cfg=.* is out of range; allowed: "
                                          r"None, or with type='ResNet' dict\(type='Pretrained', "
                                          r"checkpoint='a local file' \(a URL: download it first\)"):
        check_config(cfg)
    good = BackboneConfig(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='r.pth'))
    check_config(dataclasses.replace(base_cfg, model=dataclasses.replace(base_cfg.model, backbone=good)))
