"""mmcls's ResNeXt (Xie et al. 2017): model.py's ResNet whose Bottleneck's 3x3 conv is split
into `groups` groups of `width_per_group` channels each at the first stage (doubling each
stage), e.g. ResNeXt-50 32x4d: groups=32, width_per_group=4. mmcls: backbones/resnext.py.

    model=ModelConfig(backbone=BackboneConfig(type='ResNeXt', depth=50, groups=32,
                                              width_per_group=4), ...)

model.py's BACKBONES table names it; the default run never enters this file.
"""
import torch.nn as nn

import model


def make_grouped(block, groups, width_per_group, base_channels):
    """Rebuild `block`'s convs and BNs at ResNeXt's width, the 3x3 conv in `groups` groups.
    As mmcls does (after its Bottleneck built them at ResNet's width): the same keys, in the
    same order, and the same random draws from a seed."""
    in_channels, mid_channels = block.conv1.in_channels, block.conv1.out_channels
    out_channels = block.conv3.out_channels
    if groups != 1:     # mmcls: the stage's narrow width, scaled by groups * width / base
        mid_channels = groups * width_per_group * mid_channels // base_channels
    block.bn1 = nn.BatchNorm2d(mid_channels)
    block.bn2 = nn.BatchNorm2d(mid_channels)
    block.bn3 = nn.BatchNorm2d(out_channels)
    block.conv1 = nn.Conv2d(in_channels, mid_channels, 1, stride=block.conv1.stride, bias=False)
    block.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=block.conv2.stride, padding=1,
                            groups=groups, bias=False)
    block.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)


class Bottleneck(model.Bottleneck):
    """model.py's Bottleneck with a grouped 3x3 conv. mmcls: resnext.py Bottleneck."""

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, style='pytorch',
                 base_channels=64, groups=32, width_per_group=4, **kwargs):
        super().__init__(in_channels, out_channels, stride, downsample, style, **kwargs)
        make_grouped(self, groups, width_per_group, base_channels)


class ResNeXt(model.ResNet):
    """ResNet with ResNeXt's Bottleneck (depths 50, 101, 152). mmcls: ResNeXt."""
    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, groups=32, width_per_group=4, **kwargs):
        self.groups, self.width_per_group = groups, width_per_group   # make_res_layer reads them
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        return model.make_res_layer(groups=self.groups, width_per_group=self.width_per_group,
                                    base_channels=self.base_channels, **kwargs)
