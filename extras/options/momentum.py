"""Momentum schedules as hooks (mmcv 1.x: hooks/momentum_updater.py).

The same machinery as the LR's (hooks.py: LrUpdaterHook), on each param group's `momentum` (or Adam's
`betas[0]`), registered at priority HIGH, after the LR hook:

    momentum_config.policy   class                                 arguments
    step                     StepMomentumUpdaterHook               step, gamma=0.5, min_momentum
    CosineAnnealing          CosineAnnealingMomentumUpdaterHook    min_momentum | min_momentum_ratio
    LinearAnnealing          LinearAnnealingMomentumUpdaterHook    min_momentum | min_momentum_ratio
    Cyclic                   CyclicMomentumUpdaterHook             target_ratio, cyclic_times, ...
    OneCycle                 OneCycleMomentumUpdaterHook           base_momentum, max_momentum, pct_start, ...

Warmup divides the scheduled momentum instead of multiplying it: a higher momentum at the
start is the gentle one for momentum, as a lower LR is for the LR.
"""
from extras.options.lr_policies import _Cyclic, _anneal_func, _progress, _target, annealing_cos, annealing_linear
from hooks import LrUpdaterHook, steps_passed
from config import ConfigError

class MomentumUpdaterHook(LrUpdaterHook):
    """The same machinery on `momentum` (or Adam's betas[0]); warmup divides."""
    key = 'momentum'

    def __init__(self, by_epoch=True, warmup=None, warmup_iters=0, warmup_ratio=0.9):
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio)

    def get_value(self, runner, base):
        return self.get_momentum(runner, base)

    def warmup_values(self, cur_iter):
        k = self.warmup_factor(cur_iter)
        return [v / k for v in self.regular_values]

    def set_values(self, runner, values):
        for group, value in zip(runner.optimizer.param_groups, values):
            if 'momentum' in group:
                group['momentum'] = value
            elif 'betas' in group:
                group['betas'] = (value, group['betas'][1])

    def before_run(self, runner):
        for group in runner.optimizer.param_groups:
            group.setdefault('initial_momentum', group['momentum'] if 'momentum' in group else group['betas'][0])
        self.base_values = [group['initial_momentum'] for group in runner.optimizer.param_groups]


class StepMomentumUpdaterHook(MomentumUpdaterHook):
    def __init__(self, step, gamma=0.5, min_momentum=None, **kwargs):
        self.step, self.gamma, self.min_momentum = step, gamma, min_momentum
        super().__init__(**kwargs)

    def get_momentum(self, runner, base):
        progress = runner.epoch if self.by_epoch else runner.iter
        momentum = base * self.gamma ** steps_passed(self.step, progress)
        return momentum if self.min_momentum is None else max(momentum, self.min_momentum)


class CosineAnnealingMomentumUpdaterHook(MomentumUpdaterHook):
    def __init__(self, min_momentum=None, min_momentum_ratio=None, **kwargs):
        _target(1.0, min_momentum, min_momentum_ratio)
        self.min_momentum, self.min_momentum_ratio = min_momentum, min_momentum_ratio
        super().__init__(**kwargs)

    def get_momentum(self, runner, base):
        progress, max_progress = _progress(self, runner)
        return annealing_cos(base, _target(base, self.min_momentum, self.min_momentum_ratio),
                             progress / max_progress)


class LinearAnnealingMomentumUpdaterHook(CosineAnnealingMomentumUpdaterHook):
    def get_momentum(self, runner, base):
        progress, max_progress = _progress(self, runner)
        return annealing_linear(base, _target(base, self.min_momentum, self.min_momentum_ratio),
                                progress / max_progress)


class CyclicMomentumUpdaterHook(_Cyclic, MomentumUpdaterHook):
    """Momentum mirror of CyclicLrUpdaterHook (it goes down while the LR goes up)."""

    def __init__(self, by_epoch=False, target_ratio=(0.85 / 0.95, 1.0), cyclic_times=1, step_ratio_up=0.4,
                 anneal_strategy='cos', gamma=1.0, **kwargs):
        self.init_cyclic(by_epoch, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma)
        MomentumUpdaterHook.__init__(self, by_epoch, **kwargs)

    def before_run(self, runner):
        MomentumUpdaterHook.before_run(self, runner)
        self.make_phases(runner)

    def get_momentum(self, runner, base):
        return self.cyclic_value(runner, base)


class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """Momentum of the 1cycle policy: from max_momentum down to base_momentum while the LR
    warms up, then back up (three_phase: down, up, flat). Iteration-based."""

    def __init__(self, base_momentum=0.85, max_momentum=0.95, pct_start=0.3, anneal_strategy='cos',
                 three_phase=False, by_epoch=False, **kwargs):
        if by_epoch:
            raise ConfigError('OneCycle momentum supports only by_epoch=False')
        if not (isinstance(pct_start, float) and 0 <= pct_start <= 1):
            raise ConfigError(f'momentum_config.pct_start must be a float in [0, 1], got {pct_start!r}')
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        self.pct_start, self.three_phase = pct_start, three_phase
        self.anneal_func = _anneal_func(anneal_strategy)
        super().__init__(by_epoch, **kwargs)

    def before_run(self, runner):
        groups = runner.optimizer.param_groups
        lows = self.base_momentum if isinstance(self.base_momentum, list) else [self.base_momentum] * len(groups)
        highs = self.max_momentum if isinstance(self.max_momentum, list) else [self.max_momentum] * len(groups)
        self.set_values(runner, highs)
        self.base_values = list(zip(lows, highs))        # per group: (base, max)
        p = float(self.pct_start * runner.max_iters)
        if self.three_phase:                             # (end_iter, from, to), 0 = base, 1 = max
            self.phases = [(p - 1, 1, 0), (2 * p - 2, 0, 1), (runner.max_iters - 1, 1, 1)]
        else:
            self.phases = [(p - 1, 1, 0), (runner.max_iters - 1, 0, 1)]

    def get_momentum(self, runner, base_and_max):
        start = 0
        for i, (end, frm, to) in enumerate(self.phases):
            if runner.iter <= end or i == len(self.phases) - 1:
                return self.anneal_func(base_and_max[frm], base_and_max[to], (runner.iter - start) / (end - start))
            start = end
