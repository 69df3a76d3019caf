"""Exercise 02: a new LR policy, selected from a config file.

Part 1. Write `HalfLifeLrUpdaterHook(half_life, **kwargs)`: the LR halves every
`half_life` epochs (or iterations, with by_epoch=False), smoothly:

    lr = base_lr * 0.5 ** (progress / half_life)

where progress is runner.epoch (by_epoch=True) or runner.iter (by_epoch=False). Only
`get_lr` is yours: LrUpdaterHook does the rest (when to set it, warmup, param groups).

Part 2. This file is also a config file:

    python train.py --config exercises/work/ex02_lr_policy.py

Make that run use your policy with half_life=2, and make `--cfg-options
lr_config.half_life=4` change it. Two things stand in the way:
- lr_config.policy names the hook. It is looked up in the table hooks.LR_POLICIES, or it
  is a 'module:Class' string; train.py puts the config file's folder on sys.path, so this
  file is the module `ex02_lr_policy`.
- build_updater_hook passes every field of lr_config that is not None to the hook, and
  LrConfig (config.py) has no field half_life. Do not edit config.py: define a dataclass
  that extends LrConfig here (and keep every other field None).

Keep all your edits in this file. Read first: hooks.py (LrUpdaterHook, StepLrUpdaterHook,
LR_POLICIES, lookup, build_updater_hook), config.py (LrConfig), configs/demo.py.
Check: python -m pytest -q exercises/02_lr_policy
"""
from config import replace  # noqa: F401
from configs.demo import cfg as demo_cfg
from hooks import LrUpdaterHook


class HalfLifeLrUpdaterHook(LrUpdaterHook):
    def __init__(self, half_life, **kwargs):
        self.half_life = half_life
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        return base_lr


# Part 2: the config. The demo's, with the LR schedule replaced by yours (half_life=2).
cfg = demo_cfg
