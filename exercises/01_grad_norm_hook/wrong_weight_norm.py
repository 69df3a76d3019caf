"""Wrong answer to exercise 01: the norm of the weights, not of their gradients."""
import torch

from hooks import Hook

PRIORITY = 'LOW'


class GradNormHook(Hook):
    def after_train_iter(self, runner):
        norm = float(torch.cat([p.detach().flatten() for p in runner.model.parameters()]).norm())
        runner.log_buffer.update({'grad_norm': norm}, runner.outputs['num_samples'])
