"""Wrong answer to exercise 02: the policy is selected, but half_life is a default of the
hook instead of a config field, so no config (nor --cfg-options) can set it."""
from config import LrConfig, replace
from configs.demo import cfg as demo_cfg
from hooks import LrUpdaterHook


class HalfLifeLrUpdaterHook(LrUpdaterHook):
    def __init__(self, half_life=2, **kwargs):
        self.half_life = half_life
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        return base_lr * 0.5 ** (progress / self.half_life)


cfg = replace(demo_cfg, lr_config=LrConfig(policy='ex02_lr_policy:HalfLifeLrUpdaterHook'))
