"""Reference solution of exercise 02 (a policy, and a config file that selects it)."""
from dataclasses import dataclass
from typing import Optional

from config import LrConfig, replace
from configs.demo import cfg as demo_cfg
from hooks import LrUpdaterHook


class HalfLifeLrUpdaterHook(LrUpdaterHook):
    def __init__(self, half_life, **kwargs):
        self.half_life = half_life
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        return base_lr * 0.5 ** (progress / self.half_life)


@dataclass
class HalfLifeLrConfig(LrConfig):
    """LrConfig plus the new policy's argument: a real field, so --cfg-options
    lr_config.half_life=4 is type-checked and reaches the hook."""
    half_life: Optional[float] = None


# 'module:Class': this file is the module ex02_lr_policy (its folder is on sys.path).
# The other way, `hooks.LR_POLICIES['HalfLife'] = HalfLifeLrUpdaterHook` here and
# policy='HalfLife', works too, but only in a process that has run this file first.
cfg = replace(demo_cfg, lr_config=HalfLifeLrConfig(policy='ex02_lr_policy:HalfLifeLrUpdaterHook', half_life=2))
