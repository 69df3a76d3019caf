"""mmcls's ResNetV1c and ResNetV1d ("Bag of Tricks", He et al. 2019): model.py's ResNet with a
deep stem (three 3x3 convs instead of one 7x7), and for V1d also an average pool on the
downsampling shortcuts. mmcls: backbones/resnet.py ResNetV1c, ResNetV1d (its ResNet with
deep_stem=True, and avg_down=True for V1d).

    model=ModelConfig(backbone=BackboneConfig(type='ResNetV1d', depth=50), ...)

model.py's BACKBONES table names both; the default run never enters this file.
"""
import torch.nn as nn

from extras.models.conv_module import ConvModule
from model import ResNet


class ResNetV1c(ResNet):
    """ResNet whose stem is three 3x3 convs (stride 2, 1, 1; widths stem_channels/2,
    stem_channels/2, stem_channels), each with BN and ReLU, then the max pool: the same 4x
    smaller output as the 7x7 conv, from more layers. mmcls: ResNetV1c."""
    stem_names = ('stem',)

    def _make_stem_layer(self, in_channels, stem_channels):
        """mmcls: ResNet._make_stem_layer with deep_stem=True (keys stem.0.conv.weight ...)."""
        half = stem_channels // 2
        self.stem = nn.Sequential(
            ConvModule(in_channels, half, 3, stride=2, padding=1),
            ConvModule(half, half, 3, stride=1, padding=1),
            ConvModule(half, stem_channels, 3, stride=1, padding=1))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        return self._stages(self.maxpool(self.stem(x)))


class ResNetV1d(ResNetV1c):
    """ResNetV1c whose downsampling shortcuts average-pool (2x2, stride 2) before their 1x1
    conv, which then has stride 1: the shortcut sees every pixel instead of one in four.
    mmcls: ResNetV1d."""

    def __init__(self, depth, **kwargs):
        super().__init__(depth, avg_down=True, **kwargs)
