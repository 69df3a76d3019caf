"""mmcls 0.25's ImageNet ResNet (mmcls: backbones/resnet.py, ResNet) for depths 18 to 152, and
its `init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone')` (mmcv: PretrainedInit),
the fine-tuning recipe of mmcls's tutorial (docs/en/tutorials/finetune.md):

    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet', depth=50, frozen_stages=2, init_cfg=dict(
            type='Pretrained', checkpoint='resnet50_in1k.pth', prefix='backbone')),
        head=HeadConfig(num_classes=10, in_channels=2048))

It is model.py's ResNet_CIFAR (mmcls's ResNet_CIFAR is a subclass of ResNet too) with the
ImageNet stem: a 7x7 stride-2 conv, BN, ReLU and a 3x3 stride-2 max pool make the image 4x
smaller before the first stage (224 -> 56). Blocks, stages, frozen_stages (the stem, then the
first k stages), norm_eval, out_indices and zero_init_residual are ResNet_CIFAR's. The max pool
has no weights, so the state_dict keys are mmcls's and an mmcls checkpoint loads strictly.
mmcls's options that are not here (its defaults only): deep_stem and avg_down (its ResNetV1c,
ResNetV1d), strides, dilations, with_cp, drop_path_rate, norm_cfg.
"""
import logging
from collections import OrderedDict

import torch.nn as nn

from checkpoint import (CheckpointError, model_weights, read_checkpoint, shape_mismatches,
                        weights_that_fit)
from model import ResNet_CIFAR

logger = logging.getLogger('minicls')


class ResNet(ResNet_CIFAR):
    """ResNet for ImageNet-sized images; returns a tuple, one feature map per stage in
    `out_indices`. mmcls: ResNet."""

    def __init__(self, depth, init_cfg=None, **kwargs):
        super().__init__(depth, **kwargs)
        self.init_cfg = init_cfg          # None: mmcls's default (Kaiming convs, BN weight 1)
        self.train()    # mmcls: _freeze_stages() here too, before an optimizer or DDP sees them

    def _make_stem_layer(self, in_channels, stem_channels):
        """mmcls: ResNet._make_stem_layer, built where ResNet_CIFAR builds its own, so the
        random draws of the init are mmcls's (random_streams='mmcls')."""
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def init_weights(self):
        """mmcls: ResNet.init_weights. With a Pretrained init_cfg only the checkpoint's weights
        are loaded: mmcv's BaseModule returns after PretrainedInit (no Kaiming init before it,
        no zero_init_residual after it); what the checkpoint lacks keeps torch's default init."""
        if self.init_cfg is None:
            return super().init_weights()
        load_pretrained(self, self.init_cfg['checkpoint'], self.init_cfg.get('prefix'))


def load_pretrained(module, filename, prefix=None):
    """mmcv: PretrainedInit. Read `filename` as every checkpoint is read here (tensors and plain
    values only: checkpoint.py's read_checkpoint), keep the keys under `prefix` without it
    (mmcv: _load_checkpoint_with_prefix; 'backbone' takes a classifier's backbone), and load
    them with strict=False: the keys that do not fit are named in one warning line."""
    what = f'{prefix} in model' if prefix else 'model'
    logger.info(f'load {what} from: {filename}')       # mmcv's words
    try:
        weights = model_weights(read_checkpoint(filename))
    except CheckpointError as e:
        raise CheckpointError(f'model.backbone.init_cfg: {e}') from None
    if prefix:
        start = prefix if prefix.endswith('.') else prefix + '.'
        weights = OrderedDict((k[len(start):], v) for k, v in weights.items()
                              if k.startswith(start))
        if not weights:
            raise CheckpointError(f"model.backbone.init_cfg: no key of {filename} starts with "
                                  f"{start!r} (prefix={prefix!r}); it is not in the checkpoint")
    fit = weights_that_fit(module, {'state_dict': weights}, filename)
    result = module.load_state_dict(fit, strict=False)
    # the line checkpoint.load_checkpoint writes for load_from (mmcv: load_state_dict)
    missing = [k for k in result.missing_keys if k not in weights
               and not k.endswith('num_batches_tracked')]
    skipped = [f'{kind} {", ".join(keys)}' for kind, keys in (
        ('size mismatch for', shape_mismatches(module, weights)),
        ('unexpected keys in source state_dict:', result.unexpected_keys),
        ('missing keys in source state_dict:', missing)) if keys]
    if skipped:
        logger.warning('The model and loaded state dict do not match exactly (not loaded): '
                       + '; '.join(skipped))
