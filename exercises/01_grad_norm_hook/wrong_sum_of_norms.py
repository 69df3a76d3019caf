"""Wrong answer to exercise 01: the sum of the per-parameter norms, not the norm of all gradients."""
from hooks import Hook

PRIORITY = 'LOW'


class GradNormHook(Hook):
    def after_train_iter(self, runner):
        norm = sum(float(p.grad.norm()) for p in runner.model.parameters() if p.grad is not None)
        runner.log_buffer.update({'grad_norm': norm}, runner.outputs['num_samples'])
