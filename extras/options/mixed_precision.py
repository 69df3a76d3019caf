"""Mixed precision (mmcv: Fp16OptimizerHook, GradientCumulativeFp16OptimizerHook).

Picked by hooks.py's build_optimizer_hook when the config has `fp16=Fp16Config(...)`. The
forward runs under `torch.autocast` (the runner enters it when `runner.autocast_dtype` is
set, which these hooks do in before_run), as mmcv 1.x does on torch >= 1.6. float16 needs a
loss scaler so that small gradients do not underflow; bfloat16 has float32's range and
needs none.
"""
import torch

from config import ConfigError
from extras.options.grad_accumulation import GradientCumulativeOptimizerHook
from hooks import OptimizerHook


class Fp16OptimizerHook(OptimizerHook):
    """Mixed precision. loss_scale: 'dynamic' (GradScaler's default, grows and backs off),
    a number (a fixed scale), or a dict of GradScaler arguments. dtype: 'float16' or
    'bfloat16' (no scaling needed)."""

    def __init__(self, grad_clip=None, loss_scale='dynamic', dtype='float16'):
        super().__init__(grad_clip)
        if dtype not in ('float16', 'bfloat16'):
            raise ConfigError(f"fp16.dtype={dtype!r} is not known; valid: 'float16', 'bfloat16'")
        self.dtype = getattr(torch, dtype)
        self.fixed_scale = None               # a number: set the scale back to it after every step
        if loss_scale == 'dynamic':
            self.scaler_args = {}
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool) and loss_scale > 0:
            self.scaler_args, self.fixed_scale = dict(init_scale=float(loss_scale)), float(loss_scale)
        elif isinstance(loss_scale, dict):
            self.scaler_args = loss_scale
        else:
            raise ConfigError(f"fp16.loss_scale={loss_scale!r} must be 'dynamic', a positive number or a dict")

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
            raise ConfigError(f'optimizer_config.cumulative_iters must be a positive int, got {cumulative_iters!r}')
        self.cumulative_iters = cumulative_iters

    def before_run(self, runner):
        Fp16OptimizerHook.before_run(self, runner)
        GradientCumulativeOptimizerHook.before_run(self, runner)
        runner.autocast_dtype = self.dtype
