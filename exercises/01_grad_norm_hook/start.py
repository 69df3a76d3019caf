"""Exercise 01: a hook that logs the gradient norm.

Write `GradNormHook`: after every training iteration it puts the L2 norm of all the
gradients of the model (one number: the norm of the vector of every gradient element) into
the log buffer under the key 'grad_norm', so that the TextLoggerHook prints and averages it.

Then choose PRIORITY, the priority it must be registered at. Think about where the
gradients exist: OptimizerHook (ABOVE_NORMAL, 40) runs zero_grad, backward and step in
after_train_iter, and hooks of a stage run in priority order (smaller first).

Read first: hooks.py (Priority, Hook, OptimizerHook), runner.py (EpochBasedRunner.train,
LogBuffer). Check: python -m pytest -q exercises/01_grad_norm_hook
"""
import torch  # noqa: F401

from hooks import Hook

PRIORITY = 'HIGHEST'


class GradNormHook(Hook):
    def after_train_iter(self, runner):
        raise NotImplementedError('compute the norm of all gradients and log it as grad_norm')
