"""Exercise 03: move a hook's priority and predict the effect.

`Peek` records the LR that the optimizer holds in before_train_iter. The run: 2 epochs x 2
iterations, SGD lr 0.1, and an iteration-based step schedule:

    lr_config = LrConfig(policy='step', step=[2], by_epoch=False)   # x0.1 from iteration 2

The LrUpdaterHook is at VERY_HIGH (10). Predict the four LRs Peek records when it is
registered at HIGHEST (0, before the updater) and at LOWEST (100, after it). Write them
below without running anything, then check.

Then the same run with an epoch-based schedule, LrConfig(policy='step', step=[1]) (x0.1
from epoch 1, the second epoch): the updater then sets the LR in before_train_epoch.
Predict what Peek records; the checker tries both priorities against your one list.

Read first: runner.py (EpochBasedRunner.call_hook, register_hook, train),
hooks.py (Priority, LrUpdaterHook.before_train_epoch / before_train_iter).
Check: python -m pytest -q exercises/03_hook_priority
"""
PREDICTION_HIGHEST = None      # e.g. [0.1, 0.1, 0.1, 0.1]
PREDICTION_LOWEST = None
PREDICTION_BY_EPOCH = None     # step=[1], by_epoch=True: the same at HIGHEST and at LOWEST?
