"""Reference solution of exercise 05.

lr_mult=0 gives the backbone's param groups lr 0 (and every LR schedule scales that 0).
SGD applies weight decay through the gradient (grad + wd * w), which lr 0 also cancels;
decay_mult=0 makes the intent explicit and keeps it true for optimizers that decay
weights apart from the LR (AdamW decays by lr * wd, also 0 here, but not every one does)."""
from config import OptimizerConfig, ParamwiseConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                           paramwise_cfg=ParamwiseConfig(custom_keys={'backbone': dict(lr_mult=0.0, decay_mult=0.0)}))
