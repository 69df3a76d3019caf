"""Exercise 05: freeze the backbone: its weights, and its BatchNorm statistics.

Fine-tuning often trains only the head. The checker's model is a small ResNet_CIFAR
(BackboneConfig(depth=18, num_stages=2, out_indices=(1,), base_channels=4, stem_channels=4))
with a LinearClsHead, trained by the real runner for 2 epochs with SGD, lr 0.1,
momentum 0.9, weight_decay 1e-4.

Part 1. make_optimizer_config(): return an OptimizerConfig (SGD, lr 0.1, momentum 0.9,
weight_decay 1e-4) whose `paramwise_cfg` leaves every backbone parameter exactly unchanged
(neither the gradient step nor the weight decay may touch it), while the head still learns.

Part 2. What do lr_mult=0 and decay_mult=0 each do? Answer True or False; the checker
measures every claim on a real optimizer. SGD adds weight_decay * w to the gradient, then
steps by lr * (that + momentum); AdamW shrinks the weights apart from the gradient, by
lr * weight_decay * w.

Part 3. A backbone is more than its parameters: every BatchNorm layer keeps running_mean
and running_var (buffers), which move at every forward pass in train mode, whatever the
optimizer does. The checker compares every backbone entry of the state_dict (parameters
and buffers) before and after the 2 epochs. Two places are yours: BACKBONE_OPTIONS (fields
added to the checker's BackboneConfig) and prepare(model) (called once on the built model,
before training). Mind that the runner calls model.train() at the start of every epoch.

Read first: runner.py (build_optimizer and its paramwise_cfg table, EpochBasedRunner.train),
config.py (ParamwiseConfig, BackboneConfig), model.py (ResNet_CIFAR: frozen_stages,
norm_eval, train). Check: python -m pytest -q exercises/05_freeze_backbone
"""
from config import OptimizerConfig, ParamwiseConfig  # noqa: F401


def make_optimizer_config():                    # Part 1
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)


# Part 2: custom_keys={'backbone': dict(...)} with only the named multiplier; True or False.
LR_MULT_0_FREEZES_SGD = None        # lr_mult=0.0 alone keeps the backbone weights unchanged (SGD)
DECAY_MULT_0_FREEZES_SGD = None     # decay_mult=0.0 alone keeps them unchanged (SGD)
LR_MULT_0_FREEZES_ADAMW = None      # lr_mult=0.0 alone keeps them unchanged (AdamW, weight_decay 0.01)

# Part 3
BACKBONE_OPTIONS = {}               # e.g. {'depth': 18} (the checker sets depth and the widths itself)


def prepare(model):
    return model
