"""The LR policies beyond Fixed and Step (mmcv 1.x: hooks/lr_updater.py; mmcls: core/hook/lr_updater.py).

hooks.py holds the machinery (LrUpdaterHook: base values, warmup, when to set) and the
default Step policy; each policy here only implements `get_lr(runner, base_lr)`. hooks.py's
LR_POLICIES table names them, and this module is imported when a config picks one:

    lr_config.policy      class                                arguments
    exp                   ExpLrUpdaterHook                     gamma
    poly                  PolyLrUpdaterHook                    power=1.0, min_lr=0.0
    inv                   InvLrUpdaterHook                     gamma, power=1.0
    CosineAnnealing       CosineAnnealingLrUpdaterHook         min_lr | min_lr_ratio
    FlatCosineAnnealing   FlatCosineAnnealingLrUpdaterHook     start_percent=0.75, min_lr | min_lr_ratio
    CosineRestart         CosineRestartLrUpdaterHook           periods, restart_weights, min_lr | min_lr_ratio
    LinearAnnealing       LinearAnnealingLrUpdaterHook         min_lr | min_lr_ratio
    Cyclic                CyclicLrUpdaterHook                  target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma
    OneCycle              OneCycleLrUpdaterHook                max_lr, total_steps, pct_start, anneal_strategy, div_factor, ...
    CosineAnnealingCooldown  CosineAnnealingCooldownLrUpdaterHook  min_lr | min_lr_ratio, cool_down_time=10, cool_down_ratio=0.1 (mmcls)

Every policy also takes by_epoch, warmup ('constant' | 'linear' | 'exp'), warmup_iters,
warmup_ratio, warmup_by_epoch. The momentum policies (momentum.py) reuse this machinery.
"""
from math import cos, pi

from hooks import LrUpdaterHook
from config import ConfigError


def annealing_cos(start, end, factor, weight=1.0):
    """Cosine from `start` (factor 0) to `end` (factor 1)."""
    return end + 0.5 * weight * (start - end) * (cos(pi * factor) + 1)


def annealing_linear(start, end, factor):
    return start + (end - start) * factor


def _progress(hook, runner):
    """(progress, max_progress) in epochs or in iterations."""
    if hook.by_epoch:
        return runner.epoch, runner.max_epochs
    return runner.iter, runner.max_iters


def _target(base, min_value, min_ratio):
    if (min_value is None) == (min_ratio is None):
        raise ConfigError('give exactly one of min_lr and min_lr_ratio (min_momentum / min_momentum_ratio)')
    return base * min_ratio if min_ratio is not None else min_value


class ExpLrUpdaterHook(LrUpdaterHook):
    def __init__(self, gamma, **kwargs):
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        return base_lr * self.gamma ** (runner.epoch if self.by_epoch else runner.iter)


class PolyLrUpdaterHook(LrUpdaterHook):
    def __init__(self, power=1.0, min_lr=0.0, **kwargs):
        self.power, self.min_lr = power, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, max_progress = _progress(self, runner)
        return (base_lr - self.min_lr) * (1 - progress / max_progress) ** self.power + self.min_lr


class InvLrUpdaterHook(LrUpdaterHook):
    def __init__(self, gamma, power=1.0, **kwargs):
        self.gamma, self.power = gamma, power
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        return base_lr * (1 + self.gamma * progress) ** (-self.power)


class CosineAnnealingLrUpdaterHook(LrUpdaterHook):
    def __init__(self, min_lr=None, min_lr_ratio=None, **kwargs):
        _target(1.0, min_lr, min_lr_ratio)   # exactly one of the two
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, max_progress = _progress(self, runner)
        return annealing_cos(base_lr, _target(base_lr, self.min_lr, self.min_lr_ratio), progress / max_progress)


class LinearAnnealingLrUpdaterHook(CosineAnnealingLrUpdaterHook):
    def get_lr(self, runner, base_lr):
        progress, max_progress = _progress(self, runner)
        return annealing_linear(base_lr, _target(base_lr, self.min_lr, self.min_lr_ratio), progress / max_progress)


class FlatCosineAnnealingLrUpdaterHook(CosineAnnealingLrUpdaterHook):
    """Flat at the base LR for `start_percent` of training, then cosine to the target."""

    def __init__(self, start_percent=0.75, min_lr=None, min_lr_ratio=None, **kwargs):
        if not (isinstance(start_percent, float) and 0 <= start_percent <= 1):
            raise ConfigError(f'lr_config.start_percent must be a float in [0, 1], got {start_percent!r}')
        self.start_percent = start_percent
        super().__init__(min_lr, min_lr_ratio, **kwargs)

    def get_lr(self, runner, base_lr):
        progress, max_progress = _progress(self, runner)
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base_lr
        return annealing_cos(base_lr, _target(base_lr, self.min_lr, self.min_lr_ratio),
                             (progress - start) / (max_progress - start))


class CosineRestartLrUpdaterHook(CosineAnnealingLrUpdaterHook):
    """Cosine cycles of lengths `periods`, the i-th scaled by `restart_weights[i]`."""

    def __init__(self, periods, restart_weights=(1,), min_lr=None, min_lr_ratio=None, **kwargs):
        if len(periods) != len(restart_weights):
            raise ConfigError('lr_config.periods and lr_config.restart_weights must have the same length')
        self.periods, self.restart_weights = list(periods), list(restart_weights)
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(self.periods))]
        super().__init__(min_lr, min_lr_ratio, **kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        idx = next((i for i, p in enumerate(self.cumulative_periods) if progress < p), None)
        if idx is None:
            raise ValueError(f'progress {progress} exceeds the cumulative periods {self.cumulative_periods}')
        restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        alpha = min((progress - restart) / self.periods[idx], 1)
        return annealing_cos(base_lr, _target(base_lr, self.min_lr, self.min_lr_ratio), alpha,
                             self.restart_weights[idx])


def _anneal_func(strategy):
    if strategy not in ('cos', 'linear'):
        raise ConfigError(f"anneal_strategy={strategy!r} is not known; valid: 'cos', 'linear'")
    return annealing_cos if strategy == 'cos' else annealing_linear


class _Cyclic:
    """The cyclic schedule, shared by the LR and momentum hooks: up from base to
    base*target_ratio[0] over step_ratio_up of a cycle, then to base*target_ratio[1],
    `cyclic_times` cycles over the run, each cycle's amplitude scaled by gamma**cycle."""

    def init_cyclic(self, by_epoch, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma):
        if isinstance(target_ratio, (int, float)):
            target_ratio = (target_ratio, target_ratio / 1e5)
        elif len(target_ratio) == 1:
            target_ratio = (target_ratio[0], target_ratio[0] / 1e5)
        if len(target_ratio) != 2 or not 0 <= step_ratio_up < 1 or not 0 < gamma <= 1 or by_epoch:
            raise ConfigError('Cyclic needs two target ratios, 0 <= step_ratio_up < 1, 0 < gamma <= 1 '
                              'and by_epoch=False')
        self.target_ratio, self.cyclic_times = tuple(target_ratio), cyclic_times
        self.step_ratio_up, self.gamma = step_ratio_up, gamma
        self.anneal_func = _anneal_func(anneal_strategy)

    def make_phases(self, runner):
        self.iters_per_cycle = runner.max_iters // self.cyclic_times
        up = int(self.step_ratio_up * self.iters_per_cycle)
        self.phases = [(0, up, 1, self.target_ratio[0]),
                       (up, self.iters_per_cycle, self.target_ratio[0], self.target_ratio[1])]

    def cyclic_value(self, runner, base):
        curr = runner.iter % self.iters_per_cycle
        scale = self.gamma ** (runner.iter // self.iters_per_cycle)
        for start, end, start_ratio, end_ratio in self.phases:
            if start <= curr < end:
                if start == 0:                   # gamma shrinks the peak of later cycles
                    end_ratio = 1 - scale + end_ratio * scale
                else:
                    start_ratio = 1 - scale + start_ratio * scale
                return self.anneal_func(base * start_ratio, base * end_ratio, (curr - start) / (end - start))


class CyclicLrUpdaterHook(_Cyclic, LrUpdaterHook):
    def __init__(self, by_epoch=False, target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4,
                 anneal_strategy='cos', gamma=1, **kwargs):
        self.init_cyclic(by_epoch, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma)
        LrUpdaterHook.__init__(self, by_epoch, **kwargs)

    def before_run(self, runner):
        LrUpdaterHook.before_run(self, runner)
        self.make_phases(runner)

    def get_lr(self, runner, base_lr):
        return self.cyclic_value(runner, base_lr)


class OneCycleLrUpdaterHook(LrUpdaterHook):
    """The 1cycle policy: warm up from max_lr/div_factor to max_lr over pct_start of the
    steps, then anneal to max_lr/(div_factor*final_div_factor). Iteration-based."""

    def __init__(self, max_lr, total_steps=None, pct_start=0.3, anneal_strategy='cos', div_factor=25,
                 final_div_factor=1e4, three_phase=False, by_epoch=False, **kwargs):
        if by_epoch:
            raise ConfigError('OneCycle supports only by_epoch=False')
        if not (isinstance(pct_start, float) and 0 <= pct_start <= 1):
            raise ConfigError(f'lr_config.pct_start must be a float in [0, 1], got {pct_start!r}')
        self.max_lr, self.total_steps, self.pct_start = max_lr, total_steps, pct_start
        self.anneal_func = _anneal_func(anneal_strategy)
        self.div_factor, self.final_div_factor, self.three_phase = div_factor, final_div_factor, three_phase
        super().__init__(by_epoch, **kwargs)

    def before_run(self, runner):
        total = self.total_steps or runner.max_iters
        if total < runner.max_iters:
            raise ConfigError(f'lr_config.total_steps={total} is less than the run\'s {runner.max_iters} iterations')
        groups = runner.optimizer.param_groups
        max_lrs = self.max_lr if isinstance(self.max_lr, (list, tuple)) else [self.max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ConfigError(f'lr_config.max_lr has {len(max_lrs)} values for {len(groups)} param groups')
        for group, lr in zip(groups, max_lrs):
            group.setdefault('initial_lr', lr / self.div_factor)
        self.base_values = [group['initial_lr'] for group in groups]
        p = float(self.pct_start * total)
        self.phases = [(p - 1, 1, self.div_factor)]   # (end_iter, start_mult, end_mult)
        if self.three_phase:
            self.phases.append((2 * p - 2, self.div_factor, 1))
            self.phases.append((total - 1, 1, 1 / self.final_div_factor))
        else:
            self.phases.append((total - 1, self.div_factor, 1 / self.final_div_factor))

    def get_lr(self, runner, base_lr):
        start = 0
        for end, start_mult, end_mult in self.phases:
            if runner.iter <= end:
                return self.anneal_func(base_lr * start_mult, base_lr * end_mult,
                                        (runner.iter - start) / (end - start))
            start = end


class CosineAnnealingCooldownLrUpdaterHook(LrUpdaterHook):
    """mmcls's: cosine from the base to the target over all but the last `cool_down_time`
    epochs (or iterations), then the target times `cool_down_ratio` to the end."""

    def __init__(self, min_lr=None, min_lr_ratio=None, cool_down_ratio=0.1, cool_down_time=10, **kwargs):
        _target(1.0, min_lr, min_lr_ratio)   # exactly one of the two
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio
        self.cool_down_ratio, self.cool_down_time = cool_down_ratio, cool_down_time
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, max_progress = _progress(self, runner)
        target = _target(base_lr, self.min_lr, self.min_lr_ratio)
        if progress > max_progress - self.cool_down_time:
            return target * self.cool_down_ratio
        return annealing_cos(base_lr, target, progress / (max_progress - self.cool_down_time))
