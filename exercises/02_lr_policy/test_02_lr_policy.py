"""Checker of exercise 02: the schedule in a real run (both modes), then the policy built
from the file's `cfg` as train.py builds it, then a real `python train.py --config <your
file> --cfg-options lr_config.half_life=4` whose logged LRs must follow half-life 4."""
import json

import pytest

from conftest import run, stage, train_py
from hooks import Hook


class Peek(Hook):
    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner):
        self.lrs.append(runner.current_lr()[0])


@pytest.mark.parametrize('by_epoch', [True, False])
def test_half_life(impl, by_epoch):
    peek = Peek()
    run([(impl.HalfLifeLrUpdaterHook(half_life=2, by_epoch=by_epoch), 'VERY_HIGH'), (peek, 'LOWEST')],
        epochs=3, n=2, lr_config=None)
    progress = [0, 0, 1, 1, 2, 2] if by_epoch else list(range(6))
    expected = [0.1 * 0.5 ** (p / 2) for p in progress]
    if peek.lrs == pytest.approx(expected, abs=1e-12):
        return
    mode = f'by_epoch={by_epoch} (progress = runner.{"epoch" if by_epoch else "iter"}: {progress})'
    if all(lr == pytest.approx(0.1) for lr in peek.lrs):
        pytest.fail(f'{mode}: the LR never changes: get_lr returns base_lr', pytrace=False)
    stepped = [0.1 * 0.5 ** (p // 2) for p in progress]
    if peek.lrs == pytest.approx(stepped, abs=1e-12):
        pytest.fail(f'{mode}: your LR halves in steps {peek.lrs} (progress // half_life); a half-life decays '
                    f'smoothly: {expected} (progress / half_life)', pytrace=False)
    # the other counter: by_epoch=True sets the LR once per epoch, when runner.iter is 0, 2, 4
    other = [0.1 * 0.5 ** (p / 2) for p in ([0, 0, 2, 2, 4, 4] if by_epoch else [0, 0, 1, 1, 2, 2])]
    if peek.lrs == pytest.approx(other, abs=1e-12):
        pytest.fail(f'{mode}: your LR follows runner.{"iter" if by_epoch else "epoch"} instead: {peek.lrs}, '
                    f'expected {expected}. Use self.by_epoch to choose', pytrace=False)
    pytest.fail(f'{mode}: the LRs before each iteration were {peek.lrs}, expected {expected}', pytrace=False)


def test_the_config_selects_the_policy(impl):
    from hooks import LR_POLICIES, build_updater_hook
    assert hasattr(impl, 'cfg'), 'the file defines no `cfg`: it must be a config file too (Part 2)'
    try:
        hook = build_updater_hook(impl.cfg.lr_config, LR_POLICIES, 'lr_config')
    except ValueError as e:
        pytest.fail(f'train.py cannot build your lr_config: {e}.\nName the policy '
                    "'ex02_lr_policy:HalfLifeLrUpdaterHook' (module:Class), or add your class to "
                    'hooks.LR_POLICIES in this file', pytrace=False)
    assert type(hook).__name__ == 'HalfLifeLrUpdaterHook', (
        f'cfg.lr_config (policy={impl.cfg.lr_config.policy!r}) builds {type(hook).__name__}, '
        'not your HalfLifeLrUpdaterHook')
    assert hook.half_life == 2, f'the config gives half_life={hook.half_life}, the task asks for 2'


def test_train_py_runs_it_and_cfg_options_set_half_life(impl_path, tmp_path):
    config = stage(impl_path, '02_lr_policy', tmp_path / 'configs')
    code, out, err = train_py(config, tmp_path / 'work', 'lr_config.half_life=4', 'total_epochs=3')
    assert code is not None, 'train.py did not finish in time'
    if code != 0:
        last = (err.strip().splitlines() or ['(no output)'])[-1]
        hint = ''
        if 'half_life' in last:
            hint = ('\nlr_config needs a real field half_life: a dataclass that extends config.LrConfig with '
                    '`half_life: Optional[float] = None`, so that the config and --cfg-options can set it')
        elif 'not known' in last:
            hint = "\nname the policy 'ex02_lr_policy:HalfLifeLrUpdaterHook', or add it to hooks.LR_POLICIES"
        pytest.fail(f'python train.py --config {impl_path.name} --cfg-options lr_config.half_life=4 ... '
                    f'failed:\n{last}{hint}', pytrace=False)
    log = next((tmp_path / 'work').glob('*.log.json'))
    lrs = {}
    for record in map(json.loads, log.open()):
        if record.get('mode') == 'train':
            lrs.setdefault(record['epoch'], record['lr'])
    expected = {e: round(0.1 * 0.5 ** ((e - 1) / 4), 5) for e in (1, 2, 3)}
    assert lrs == pytest.approx(expected, abs=2e-5), (
        f'with --cfg-options lr_config.half_life=4 the logged LR of epochs 1-3 is {lrs}, expected {expected}: '
        'does the config field reach the hook, and does the config select your policy?')
