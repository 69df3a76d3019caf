"""Exercise 03: move a hook's priority and predict the effect.

`Peek` records the LR that the optimizer holds in before_train_iter. The run: 2 epochs x 2
iterations, SGD lr 0.1, and an iteration-based step schedule:

    lr_config = LrConfig(policy='step', step=[2], by_epoch=False)   # x0.1 from iteration 2

The LrUpdaterHook is at VERY_HIGH (10). Predict the four LRs Peek records when it is
registered at HIGHEST (0, before the updater) and at LOWEST (100, after it). Write them
below without running anything, then check. Then think: what would change with
by_epoch=True (the LR updater then acts in before_train_epoch)?
"""
PREDICTION_HIGHEST = None      # e.g. [0.1, 0.1, 0.1, 0.1]
PREDICTION_LOWEST = None
