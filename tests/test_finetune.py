"""Fine-tuning. load_from a checkpoint whose head has another number of classes
loads everything else and names each skipped key in one warning line (mmcv's load_checkpoint
with strict=False); strict=True refuses it; and train.py fine-tunes from it with frozen_stages,
which keeps those weights and BN statistics exactly as loaded."""
import logging
import sys
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
from checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from config import BackboneConfig, HeadConfig, ModelConfig
from model import build_classifier

ROOT = Path(__file__).resolve().parent.parent
# A ResNet (ImageNet stem) of two stages, 4 and 8 channels: milliseconds a step
ARCH = dict(type='ResNet', depth=18, base_channels=4, stem_channels=4, num_stages=2, out_indices=(1,))


def classifier(num_classes, **backbone):
    return build_classifier(ModelConfig(backbone=BackboneConfig(**ARCH, **backbone),
                                        head=HeadConfig(num_classes=num_classes, in_channels=8)))


def save_in1k(path):
    """A 1000-class checkpoint in mmcls's layout, every tensor off its init (BN statistics too)."""
    model = classifier(1000)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.4 + 0.3)
    torch.save({'meta': {'mmcls_version': '0.25.0', 'CLASSES': [str(i) for i in range(1000)]},
                'state_dict': model.state_dict()}, path)
    return model.state_dict()


def test_load_from_another_head_loads_the_rest_and_names_the_skipped_keys(tmp_path, caplog):
    source = save_in1k(tmp_path / 'in1k.pth')
    model = classifier(10)
    model.init_weights()
    head = model.head.fc.weight.clone()
    with caplog.at_level('INFO', logger='finetune_test'):
        load_checkpoint(model, str(tmp_path / 'in1k.pth'), logger=logging.getLogger('finetune_test'))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in source.items() if not k.startswith('head.'))
    assert torch.equal(model.head.fc.weight, head)           # the 10-class head keeps its init
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert warnings == ['The model and loaded state dict do not match exactly (not loaded): size '
                        'mismatch for head.fc.weight: checkpoint (1000, 8) vs model (10, 8), '
                        'head.fc.bias: checkpoint (1000,) vs model (10,)']
    with pytest.raises(CheckpointError, match=r'in1k.pth: shape mismatch for head.fc.weight: '
                                              r'checkpoint \(1000, 8\) vs model \(10, 8\); head.fc.bias'):
        load_checkpoint(classifier(10), str(tmp_path / 'in1k.pth'), strict=True)


def test_missing_and_unexpected_keys_go_in_the_same_line(tmp_path, caplog):
    source = save_in1k(tmp_path / 'in1k.pth')
    edited = source                   # with its _metadata: BN version 2, which has the counter
    del edited['backbone.layer2.1.bn2.bias'], edited['backbone.bn1.num_batches_tracked']
    edited['neck.extra'] = torch.zeros(1)                # (mmcv does not name missing counters)
    torch.save({'state_dict': edited}, tmp_path / 'edited.pth')
    with caplog.at_level('WARNING', logger='finetune_test'):
        load_checkpoint(classifier(10), str(tmp_path / 'edited.pth'), logger=logging.getLogger('finetune_test'))
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.endswith('head.fc.bias: checkpoint (1000,) vs model (10,); unexpected keys in source '
                         'state_dict: neck.extra; missing keys in source state_dict: '
                         'backbone.layer2.1.bn2.bias')


def test_strict_is_the_golden_mmcv_one(tmp_path):
    """With no mmcv installed: a checkpoint with a key missing and one unexpected, loaded with
    strict=True and strict=False, against what mmcv 1.7.2's load_checkpoint did
    (tests/golden/load_checkpoint_mmcv.json, tests/mmcls_golden_ref.py): refused, or loaded."""
    import json
    import mmcls_golden_ref as ref
    ours = json.loads(json.dumps(ref.load_checkpoint_strict('minicls', str(tmp_path))))
    theirs = json.loads((ROOT / 'tests' / 'golden' / 'load_checkpoint_mmcv.json').read_text())
    assert ours == theirs['cases'] == {'strict=True': {'raises': 'RuntimeError'},
                                      'strict=False': {'loaded': [[1.0, 1.0], [1.0, 1.0]]}}


def test_a_checkpoint_of_which_nothing_fits_is_an_error(tmp_path):
    torch.save({'state_dict': {'fc.weight': torch.zeros(3, 4)}}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointError, match=r'other.pth: none of its keys is a key of the model'):
        load_checkpoint(classifier(10), str(tmp_path / 'other.pth'))


def frozen(state):
    """The stem and stage 1: what frozen_stages=1 holds."""
    return {k: v for k, v in state.items() if k.startswith(('backbone.conv1.', 'backbone.bn1.',
                                                            'backbone.layer1.'))}


def test_train_py_fine_tunes_from_a_1000_class_checkpoint_with_frozen_stages(tmp_path):
    source = save_in1k(tmp_path / 'in1k.pth')
    options = [f'model.backbone.{k}={v}' for k, v in ARCH.items() if k != 'out_indices'] + [
        'model.backbone.out_indices=[1]', 'model.backbone.frozen_stages=1', 'model.head.in_channels=8',
        'data.samples_per_gpu=8', 'data.workers_per_gpu=0', 'data.train.num_samples=32',
        'data.val.num_samples=16', 'total_epochs=1', 'log_config.interval=1', 'lr_config.step=[1]',
        'seed=0', 'num_threads=1']
    r = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
                   '--work-dir', 'w', '--load-from', str(tmp_path / 'in1k.pth'), '--cfg-options', *options],
                  cwd=tmp_path, timeout=300)      # the demo's data: tmp_path/data, made here
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    skipped = [line for line in r.stdout.splitlines() if 'do not match exactly' in line]
    assert len(skipped) == 1 and skipped[0].endswith(
        'size mismatch for head.fc.weight: checkpoint (1000, 8) vs model (10, 8), '
        'head.fc.bias: checkpoint (1000,) vs model (10,)')
    assert 'Epoch [1][4/4]' in r.stdout
    trained = read_checkpoint(str(tmp_path / 'w' / 'epoch_1.pth'))['state_dict']
    kept = frozen(source)
    assert len(kept) == 30 and all(torch.equal(trained[k], v) for k, v in kept.items())
    assert not torch.equal(trained['backbone.layer2.0.conv1.weight'], source['backbone.layer2.0.conv1.weight'])
    assert not torch.equal(trained['backbone.layer2.0.bn1.running_mean'],
                           source['backbone.layer2.0.bn1.running_mean'])
    assert trained['head.fc.weight'].shape == (10, 8)


def test_the_mmcls_tutorial_config_translates_and_a_url_is_refused(tmp_path):
    from config import ConfigError
    from extras.bridge.mmcls_config import read_mmcls_config, read_mmcls_text, to_mmcls_text
    tutorial = ROOT / 'tests' / 'fixtures' / 'mmcls' / 'tutorial' / 'resnet50_finetune_cifar.py'
    cfg = read_mmcls_config(str(tutorial))
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.depth, backbone.frozen_stages, cfg.model.head.num_classes) == \
        ('ResNet', 50, 2, 10)
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint='checkpoints/resnet50_in1k.pth',
                                     prefix='backbone')
    with torch.device('meta'):
        assert build_classifier(cfg.model).backbone.conv1.kernel_size == (7, 7)
    assert read_mmcls_text(to_mmcls_text(cfg)).model.backbone == backbone    # in a checkpoint's text
    url = 'https://download.openmmlab.com/mmclassification/v0/resnet/r50.pth'
    (tmp_path / 'url.py').write_text(f"_base_ = ['{tutorial}']\n"
                                     f"model = dict(backbone=dict(init_cfg=dict(checkpoint='{url}')))\n")
    with pytest.raises(ConfigError, match=r"url.py: model.backbone.init_cfg=.*'https://download"
                                          r".*\} is out of range; .*a URL: download it first"):
        read_mmcls_config(str(tmp_path / 'url.py'))
