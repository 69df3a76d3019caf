"""LR / momentum schedules: every iteration equals mmcv 1.7.2's (recorded in golden/), and
the other policies follow mmcv's formulas at chosen iterations."""
import json
import math
from pathlib import Path

import pytest
import torch

from tiny import TinyModel, loader, quiet_logger
from config import CheckpointConfig, LrConfig, MomentumConfig, OptimizerHookConfig, ParamwiseConfig, OptimizerConfig
from hooks import Hook
from runner import build_optimizer
from runner import EpochBasedRunner

GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'lr_schedules_public.json').read_text())


class Recorder(Hook):
    """Reads every param group in before_train_iter, after the updaters ran (as golden/)."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner):
        groups = runner.optimizer.param_groups
        self.rows.append([runner.epoch, runner.iter, runner.inner_iter,
                          [g['lr'] for g in groups], [g.get('momentum') for g in groups]])


def run_schedule(lr_config, momentum_config=None, epochs=6, iters=10, optimizer_cfg=None, tmp_path='.'):
    model = TinyModel()
    optimizer = build_optimizer(model, optimizer_cfg or OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0))
    runner = EpochBasedRunner(model, optimizer, work_dir=str(tmp_path), logger=quiet_logger(), max_epochs=epochs)
    runner.register_training_hooks(lr_config, OptimizerHookConfig(), None, None, momentum_config)
    recorder = Recorder()
    runner.register_hook(recorder, 'LOWEST')
    runner.run([loader(n=iters)], [('train', 1)])
    return runner, recorder.rows


@pytest.mark.parametrize('name', sorted(GOLDEN['cases']))
def test_schedule_equals_mmcv_every_iteration(name, tmp_path):
    case = GOLDEN['cases'][name]
    lr_cfg = LrConfig(**case['lr_config'])
    mom_cfg = MomentumConfig(**case['momentum_config']) if case['momentum_config'] else None
    runner, rows = run_schedule(lr_cfg, mom_cfg, tmp_path=tmp_path)
    assert len(rows) == len(case['rows']) == 60
    for got, want in zip(rows, case['rows']):
        assert got[:3] == want[:3]
        assert got[3][0] == pytest.approx(want[3], abs=1e-12), (name, want)
        assert got[4][0] == pytest.approx(want[4], abs=1e-12), (name, want)
    final = runner.optimizer.param_groups[0]
    assert final['lr'] == pytest.approx(case['final']['lr'], abs=1e-12)
    assert final['momentum'] == pytest.approx(case['final']['momentum'], abs=1e-12)
    assert final['initial_lr'] == case['final']['initial_lr']


def test_hook_list_of_golden_case(tmp_path):
    model = TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path), quiet_logger())
    runner.register_training_hooks(LrConfig(policy='step', step=[2, 4]), OptimizerHookConfig())
    runner.register_hook(Recorder(), 'LOWEST')
    want = GOLDEN['cases']['step_list_2_4']['hooks']
    assert [[type(h).__name__, h.priority] for h in runner.hooks] == [
        [n if n != 'LrRecorder' else 'Recorder', p] for n, p in want]


def lrs(rows, group=0):
    return [r[3][group] for r in rows]


def test_exp_and_inv_by_epoch(tmp_path):
    _, rows = run_schedule(LrConfig(policy='exp', gamma=0.8), tmp_path=tmp_path)
    assert lrs(rows)[::10] == pytest.approx([0.1 * 0.8 ** e for e in range(6)], abs=1e-12)
    _, rows = run_schedule(LrConfig(policy='inv', gamma=0.5, power=2.0, by_epoch=False), tmp_path=tmp_path)
    assert lrs(rows) == pytest.approx([0.1 * (1 + 0.5 * i) ** -2.0 for i in range(60)], abs=1e-12)


def test_cosine_by_iter_min_lr_ratio_and_linear(tmp_path):
    _, rows = run_schedule(LrConfig(policy='CosineAnnealing', min_lr_ratio=0.1, by_epoch=False), tmp_path=tmp_path)
    want = [0.01 + 0.5 * (0.1 - 0.01) * (1 + math.cos(math.pi * i / 60)) for i in range(60)]
    assert lrs(rows) == pytest.approx(want, abs=1e-12)
    _, rows = run_schedule(LrConfig(policy='LinearAnnealing', min_lr=0.0), tmp_path=tmp_path)
    assert lrs(rows)[::10] == pytest.approx([0.1 * (1 - e / 6) for e in range(6)], abs=1e-12)


def test_flat_cosine_and_cosine_restart(tmp_path):
    _, rows = run_schedule(LrConfig(policy='FlatCosineAnnealing', start_percent=0.5, min_lr=0.0), tmp_path=tmp_path)
    # flat for round(6 * 0.5) = 3 epochs, then cosine over the last 3
    want = [0.1] * 3 + [0.5 * 0.1 * (1 + math.cos(math.pi * k / 3)) for k in range(3)]
    assert lrs(rows)[::10] == pytest.approx(want, abs=1e-12)
    _, rows = run_schedule(LrConfig(policy='CosineRestart', periods=[30, 30], restart_weights=[1, 0.5],
                                    min_lr=0.0, by_epoch=False), tmp_path=tmp_path)
    want = [0.5 * w * 0.1 * (1 + math.cos(math.pi * (i % 30) / 30)) for i, w in
            ((i, 1 if i < 30 else 0.5) for i in range(60))]
    assert lrs(rows) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize('three_phase', [False, True])
def test_one_cycle_equals_torch_one_cycle_lr(three_phase, tmp_path):
    _, rows = run_schedule(LrConfig(policy='OneCycle', max_lr=0.5, pct_start=0.25, three_phase=three_phase),
                           tmp_path=tmp_path)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=60, pct_start=0.25,
                                                cycle_momentum=False, three_phase=three_phase)
    want = []
    for _ in range(60):
        want.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    assert lrs(rows) == pytest.approx(want, abs=1e-12)


def test_cyclic(tmp_path):
    _, rows = run_schedule(LrConfig(policy='Cyclic', target_ratio=[10, 1e-4], cyclic_times=2, step_ratio_up=0.4),
                           tmp_path=tmp_path)
    # 30 iterations per cycle: 12 up from 0.1 to 1.0, 18 down to 1e-5, cosine shaped
    cos = lambda a, b, f: b + 0.5 * (a - b) * (1 + math.cos(math.pi * f))  # noqa: E731
    want = [cos(0.1, 1.0, c / 12) if c < 12 else cos(1.0, 1e-5, (c - 12) / 18) for c in (i % 30 for i in range(60))]
    assert lrs(rows) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize('mode', ['constant', 'linear', 'exp'])
def test_warmup_by_iter_and_by_epoch(mode, tmp_path):
    def factor(i):
        return {'constant': 0.2, 'linear': 1 - (1 - i / 12) * (1 - 0.2), 'exp': 0.2 ** (1 - i / 12)}[mode]
    _, rows = run_schedule(LrConfig(policy='fixed', warmup=mode, warmup_iters=12, warmup_ratio=0.2), tmp_path=tmp_path)
    assert lrs(rows) == pytest.approx([0.1 * factor(i) if i < 12 else 0.1 for i in range(60)], abs=1e-12)
    # warmup_by_epoch: warmup_iters counts epochs (1 epoch = 10 iterations here)
    _, rows = run_schedule(LrConfig(policy='fixed', warmup=mode, warmup_iters=1, warmup_ratio=0.2,
                                    warmup_by_epoch=True), tmp_path=tmp_path)
    f10 = {'constant': 0.2, 'linear': 1 - (1 - 0 / 10) * 0.8, 'exp': 0.2}[mode]
    assert lrs(rows)[0] == pytest.approx(0.1 * f10, abs=1e-12) and lrs(rows)[10:] == pytest.approx([0.1] * 50)


def test_several_param_groups_keep_their_own_base_lr(tmp_path):
    opt_cfg = OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4,
                              paramwise_cfg=ParamwiseConfig(bias_lr_mult=2.0))
    _, rows = run_schedule(LrConfig(policy='step', step=[2, 4], warmup='linear', warmup_iters=5), tmp_path=tmp_path,
                           optimizer_cfg=opt_cfg)
    weight, bias = lrs(rows, 0), lrs(rows, 1)
    assert bias == pytest.approx([2 * w for w in weight], abs=1e-12)
    assert weight[25] == pytest.approx(0.01, abs=1e-12) and bias[45] == pytest.approx(0.002, abs=1e-12)


def test_momentum_step_and_warmup_divides(tmp_path):
    _, rows = run_schedule(LrConfig(policy='fixed'), MomentumConfig(policy='step', step=[3], gamma=0.5,
                                                                    warmup='constant', warmup_iters=5,
                                                                    warmup_ratio=0.95), tmp_path=tmp_path)
    moms = [r[4][0] for r in rows]
    assert moms[:5] == pytest.approx([0.9 / 0.95] * 5, abs=1e-12)
    assert moms[5:30] == pytest.approx([0.9] * 25) and moms[30:] == pytest.approx([0.45] * 30)


def test_resumed_run_sees_the_same_lr(tmp_path):
    """The LR is a function of (epoch, iter): a run resumed from epoch_3.pth continues the
    schedule exactly where the uninterrupted run was, warmup included."""
    cfg = LrConfig(policy='step', step=[2, 4], warmup='linear', warmup_iters=35, warmup_ratio=0.1)
    model = TinyModel()
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0))
    full = EpochBasedRunner(model, optimizer, str(tmp_path), quiet_logger(), max_epochs=6)
    full.register_training_hooks(cfg, OptimizerHookConfig(), CheckpointConfig(interval=1))
    full_rec = Recorder()
    full.register_hook(full_rec, 'LOWEST')
    full.run([loader()], [('train', 1)])

    model = TinyModel()
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0))
    resumed = EpochBasedRunner(model, optimizer, str(tmp_path / 'resumed'), quiet_logger(), max_epochs=6)
    resumed.register_training_hooks(cfg, OptimizerHookConfig())
    rec = Recorder()
    resumed.register_hook(rec, 'LOWEST')
    resumed.resume(str(tmp_path / 'epoch_3.pth'))
    resumed.run([loader()], [('train', 1)])
    assert [r[:3] for r in rec.rows] == [r[:3] for r in full_rec.rows[30:]]
    assert lrs(rec.rows) == lrs(full_rec.rows[30:])
    assert lrs(rec.rows)[:5] != [0.1] * 5          # still warming up at iteration 30


@pytest.mark.parametrize('cfg, words', [
    (LrConfig(policy='Steps'), ["lr_config.policy='Steps'", 'Step', 'CosineAnnealing']),
    (LrConfig(policy='cosine'), ["lr_config.policy='cosine' is not known", 'CosineAnnealing']),
    (LrConfig(policy='step'), ["lr_config (policy 'step'): lr_config.step is not set"]),
    (LrConfig(policy='CosineAnnealing', min_lr=0.0, step=[3]), ['lr_config.step', 'CosineAnnealing', 'min_lr']),
    (LrConfig(policy='step', step=[0]), ['lr_config.step', 'positive']),
    (LrConfig(policy='step', step=[2], warmup='cosine', warmup_iters=2), ["warmup='cosine'", 'linear']),
])
def test_bad_lr_config_is_named(cfg, words, tmp_path):
    model = TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path), quiet_logger())
    with pytest.raises(ValueError) as e:
        runner.register_lr_hook(cfg)
    for w in words:
        assert w in str(e.value)


def test_a_policy_must_be_of_its_fields_updater():
    """An LR policy is an LrUpdaterHook; a momentum policy a MomentumUpdaterHook, not any LR hook."""
    import hooks
    with pytest.raises(ValueError, match="momentum_config.policy='hooks:StepLrUpdaterHook' names .* "
                                         'which is not a subclass of MomentumUpdaterHook'):
        hooks.build_updater_hook(MomentumConfig(policy='hooks:StepLrUpdaterHook'), hooks.MOMENTUM_POLICIES,
                                 'momentum_config')
    with pytest.raises(ValueError, match="lr_config.policy='hooks:CheckpointHook' names .* not a subclass of LrUpdaterHook"):
        hooks.build_updater_hook(LrConfig(policy='hooks:CheckpointHook'), hooks.LR_POLICIES, 'lr_config')
    assert type(hooks.build_updater_hook(MomentumConfig(policy='step', step=[2]), hooks.MOMENTUM_POLICIES,
                                         'momentum_config')).__name__ == 'StepMomentumUpdaterHook'


@pytest.mark.parametrize('three_phase', [False, True])
def test_one_cycle_lr_and_momentum_equal_torch_one_cycle(three_phase, tmp_path):
    """torch's OneCycleLR cycles momentum the same way (max -> base -> max)."""
    _, rows = run_schedule(LrConfig(policy='OneCycle', max_lr=0.5, pct_start=0.25, three_phase=three_phase),
                           MomentumConfig(policy='OneCycle', base_momentum=0.8, max_momentum=0.95, pct_start=0.25,
                                          three_phase=three_phase), tmp_path=tmp_path)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=60, pct_start=0.25,
                                                base_momentum=0.8, max_momentum=0.95, three_phase=three_phase)
    want = []
    for _ in range(60):
        want.append(opt.param_groups[0]['momentum'])
        opt.step()
        sched.step()
    assert [r[4][0] for r in rows] == pytest.approx(want, abs=1e-12)


def test_cyclic_momentum_mirrors_cyclic_lr(tmp_path):
    _, rows = run_schedule(LrConfig(policy='Cyclic', target_ratio=[10, 1e-4], cyclic_times=2),
                           MomentumConfig(policy='Cyclic', target_ratio=[0.85 / 0.95, 1.0], cyclic_times=2),
                           tmp_path=tmp_path)
    cos = lambda a, b, f: b + 0.5 * (a - b) * (1 + math.cos(math.pi * f))  # noqa: E731
    low = 0.9 * 0.85 / 0.95
    want = [cos(0.9, low, c / 12) if c < 12 else cos(low, 0.9, (c - 12) / 18) for c in (i % 30 for i in range(60))]
    assert [r[4][0] for r in rows] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize('by_epoch, cool_down_time', [(True, 2), (False, 15)])
def test_cosine_annealing_cooldown_equals_the_mmcls_formula(by_epoch, cool_down_time, tmp_path):
    """mmcls 0.25 CosineAnnealingCooldownLrUpdaterHook.get_lr, written out: cosine from the base
    to min_lr until max_progress - cool_down_time, then min_lr * cool_down_ratio."""
    def mmcls_lr(progress, max_progress, base_lr=0.1, target_lr=0.01):
        if progress > max_progress - cool_down_time:
            return target_lr * 0.25
        factor = progress / (max_progress - cool_down_time)
        return target_lr + 0.5 * (base_lr - target_lr) * (math.cos(math.pi * factor) + 1)
    _, rows = run_schedule(LrConfig(policy='CosineAnnealingCooldown', min_lr=0.01, cool_down_time=cool_down_time,
                                    cool_down_ratio=0.25, by_epoch=by_epoch), tmp_path=tmp_path)
    assert len(rows) == 60
    for epoch, it, _, lrs, _ in rows:
        want = mmcls_lr(epoch, 6) if by_epoch else mmcls_lr(it, 60)
        assert lrs[0] == pytest.approx(want, abs=1e-12), (epoch, it)
    assert {round(r[3][0], 12) for r in rows[-10:]} == {0.0025}     # the cool-down


# ---- A runner of TinyModel; warmup by iteration and by epoch ----------------------------------

def bare_runner(work_dir, max_epochs, lr_config=None, checkpoint=None, log=None, model=None,
                optimizer=None, logger=None):
    """A TinyModel runner with the training hooks asked for (test_resume.py, test_hooks.py and
    test_checkpoint.py use it too)."""
    model = model or TinyModel()
    optimizer = optimizer or build_optimizer(
        model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0))
    runner = EpochBasedRunner(model, optimizer, None if work_dir is None else str(work_dir),
                              logger or quiet_logger(), meta={}, max_epochs=max_epochs)
    runner.timestamp = 'test'
    runner.register_training_hooks(lr_config, OptimizerHookConfig(), checkpoint, log)
    return runner


class LrRecorder(Hook):
    """The first group's lr in before_train_iter, after the updater ran (as golden/ records)."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner):
        lr = runner.optimizer.param_groups[0]['lr']
        self.rows.append((runner.epoch, runner.iter, runner.inner_iter, lr))


def lr_rows(lr_config, epochs=6, iters=10):
    runner = bare_runner(None, epochs, lr_config)
    recorder = LrRecorder()
    runner.register_hook(recorder, 'LOWEST')
    runner.run([loader(n=iters)], [('train', 1)])
    return recorder.rows


# ---- 19. warmup with by_epoch=False ------------------------------------------------------
# mmcv LrUpdaterHook.before_train_iter, by_epoch=False: every iteration the regular lr is
# computed from runner.iter; `if warmup is None or cur_iter >= warmup_iters` it is set as
# is, else scaled by the warmup factor of cur_iter. (test_warmup_by_iter_and_by_epoch in
# test_lr_updater.py runs by_epoch=True schedules only: LrConfig's by_epoch=None is True.)

def test_warmup_by_iter_equals_the_golden_by_epoch_schedule():
    """step=[20, 40] iterations with by_epoch=False is golden's step=[2, 4] epochs schedule
    (10 iterations an epoch), its 15 warmup iterations included, at every iteration."""
    case = GOLDEN['cases']['step_warmup_linear15']
    rows = lr_rows(LrConfig(**dict(case['lr_config'], step=[20, 40], by_epoch=False)))
    assert len(rows) == len(case['rows']) == 60
    for got, want in zip(rows, case['rows']):
        assert list(got[:3]) == want[:3]
        assert got[3] == pytest.approx(want[3], abs=1e-12), want


@pytest.mark.parametrize('mode', ['constant', 'linear', 'exp'])
def test_warmup_by_iter_ends_exactly_at_warmup_iters(mode):
    """by_epoch=False, warmup_iters=5, warmup_ratio=0.2, step=[3] iterations (gamma 0.1):
    warmup scales each iteration's regular lr (which drops at iteration 3, inside the
    warmup) at iterations 0..4 only; iteration 5 has the regular lr. Constant warmup shows an
    end one iteration late (linear and exp reach factor 1 at iteration 5 anyway)."""
    factor = {'constant': lambda i: 0.2,
              'linear': lambda i: 1 - (1 - i / 5) * (1 - 0.2),
              'exp': lambda i: 0.2 ** (1 - i / 5)}[mode]
    rows = lr_rows(LrConfig(policy='step', step=[3], gamma=0.1, by_epoch=False, warmup=mode,
                            warmup_iters=5, warmup_ratio=0.2), epochs=2, iters=4)
    regular = [0.1 if i < 3 else 0.01 for i in range(8)]
    want = [regular[i] * factor(i) if i < 5 else regular[i] for i in range(8)]
    assert [r[1] for r in rows] == list(range(8))
    assert [r[3] for r in rows] == pytest.approx(want, abs=1e-15)
    # written out: the last warmup iteration and the first one after it
    last = {'constant': 0.002, 'linear': 0.01 * 0.84, 'exp': 0.01 * 0.2 ** 0.2}[mode]
    assert rows[4][3] == pytest.approx(last, abs=1e-15)
    assert rows[5][3] == pytest.approx(0.01, abs=1e-15)


@pytest.mark.parametrize('policy, step', [('fixed', None), ('step', [3])])
def test_warmup_by_epoch_lasts_warmup_iters_epochs_of_iterations(policy, step, tmp_path):
    """warmup_by_epoch=True, warmup_iters=2, 7 iterations an epoch: iterations 0..13
    are warmed up (mmcv: warmup_iters = warmup_epochs * len(data_loader) at the first epoch),
    iteration 14, the first of epoch 3, has the regular lr; every iteration is checked."""
    _, rows = run_schedule(LrConfig(policy=policy, step=step, warmup='linear', warmup_iters=2,
                                    warmup_ratio=0.2, warmup_by_epoch=True), epochs=4, iters=7,
                           tmp_path=tmp_path)
    want = [0.1 * (1 - (1 - i / 14) * 0.8) if i < 14 else 0.1 for i in range(28)]
    if step:                                             # the regular lr drops after epoch 3
        want = [lr * (0.1 if i >= 21 else 1) for i, lr in enumerate(want)]
    assert [r[1] for r in rows] == list(range(28))
    assert lrs(rows) == pytest.approx(want, abs=1e-15)
    assert lrs(rows)[13] == pytest.approx(0.1 * (1 - 0.8 / 14)) and lrs(rows)[14] == 0.1
