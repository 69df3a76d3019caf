"""Exercise 02: a new LR policy.

Write `HalfLifeLrUpdaterHook(half_life, **kwargs)`: the LR halves every `half_life`
epochs (or iterations, with by_epoch=False), smoothly:

    lr = base_lr * 0.5 ** (progress / half_life)

where progress is runner.epoch (by_epoch=True) or runner.iter (by_epoch=False). Only
`get_lr` is yours: LrUpdaterHook does the rest (when to set it, warmup, param groups).
"""
from lr_updater import LrUpdaterHook


class HalfLifeLrUpdaterHook(LrUpdaterHook):
    def __init__(self, half_life, **kwargs):
        self.half_life = half_life
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        return base_lr
