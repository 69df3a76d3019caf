"""Optimizer hooks: backward and step after the forward pass (mmcv: hooks/optimizer.py).

The model's `train_step` only computes the loss; these hooks, at priority ABOVE_NORMAL
in `after_train_iter`, turn it into an update:

    OptimizerHook                        zero_grad, backward, [clip], step
    GradientCumulativeOptimizerHook      backward of loss / N every iteration, step every N
    Fp16OptimizerHook                    as OptimizerHook, with a GradScaler (float16)
    GradientCumulativeFp16OptimizerHook  both

Mixed precision: the forward pass runs under `torch.autocast` (the runner enters it when
`runner.autocast_dtype` is set, which these hooks do in before_run). float16 needs a
loss scaler so that small gradients do not underflow; bfloat16 has float32's range and
needs none. mmcv casts the model to fp16 by hand; autocast is PyTorch's own way.
"""
import torch

from hooks import Hook


class OptimizerHook(Hook):
    def __init__(self, grad_clip=None):
        self.grad_clip = grad_clip          # None or dict(max_norm=..., norm_type=...)

    def backward(self, runner, loss):
        loss.backward()

    def clip_grads(self, runner):
        params = [p for p in runner.model.parameters() if p.requires_grad and p.grad is not None]
        if params:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, **self.grad_clip)
            runner.log_buffer.update({'grad_norm': grad_norm.detach()}, runner.outputs['num_samples'])

    def step(self, runner):
        if self.grad_clip is not None:
            self.clip_grads(runner)
        runner.optimizer.step()

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        self.backward(runner, runner.outputs['loss'])
        self.step(runner)


class GradientCumulativeOptimizerHook(OptimizerHook):
    """Accumulate gradients over `cumulative_iters` iterations, then step: a total batch of
    cumulative_iters x samples_per_gpu on the memory of one batch.

    Each loss is divided by N so the summed gradient is the mean over N batches. At the
    end of the run fewer than N iterations may remain; their losses are divided by that
    remainder instead (mmcv's rule). mmcv counts the remainder from the absolute
    iteration number, which is wrong after a resume; we count from where the run starts.
    """

    def __init__(self, cumulative_iters=1, **kwargs):
        if not (isinstance(cumulative_iters, int) and cumulative_iters > 0):
            raise ValueError(f'optimizer_config.cumulative_iters must be a positive int, got {cumulative_iters!r}')
        super().__init__(**kwargs)
        self.cumulative_iters = cumulative_iters

    def before_run(self, runner):
        if runner.iter % self.cumulative_iters:
            runner.logger.warning(f'resuming at iter {runner.iter}, which is not a multiple of cumulative_iters='
                                  f'{self.cumulative_iters}: the gradients of the partial window are lost')
        if self.cumulative_iters > 1 and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                                             for m in runner.model.modules()):
            runner.logger.warning('gradient accumulation with BatchNorm: BN statistics still see one batch')
        remaining = runner.max_iters - runner.iter
        self.divisible_until = runner.iter + remaining // self.cumulative_iters * self.cumulative_iters
        self.remainder = remaining % self.cumulative_iters

    def after_train_iter(self, runner):
        factor = self.cumulative_iters if runner.iter < self.divisible_until else self.remainder
        self.backward(runner, runner.outputs['loss'] / factor)
        if self.every_n_iters(runner, self.cumulative_iters) or self.is_last_iter(runner):
            self.step(runner)
            runner.optimizer.zero_grad()


class Fp16OptimizerHook(OptimizerHook):
    """Mixed precision. loss_scale: 'dynamic' (GradScaler's default, grows and backs off),
    a number (a fixed scale), or a dict of GradScaler arguments. dtype: 'float16' or
    'bfloat16' (no scaling needed)."""

    def __init__(self, grad_clip=None, loss_scale='dynamic', dtype='float16'):
        super().__init__(grad_clip)
        if dtype not in ('float16', 'bfloat16'):
            raise ValueError(f"fp16.dtype={dtype!r} is not known; valid: 'float16', 'bfloat16'")
        self.dtype = getattr(torch, dtype)
        self.fixed_scale = None               # a number: set the scale back to it after every step
        if loss_scale == 'dynamic':
            self.scaler_args = {}
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool) and loss_scale > 0:
            self.scaler_args, self.fixed_scale = dict(init_scale=float(loss_scale)), float(loss_scale)
        elif isinstance(loss_scale, dict):
            self.scaler_args = loss_scale
        else:
            raise ValueError(f"fp16.loss_scale={loss_scale!r} must be 'dynamic', a positive number or a dict")

    def before_run(self, runner):
        runner.autocast_dtype = self.dtype
        enabled = self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler(runner.device.type, enabled=enabled, **self.scaler_args)
        saved = runner.meta.get('fp16', {}).get('loss_scaler')
        if saved and enabled:                 # resumed: continue with the saved scale
            self.scaler.load_state_dict(saved)

    def backward(self, runner, loss):
        self.scaler.scale(loss).backward()

    def step(self, runner):
        if self.grad_clip is not None:
            self.scaler.unscale_(runner.optimizer)    # so clipping sees the true gradients
            self.clip_grads(runner)
        self.scaler.step(runner.optimizer)        # skipped when a gradient is inf/nan
        self.scaler.update(self.fixed_scale)     # mmcv: loss_scaler.update(self._scale_update_param)
        if self.scaler.is_enabled():              # travels in checkpoint meta (mmcv does the same)
            runner.meta.setdefault('fp16', {})['loss_scaler'] = self.scaler.state_dict()


class GradientCumulativeFp16OptimizerHook(GradientCumulativeOptimizerHook, Fp16OptimizerHook):
    def __init__(self, cumulative_iters=1, grad_clip=None, loss_scale='dynamic', dtype='float16'):
        Fp16OptimizerHook.__init__(self, grad_clip, loss_scale, dtype)
        if not (isinstance(cumulative_iters, int) and cumulative_iters > 0):
            raise ValueError(f'optimizer_config.cumulative_iters must be a positive int, got {cumulative_iters!r}')
        self.cumulative_iters = cumulative_iters

    def before_run(self, runner):
        Fp16OptimizerHook.before_run(self, runner)
        GradientCumulativeOptimizerHook.before_run(self, runner)
        runner.autocast_dtype = self.dtype


def build_optimizer_hook(optimizer_config, fp16_config=None):
    """optimizer_config (+ fp16) -> the hook: mmcls's train_model picks Fp16OptimizerHook
    when the config has `fp16`, the cumulative variants when cumulative_iters > 1."""
    clip = optimizer_config.grad_clip
    args = dict(grad_clip=None if clip is None else dict(max_norm=clip.max_norm, norm_type=clip.norm_type))
    cumulative = optimizer_config.cumulative_iters
    if fp16_config is not None:
        args.update(loss_scale=fp16_config.loss_scale, dtype=fp16_config.dtype)
        return GradientCumulativeFp16OptimizerHook(cumulative, **args) if cumulative > 1 else Fp16OptimizerHook(**args)
    return GradientCumulativeOptimizerHook(cumulative, **args) if cumulative > 1 else OptimizerHook(**args)

