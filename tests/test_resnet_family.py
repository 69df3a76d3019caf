"""mmcls 0.25's ResNet variants (extras/models/: ResNetV1c, ResNetV1d, ResNeXt, SEResNet,
SEResNeXt; wide ResNets as ResNet(expansion=2); drop_path_rate): mmcls's state_dict keys and
shapes and its logits for weights filled from a seed (tests/golden/resnet_family.json, recorded
by tests/mmcls_resnet_family_ref.py from the real mmcls), a checkpoint saved by the real mmcls
loading strictly where $MMREF holds it, and the config checks of the new fields."""
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
import mmcls_resnet_family_ref as ref
from checkpoint import load_checkpoint
from config import (BackboneConfig, ConfigError, HeadConfig, LossConfig, ModelConfig, NeckConfig,
                    cfg as base_cfg)
from extras.bridge.mmcls_config import read_mmcls_text, to_mmcls_text
from model import DropPath, build_classifier

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / 'tests' / 'mmcls_resnet_family_ref.py'     # run with the real mmcls on the path
ZOO = ROOT / 'benchmarks' / 'mmcls_zoo_configs.py'
GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'resnet_family.json').read_text())


def close(ours, theirs, rel=1e-5):
    """Equal to `rel` of the largest value (the logits of these deep random nets reach 1e4)."""
    theirs = torch.tensor(theirs)
    return (ours - theirs).abs().max().item() <= rel * max(1.0, theirs.abs().max().item())


def logits(model):
    model.eval()
    with torch.no_grad():
        return model.simple_test(ref.images(), softmax=False, post_process=False)


@pytest.mark.parametrize('name', list(ref.MODELS))
def test_keys_shapes_and_logits_are_mmcls(name):
    """The keys, shapes and order of mmcls's state_dict (a sha256 of the list), and its logits
    for the same weights (filled in state_dict order: a wrong wiring changes them)."""
    golden = GOLDEN['models'][name]
    model = build_classifier(ref.model_config(name))
    listing = ref.entries(model)
    assert len(listing) == golden['num_entries']
    assert hashlib.sha256(json.dumps(listing).encode()).hexdigest() == golden['sha256']
    assert close(logits(ref.fill(model)), golden['logits'])


@pytest.mark.parametrize('name', list(ref.MODELS))
def test_a_seed_gives_mmcls_initial_weights(name):
    """random_streams='mmcls': after the same seed, build + init_weights gives mmcls's weights
    (also ResNeXt's blocks built twice, as mmcls builds them) and leaves the generator where
    mmcls leaves it."""
    torch.manual_seed(0)
    model = build_classifier(ref.model_config(name))
    model.init_weights()
    golden = GOLDEN['models'][name]
    assert ref.init_summary(model) == {k: golden[k] for k in ('init_abs_sums', 'next_rand')}


def test_mmcls_checkpoints_load_strictly_and_give_mmcls_logits(mmref, tmp_path):
    """The real mmcls builds each model, fills it, saves it (mmcv's save_checkpoint): here it
    loads with strict=True and gives mmcls's logits; the golden file is what mmcls gives now."""
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    r = procs.run([sys.executable, '-W', 'ignore', str(REF),
                   '--work', str(tmp_path)], cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    theirs = json.loads(r.stdout.strip().splitlines()[-1])
    for name, result in theirs['models'].items():
        model = build_classifier(ref.model_config(name))
        load_checkpoint(model, str(tmp_path / f'{name}.pth'), strict=True)
        assert close(logits(model), result['logits']), name
        golden = GOLDEN['models'][name]
        assert [result[k] for k in ('num_entries', 'sha256')] == \
            [golden[k] for k in ('num_entries', 'sha256')]
        assert close(torch.tensor(result['logits']), golden['logits']), name
        assert result['init_abs_sums'] == golden['init_abs_sums'], name
        assert result['next_rand'] == golden['next_rand'], name
    assert theirs['losses'] == GOLDEN['losses'] and theirs['gem'] == GOLDEN['gem']
    assert theirs['drop_path_sum'] == GOLDEN['drop_path_sum']


def test_the_zoo_configs_that_build_have_mmcls_state_dicts(mmref):
    """benchmarks/mmcls_zoo_configs.py over mmcls's resnet/, resnext/, seresnet/, wrn/ configs:
    each model that builds here has mmcls's full-size state_dict entries; what refuses is
    outside the model (Mixup/CutMix train_cfg, SyncBN)."""
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    r = procs.run([sys.executable, '-W', 'ignore', str(ZOO)],
                  cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    models = [line for line in r.stdout.splitlines() if ' model: ' in line]
    assert len(models) == 75 and 'DIFFERS' not in r.stdout
    refused = [line.split(' model: ')[1] for line in models if 'model: builds' not in line]
    assert refused and all('model.train_cfg=' in why or "'SyncBN'" in why for why in refused)


VARIANT_CONFIGS = {
    'seresnext_ls_gem': ModelConfig(
        backbone=BackboneConfig(type='SEResNeXt', depth=50, base_channels=8, stem_channels=8,
                                groups=4, width_per_group=2, se_ratio=16),
        neck=NeckConfig(type='GeneralizedMeanPooling', p=2.0),
        head=HeadConfig(num_classes=7, in_channels=256, topk=(1, 5),
                        loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1,
                                        mode='classy_vision'))),
    'v1d_multilabel': ModelConfig(
        backbone=BackboneConfig(type='ResNetV1d', depth=18, base_channels=8, stem_channels=8,
                                drop_path_rate=0.1),
        head=HeadConfig(type='MultiLabelLinearClsHead', num_classes=7, in_channels=64,
                        loss=LossConfig(use_soft=True, class_weight=[1.] * 7))),
    'wide': ModelConfig(
        backbone=BackboneConfig(type='ResNet', depth=50, base_channels=16, stem_channels=8,
                                expansion=2), head=HeadConfig(in_channels=256,
                                                              loss=LossConfig(use_sigmoid=True))),
}


@pytest.mark.parametrize('name', list(VARIANT_CONFIGS))
def test_the_mmcls_text_of_a_variant_reads_back(name):
    """Every checkpoint carries its config as mmcls text (to_mmcls_text): the variant fields
    are written as mmcls's keys and read back to the same model config."""
    cfg = dataclasses.replace(base_cfg, model=VARIANT_CONFIGS[name])
    assert read_mmcls_text(to_mmcls_text(cfg)).model == cfg.model


def test_mmcls_builds_the_model_of_a_variants_mmcls_text(mmref, tmp_path):
    """The real mmcls reads that text (mmcv's Config.fromstring) and builds the same model."""
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps')
    for name, model_cfg in VARIANT_CONFIGS.items():
        path = tmp_path / f'{name}.py'
        path.write_text(to_mmcls_text(dataclasses.replace(base_cfg, model=model_cfg)))
        r = procs.run([sys.executable, '-W', 'ignore', str(REF), '--text', str(path)],
                      cwd=ROOT, env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        theirs = json.loads(r.stdout.strip().splitlines()[-1])
        ours = build_classifier(model_cfg)
        assert theirs['entries'] == ref.entries(ours), name
        assert theirs['loss'] == type(ours.head.compute_loss).__name__


# ---- The parts ------------------------------------------------------------------------------

def build(**backbone):
    backbone = dict(dict(type='ResNet', depth=50, base_channels=8, stem_channels=8), **backbone)
    return build_classifier(ModelConfig(backbone=BackboneConfig(**backbone), head=HeadConfig(
        num_classes=10, in_channels=ref.head_width(backbone)))).backbone


def test_v1d_shortcuts_average_pool_and_v1c_freezes_its_deep_stem():
    v1d = build(type='ResNetV1d')
    pool, conv, _ = v1d.layer2[0].downsample
    assert isinstance(pool, torch.nn.AvgPool2d) and conv.stride == (1, 1)
    assert [type(m).__name__ for m in v1d.layer1[0].downsample] == ['Conv2d', 'BatchNorm2d']
    v1c = build(type='ResNetV1c', frozen_stages=1)
    assert len(v1c.layer2[0].downsample) == 2 and v1c.layer2[0].downsample[0].stride == (2, 2)
    v1c.train()
    assert not v1c.stem.training and not any(p.requires_grad for p in v1c.stem.parameters())
    assert v1c.layer2.training and all(p.requires_grad for p in v1c.layer2.parameters())
    # the stem: 3x3 convs of stride 2, 1, 1, widths 4, 4, 8; 64 -> 32 -> 16 with the max pool
    assert [m.conv.stride[0] for m in v1c.stem] == [2, 1, 1]
    assert [m.conv.out_channels for m in v1c.stem] == [4, 4, 8]


def test_resnext_groups_and_widths_and_zero_init_residual():
    net = build(type='SEResNeXt', groups=4, width_per_group=2)
    block = net.layer3[0]
    # mmcls: groups * width_per_group * (narrow width 32) // base_channels 8 = 32
    assert block.conv2.groups == 4 and block.conv2.in_channels == 32
    assert block.se_layer.conv1.conv.out_channels == 8       # make_divisible(128 // 16, 8)
    net.init_weights()
    assert all(b.bn3.weight.abs().sum() == 0 for layer in (net.layer1, net.layer4) for b in layer)
    assert build(type='ResNeXt', zero_init_residual=False).layer1[0].conv2.groups == 32


def test_drop_path_is_mmcvs_and_acts_only_while_training():
    assert round(ref.drop_path_output(DropPath).sum().item(), 6) == GOLDEN['drop_path_sum']
    net = build(depth=18, drop_path_rate=0.3)
    assert all(isinstance(b.drop_path, DropPath) for b in net.layer1)
    assert isinstance(build(depth=18).layer1[0].drop_path, torch.nn.Identity)
    x = torch.randn(4, 3, 32, 32)
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x)[0], net(x)[0])
        net.train()
        torch.manual_seed(0)
        first = net(x)[0]
        torch.manual_seed(1)
        assert not torch.equal(first, net(x)[0])


def test_se_blocks_keep_mmcls_unused_drop_path():
    """mmcls's SEBottleneck.forward never calls its drop_path: training output is the same
    whatever the generator says."""
    net = build(type='SEResNet', drop_path_rate=0.5).train()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.manual_seed(0)
        first = net(x)[0]
        torch.manual_seed(1)
        assert torch.equal(first, net(x)[0])


def test_a_variant_trains_with_label_smoothing_and_soft_labels():
    """One optimizer step through train_step (as the runner calls it): ResNetV1d with
    drop_path and LabelSmoothLoss on class indices; a MultiLabelLinearClsHead with a use_soft
    CrossEntropyLoss on Mixup-like rows."""
    for head, labels in (
            (HeadConfig(num_classes=5, in_channels=64, cal_acc=True, loss=LossConfig(
                type='LabelSmoothLoss', label_smooth_val=0.1)), torch.tensor([0, 4, 2, 1])),
            (HeadConfig(type='MultiLabelLinearClsHead', num_classes=5, in_channels=64,
                        loss=LossConfig(use_soft=True)), torch.full((4, 5), 0.2))):
        model = build_classifier(ModelConfig(backbone=BackboneConfig(
            type='ResNetV1d', depth=18, base_channels=8, stem_channels=8, drop_path_rate=0.2),
            head=head))
        model.init_weights()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        before = model.head.fc.weight.clone()
        out = model.train_step(dict(img=torch.randn(4, 3, 32, 32), gt_label=labels))
        out['loss'].backward()
        optimizer.step()
        assert torch.isfinite(out['loss']) and out['loss'] > 0
        assert not torch.equal(before, model.head.fc.weight)
        assert ('top-1' in out['log_vars']) == head.cal_acc


@pytest.mark.parametrize('backbone, words', [
    (dict(type='ResNet', groups=32), "model.backbone.groups=32 is not an argument of ResNet"),
    (dict(type='ResNeXt', se_ratio=8), 'model.backbone.se_ratio=8 is not an argument of ResNeXt'),
    (dict(type='ResNeXt', depth=18), 'model.backbone.depth=18 is not valid; valid: 50, 101, 152'),
    (dict(type='ResNet', drop_path_rate=1.0), 'model.backbone.drop_path_rate=1.0 is out of range'),
    (dict(type='ResNet', depth=34, expansion=2), 'model.backbone.expansion=2 is out of range; '
                                                 'allowed: None or 1 with depth 34 (BasicBlock'),
    (dict(type='SEResNeXt', width_per_group=0), 'model.backbone.width_per_group=0 is out of range'),
    (dict(type='SEResNeXt', se_ratio=8), 'model.backbone.se_ratio=8 is out of range; allowed: '
                                         'None or 16 with SEResNeXt'),
])
def test_variant_fields_are_checked_before_anything_is_built(backbone, words):
    cfg = ModelConfig(backbone=BackboneConfig(**dict(dict(depth=50), **backbone)),
                      head=HeadConfig(in_channels=2048))
    with pytest.raises(ConfigError, match='^' + words.replace('(', r'\(').replace(')', r'\)')):
        build_classifier(cfg)


def test_the_head_width_counts_expansion():
    wide = ModelConfig(backbone=BackboneConfig(type='ResNet', depth=50, base_channels=16,
                                               stem_channels=8, expansion=2),
                       head=HeadConfig(in_channels=256))
    assert build_classifier(wide).head.fc.in_features == 16 * 2 * 8
    with pytest.raises(ConfigError, match=r'in_channels=2048 does not fit.*expected 256 '
                                          r'\(base_channels=16 x 2 x 2\*\*3'):
        build_classifier(dataclasses.replace(wide, head=HeadConfig(in_channels=2048)))
