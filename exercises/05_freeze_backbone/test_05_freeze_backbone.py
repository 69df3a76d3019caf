"""Checker of exercise 05: Part 1 and Part 2 with the real build_optimizer, Part 3 with the
real runner (2 epochs: model.train() at the start of each), comparing every backbone
parameter and buffer."""
import dataclasses

import pytest
import torch

from config import BackboneConfig, HeadConfig, ModelConfig, OptimizerConfig, ParamwiseConfig
from conftest import run
from model import build_classifier
from runner import build_optimizer

ARCH = dict(depth=18, num_stages=2, out_indices=(1,), base_channels=4, stem_channels=4)


def make_model(**backbone_options):
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(**{**backbone_options, **ARCH}),
                                         head=HeadConfig(in_channels=8)))
    model.init_weights()
    return model


def batches(n=3):
    g = torch.Generator().manual_seed(1)
    return [{'img': torch.randn(8, 3, 16, 16, generator=g), 'gt_label': torch.randint(0, 10, (8,), generator=g)}
            for _ in range(n)]


def train_steps(model, optimizer_cfg, steps=3):
    """Three real optimizer steps, model in train mode (the parameters are what Parts 1-2 look at)."""
    optimizer = build_optimizer(model, optimizer_cfg)
    model.train()
    for data in batches(steps):
        loss = model.train_step(data)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def changed(before, model, prefix='backbone.', buffers=True):
    after = model.state_dict()
    names = dict(model.named_parameters()) if not buffers else after
    return [k for k in names if k.startswith(prefix) and not torch.equal(before[k], after[k])]


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_part1_paramwise_cfg_freezes_the_backbone_weights(impl):
    model = make_model()
    before = snapshot(model)
    cfg = impl.make_optimizer_config()
    assert cfg.paramwise_cfg is not None, 'Part 1: set paramwise_cfg (custom_keys for the backbone)'
    train_steps(model, cfg)
    moved = changed(before, model, buffers=False)
    keys = cfg.paramwise_cfg.custom_keys
    assert not moved, (f'{len(moved)} backbone parameters changed (e.g. {moved[0]}) with custom_keys={keys}. '
                       'decay_mult only scales the weight decay: the gradient step still moves the weights; '
                       'lr_mult scales the step')
    assert changed(before, model, prefix='head.', buffers=False), 'the head did not learn: freeze the backbone only'


CLAIMS = {
    'LR_MULT_0_FREEZES_SGD': (OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4), dict(lr_mult=0.0)),
    'DECAY_MULT_0_FREEZES_SGD': (OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4), dict(decay_mult=0.0)),
    'LR_MULT_0_FREEZES_ADAMW': (OptimizerConfig(type='AdamW', lr=0.01, momentum=None, weight_decay=0.01),
                                dict(lr_mult=0.0)),
}


@pytest.mark.parametrize('claim', list(CLAIMS))
def test_part2_what_lr_mult_and_decay_mult_do(impl, claim):
    answer = getattr(impl, claim)
    assert answer in (True, False), f'Part 2: answer {claim} with True or False'
    base, multipliers = CLAIMS[claim]
    model = make_model()
    before = snapshot(model)
    train_steps(model, dataclasses.replace(base, paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': multipliers})))
    moved = changed(before, model, buffers=False)
    truth = not moved
    if answer != truth:
        measured = ('every backbone weight stayed as it was' if truth else
                    f'{len(moved)} backbone weights moved (e.g. {moved[0]})')
        pytest.fail(f'{claim} = {answer}, but {base.type} with custom_keys={{"backbone": {multipliers}}}: '
                    f'{measured} after 3 steps', pytrace=False)


def test_part3_the_whole_backbone_stays_during_a_real_run(impl, tmp_path):
    model = impl.prepare(make_model(**impl.BACKBONE_OPTIONS))
    before = snapshot(model)
    run([], epochs=2, optimizer_config=impl.make_optimizer_config(), model=model, loader=batches(),
        work_dir=tmp_path)
    moved = changed(before, model)
    weights = set(dict(model.named_parameters()))
    moved_weights = [k for k in moved if k in weights]
    assert not moved_weights, f'{len(moved_weights)} backbone parameters changed in training, e.g. {moved_weights[0]}'
    if moved:
        pytest.fail(f'every backbone weight stayed, but {len(moved)} BatchNorm statistics changed (e.g. {moved[0]}): '
                    'BN layers in train mode update running_mean / running_var / num_batches_tracked at every '
                    'forward pass, whatever the optimizer does. Keep them in eval mode for the whole run: '
                    "BackboneConfig's frozen_stages or norm_eval (ResNet_CIFAR.train() re-applies them). An eval() "
                    'done once before training does not last: runner.train() calls model.train() at the start of '
                    'every epoch', pytrace=False)
    assert changed(before, model, prefix='head.'), 'the head did not learn: freeze the backbone only'
