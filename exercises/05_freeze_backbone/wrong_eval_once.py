"""Wrong answer to exercise 05: BN put in eval mode once, before training; the runner's
model.train() at the start of every epoch undoes it."""
from config import OptimizerConfig, ParamwiseConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                           paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))


LR_MULT_0_FREEZES_SGD = True
DECAY_MULT_0_FREEZES_SGD = False
LR_MULT_0_FREEZES_ADAMW = True

BACKBONE_OPTIONS = {}


def prepare(model):
    model.backbone.eval()
    return model
