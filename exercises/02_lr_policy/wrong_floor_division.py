"""Wrong answer to exercise 02: halves in steps (progress // half_life), not smoothly."""
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
        return base_lr * 0.5 ** (progress // self.half_life)


@dataclass
class HalfLifeLrConfig(LrConfig):
    half_life: Optional[float] = None


cfg = replace(demo_cfg, lr_config=HalfLifeLrConfig(policy='ex02_lr_policy:HalfLifeLrUpdaterHook', half_life=2))
