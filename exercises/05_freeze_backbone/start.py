"""Exercise 05: freeze the backbone with paramwise_cfg.

Fine-tuning often trains only the head. Return an OptimizerConfig (SGD, lr 0.1, momentum
0.9, weight_decay 1e-4) whose `paramwise_cfg` leaves every backbone parameter exactly
unchanged by training: neither the gradient step nor the weight decay may touch it, while
the head still learns. Read the table at the top of optimizer.py. Then think: SGD adds
weight_decay * w to the gradient, so is lr 0 enough here? Would it be for an optimizer
that decays the weights apart from the LR?
"""
from config import OptimizerConfig


def make_optimizer_config():
    return OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
