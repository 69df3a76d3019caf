"""Reference solution of exercise 05.

Part 1: lr_mult=0 gives the backbone's param groups lr 0 (every LR schedule scales that 0),
and SGD's weight decay goes through the gradient, which lr 0 also cancels; decay_mult=0
says so explicitly. Part 2: decay_mult=0 alone only removes the decay: the gradient step
still moves the weights. torch's AdamW decays by lr * weight_decay * w, so lr 0 stops that
too. Part 3: BN statistics are buffers, not parameters: no optimizer setting keeps them.
frozen_stages=2 (the stem and both stages) puts those layers in eval mode and turns off
their gradients; ResNet_CIFAR.train() re-applies it after every model.train(), which an
eval() done once in prepare() would not survive. norm_eval=True (every BN in eval mode)
together with Part 1's lr_mult=0 works too.
"""
from config import OptimizerConfig, ParamwiseConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                           paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))


LR_MULT_0_FREEZES_SGD = True
DECAY_MULT_0_FREEZES_SGD = False
LR_MULT_0_FREEZES_ADAMW = True

BACKBONE_OPTIONS = {'frozen_stages': 2}


def prepare(model):
    return model
