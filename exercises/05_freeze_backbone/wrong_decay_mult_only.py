"""Wrong answer to exercise 05: decay_mult=0 alone: no weight decay, but the gradient step
still moves the backbone."""
from config import OptimizerConfig, ParamwiseConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                           paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': dict(decay_mult=0.0)}))


LR_MULT_0_FREEZES_SGD = True
DECAY_MULT_0_FREEZES_SGD = False
LR_MULT_0_FREEZES_ADAMW = True

BACKBONE_OPTIONS = {'norm_eval': True}


def prepare(model):
    return model
