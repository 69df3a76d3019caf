"""Gradient accumulation, mixed precision (fp16 with a GradScaler, bf16), EMA, early
stopping and custom_hooks: each checked against a hand computation or a plain run."""
import os

import numpy as np
import pytest
import torch

from tiny import TinyModel, loader, quiet_logger
from config import CheckpointConfig, ConfigError, Fp16Config, LrConfig, OptimizerConfig, OptimizerHookConfig
from hooks import EvalHook
from hooks import Hook
from runner import build_optimizer
from runner import EpochBasedRunner


def run(tmp_path, n, batch_size, epochs=1, cumulative=1, fp16=None, custom=None, checkpoint=None, seed=0,
        resume=None, extra_hooks=()):
    torch.manual_seed(seed)
    model = TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0)),
                              str(tmp_path), quiet_logger(), meta={}, max_epochs=epochs)
    runner.register_training_hooks(LrConfig(policy='fixed'), OptimizerHookConfig(cumulative_iters=cumulative),
                                   checkpoint, None, None, fp16, custom)
    for hook, priority in extra_hooks:
        runner.register_hook(hook, priority)
    if resume:
        runner.resume(resume)
    runner.run([loader(n=n, batch_size=batch_size)], [('train', 1)])
    return runner


@pytest.mark.parametrize('n', [4, 5])
def test_gradient_accumulation_equals_the_bigger_batch(n, tmp_path):
    """batch 1 x cumulative 2 == batch 2, also with a remainder batch at the end (n=5)."""
    big = run(tmp_path, n, batch_size=2)
    accumulated = run(tmp_path, n, batch_size=1, cumulative=2)
    for a, b in zip(big.model.parameters(), accumulated.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert type(accumulated.hooks[1]).__name__ == 'GradientCumulativeOptimizerHook'


class DtypeProbe(Hook):
    def before_run(self, runner):
        self.dtypes = []
        runner.model.fc.register_forward_hook(lambda m, i, o: self.dtypes.append(o.dtype))


def test_bf16_autocast_trains(tmp_path):
    probe = DtypeProbe()
    runner = run(tmp_path, 8, 2, fp16=Fp16Config(dtype='bfloat16'), extra_hooks=[(probe, 'LOWEST')])
    assert probe.dtypes and set(probe.dtypes) == {torch.bfloat16}
    assert runner.optimizer.state and 'fp16' not in runner.meta          # bf16 needs no loss scaler


class ModeDtypeProbe(Hook):
    def before_run(self, runner):
        self.seen = []     # (training?, dtype of the fc output) for every forward pass
        runner.model.fc.register_forward_hook(lambda m, i, o: self.seen.append((m.training, o.dtype)))


@pytest.mark.parametrize('fp16, dtype', [(None, torch.float32), (Fp16Config(dtype='bfloat16'), torch.bfloat16)])
def test_evaluation_runs_under_the_training_autocast(fp16, dtype, tmp_path):
    """mmcv's fp16 evaluates in fp16 too; the scores handed to evaluate() are float32 either way."""
    probe, val = ModeDtypeProbe(), loader(n=3)
    results = []
    evaluate = val.dataset.evaluate
    val.dataset.evaluate = lambda r, **kw: results.extend(r) or evaluate(r, **kw)
    run(tmp_path, 4, 2, fp16=fp16, extra_hooks=[(probe, 'LOWEST'), (EvalHook(val), 'LOW')])
    assert {training for training, _ in probe.seen} == {True, False}
    assert {d for _, d in probe.seen} == {dtype}
    assert len(results) == 3 and {r.dtype for r in results} == {np.dtype(np.float32)}


@pytest.mark.parametrize('loss_scale, expect', [('dynamic', None), (512.0, 512.0)])
def test_fp16_grad_scaler_state_goes_into_meta(loss_scale, expect, tmp_path):
    runner = run(tmp_path, 8, 2, fp16=Fp16Config(loss_scale=loss_scale), checkpoint=CheckpointConfig())
    scaler = runner.meta['fp16']['loss_scaler']
    assert scaler['scale'] == (expect or scaler['scale']) and scaler['scale'] > 0
    saved = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert saved['meta']['fp16']['loss_scaler']['scale'] == scaler['scale']


class ParamRecorder(Hook):
    def __init__(self):
        self.trajectory = []

    def after_train_iter(self, runner):
        self.trajectory.append(runner.model.fc.weight.detach().clone())


def test_ema_follows_mmcv_formula_and_is_swapped_in_for_checkpoints(tmp_path):
    rec = ParamRecorder()
    torch.manual_seed(0)
    initial = TinyModel().fc.weight.detach().clone()
    runner = run(tmp_path, 6, 1, custom=[dict(type='EMAHook', momentum=0.3, warm_up=2, priority='ABOVE_NORMAL')],
                 checkpoint=CheckpointConfig(), extra_hooks=[(rec, 'LOWEST')])
    ema = initial
    for step, weights in enumerate(rec.trajectory):
        m = min(0.3, (1 + step) / (2 + step))
        ema = ema * (1 - m) + weights * m
    assert torch.allclose(runner.model.fc.weight, ema, atol=1e-6)               # swapped in at epoch end
    saved = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert torch.allclose(saved['state_dict']['fc.weight'], ema, atol=1e-6)
    assert list(saved['state_dict']) == ['fc.weight', 'fc.bias']                 # mmcls keys, no ema_* buffers
    assert torch.equal(saved['hook_states']['EMAHook']['ema']['fc.weight'], rec.trajectory[-1])


def test_ema_resume_continues_the_same_average(tmp_path):
    ema_cfg = [dict(type='EMAHook', momentum=0.3, warm_up=2, priority='ABOVE_NORMAL')]
    straight = run(tmp_path / 'a', 6, 1, epochs=2, custom=ema_cfg, checkpoint=CheckpointConfig())
    run(tmp_path / 'b', 6, 1, epochs=1, custom=ema_cfg, checkpoint=CheckpointConfig())
    resumed = run(tmp_path / 'b', 6, 1, epochs=2, custom=ema_cfg, resume=str(tmp_path / 'b' / 'epoch_1.pth'),
                  seed=1)
    assert torch.allclose(straight.model.fc.weight, resumed.model.fc.weight, atol=1e-7)


def test_early_stopping_after_patience(tmp_path):
    scores = iter([50.0, 60.0, 60.05, 59.0, 70.0, 80.0])
    val = loader(n=3)
    val.dataset.evaluate = lambda results, **kw: {'accuracy_top-1': next(scores)}
    runner = run(tmp_path, 4, 2, epochs=6,
                 custom=[dict(type='EarlyStoppingHook', monitor='accuracy_top-1', patience=2, priority=75)],
                 extra_hooks=[(EvalHook(val), 'LOW')])
    assert runner.epoch == 4 and runner.should_stop    # 60.05 and 59.0 are not > 60 + 0.1


def test_unknown_custom_hook_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"custom_hooks: type='EMA' is not known \(did you mean 'EMAHook'\?\); "
                                         'valid: EMAHook, EarlyStoppingHook'):
        run(tmp_path, 2, 1, custom=[dict(type='EMA')])
    with pytest.raises(ValueError, match='EMAHook momentum'):
        run(tmp_path, 2, 1, custom=[dict(type='EMAHook', momentum=2)])


def test_a_custom_hook_type_must_name_a_hook(tmp_path, monkeypatch):
    """'module:Class' imports any module: what it names must be a Hook, checked before it is called."""
    calls = []
    monkeypatch.setattr(os, 'system', lambda command: calls.append(command))
    with pytest.raises(ConfigError, match="custom_hooks: type='os:system' names .* which is not a subclass of Hook"):
        run(tmp_path, 2, 1, custom=[dict(type='os:system', command='touch pwned')])
    assert calls == []
