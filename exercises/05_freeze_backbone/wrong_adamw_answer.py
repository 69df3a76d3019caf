"""Wrong answer to exercise 05: "AdamW's decoupled weight decay still shrinks weights at lr 0"."""
from config import OptimizerConfig, ParamwiseConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                           paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))


LR_MULT_0_FREEZES_SGD = True
DECAY_MULT_0_FREEZES_SGD = False
LR_MULT_0_FREEZES_ADAMW = False

BACKBONE_OPTIONS = {'frozen_stages': 2}


def prepare(model):
    return model
