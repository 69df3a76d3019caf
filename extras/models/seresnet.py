"""mmcls's SEResNet and SEResNeXt (Hu et al. 2018): each Bottleneck's output is rescaled channel
by channel by a squeeze-and-excitation layer (global average pool, 1x1 conv down by `se_ratio`,
ReLU, 1x1 conv back, sigmoid) before the shortcut is added. mmcls: backbones/seresnet.py,
seresnext.py, models/utils/se_layer.py.

    model=ModelConfig(backbone=BackboneConfig(type='SEResNet', depth=50, se_ratio=16), ...)

model.py's BACKBONES table names both; the default run never enters this file.
"""
import torch.nn as nn

import model
from extras.models.conv_module import ConvModule
from extras.models.resnext import make_grouped


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    """`value` rounded to a multiple of `divisor`, at least `min_value` and not below
    min_ratio * value. mmcls: models/utils/make_divisible.py."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < min_ratio * value else new_value


class SELayer(nn.Module):
    """x * sigmoid(conv2(relu(conv1(mean of x over H, W)))). mmcls: SELayer (its defaults:
    squeeze to make_divisible(channels // ratio, 8) channels, convs with a bias)."""

    def __init__(self, channels, ratio=16, divisor=8):
        super().__init__()
        squeeze = make_divisible(channels // ratio, divisor)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, squeeze, 1, with_norm=False)
        self.conv2 = ConvModule(squeeze, channels, 1, with_norm=False, activation=nn.Sigmoid)

    def forward(self, x):
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class SEBottleneck(model.Bottleneck):
    """Bottleneck with an SE layer after its last BN. mmcls: seresnet.py SEBottleneck."""

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, style='pytorch',
                 se_ratio=16, **kwargs):
        super().__init__(in_channels, out_channels, stride, downsample, style, **kwargs)
        self.se_layer = SELayer(out_channels, ratio=se_ratio)

    def forward(self, x):
        # mmcls's SEBottleneck.forward: no drop_path (its drop_path_rate builds one, unused)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se_layer(self.bn3(self.conv3(out)))
        return self.relu(out + identity)


class SEResNet(model.ResNet):
    """ResNet with SEBottleneck (depths 50, 101, 152). mmcls: SEResNet."""
    arch_settings = {
        50: (SEBottleneck, (3, 4, 6, 3)),
        101: (SEBottleneck, (3, 4, 23, 3)),
        152: (SEBottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, se_ratio=16, **kwargs):
        self.se_ratio = se_ratio          # make_res_layer reads it
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        return model.make_res_layer(se_ratio=self.se_ratio, **kwargs)


class SEResNeXtBottleneck(SEBottleneck):
    """SEBottleneck with ResNeXt's grouped 3x3 conv. mmcls: seresnext.py SEBottleneck."""

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, style='pytorch',
                 base_channels=64, groups=32, width_per_group=4, se_ratio=16, **kwargs):
        super().__init__(in_channels, out_channels, stride, downsample, style, se_ratio,
                         **kwargs)
        make_grouped(self, groups, width_per_group, base_channels)


class SEResNeXt(SEResNet):
    """SEResNet with grouped 3x3 convs (depths 50, 101, 152). mmcls: SEResNeXt."""
    arch_settings = {
        50: (SEResNeXtBottleneck, (3, 4, 6, 3)),
        101: (SEResNeXtBottleneck, (3, 4, 23, 3)),
        152: (SEResNeXtBottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, groups=32, width_per_group=4, **kwargs):
        self.groups, self.width_per_group = groups, width_per_group
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        # As mmcls 0.25's: not SEResNet's, so se_ratio never reaches the blocks (they keep
        # their default 16); a config may set it only to 16 (extras/checks/model_checks.py)
        return model.make_res_layer(groups=self.groups, width_per_group=self.width_per_group,
                                    base_channels=self.base_channels, **kwargs)
