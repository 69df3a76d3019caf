"""mmcv's ConvModule as mmcls's ResNet variants use it: a conv, then (optionally) a BN, then an
activation, under mmcv's attribute names (conv, bn, activate), so that mmcls's state_dict keys
(`stem.0.conv.weight`, `se_layer.conv1.conv.bias`) load here. mmcv: cnn/bricks/conv_module.py.
"""
import torch.nn as nn


class ConvModule(nn.Module):
    """conv -> BN (with_norm) -> activation. mmcv: ConvModule, with bias='auto': a conv followed
    by a BN has no bias (the BN's shift does its job)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 with_norm=True, activation=nn.ReLU):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=not with_norm)
        if with_norm:
            self.bn = nn.BatchNorm2d(out_channels)
        self.activate = activation()
        # mmcv's ConvModule initialises itself when built (its init_weights): Kaiming normal
        # (fan_out), bias 0; the BN is torch's default (weight 1, bias 0)
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        x = self.conv(x)
        return self.activate(self.bn(x) if hasattr(self, 'bn') else x)
