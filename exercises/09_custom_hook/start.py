"""Exercise 09: a custom hook, registered from `custom_hooks` at the priority it needs.

Write BestLossHook(filename='best_loss.pth'): it keeps a copy of the weights with which the
lowest training loss was measured, and at the end of the run writes them to
<work_dir>/<filename> with torch.save, as

    {'state_dict': {name: tensor}, 'meta': {'best_loss': float, 'iter': n}}

where n is the 1-based iteration whose loss it was (runner.iter + 1).

The loss of an iteration is runner.outputs['loss']. model.train_step computed it with the
weights as they were before this iteration's update; OptimizerHook (ABOVE_NORMAL, 40)
makes the update in after_train_iter. Which weights does your hook see in
after_train_iter, and what decides that?

Then select the hook in CUSTOM_HOOKS exactly as a config's `custom_hooks` field does (the
runner builds each item with hooks.build_custom_hook): `type` names the class, in the table
hooks.CUSTOM_HOOKS or as 'module:Class' (this file is the module ex09_custom_hook);
`priority` defaults to NORMAL; the other keys are the hook's arguments. In a config file:
cfg = replace(cfg, custom_hooks=CUSTOM_HOOKS).

Read first: hooks.py (Priority, Hook, OptimizerHook, CUSTOM_HOOKS, build_custom_hook),
runner.py (register_training_hooks, register_hook, train), extras/options/ema.py (a custom hook).
Check: python -m pytest -q exercises/09_custom_hook
"""
import torch  # noqa: F401

from hooks import Hook


class BestLossHook(Hook):
    def __init__(self, filename='best_loss.pth'):
        self.filename = filename


CUSTOM_HOOKS = [dict(type='BestLossHook')]
