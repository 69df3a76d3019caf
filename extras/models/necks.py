"""mmcls's GeneralizedMeanPooling (GeM, Radenovic et al. 2018): each channel's generalised mean
(mean of x**p)**(1/p), with p a learned parameter; p=1 is average pooling, large p approaches
max pooling. mmcls: necks/gem.py.

model.py's NECKS table names it; the default run never enters this file.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class GeneralizedMeanPooling(nn.Module):
    """(N, C, H, W) -> (N, C); a tuple maps item by item. `clamp`: values below `eps` are
    raised to it first (x**p of a negative x is not real). mmcls: same name."""

    def __init__(self, p=3., eps=1e-6, clamp=True):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)     # mmcls's key: neck.p
        self.eps, self.clamp = eps, clamp

    def gem(self, x):
        x = x.clamp(min=self.eps) if self.clamp else x
        return F.avg_pool2d(x.pow(self.p), (x.size(-2), x.size(-1))).pow(1. / self.p)

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self.gem(x).view(x.size(0), -1) for x in inputs)
        return self.gem(inputs).view(inputs.size(0), -1)
