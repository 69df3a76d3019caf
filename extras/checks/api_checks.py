"""The runner's API, checked for code that calls it directly (a config is checked by
config.py before it gets here). runner.py imports these and calls them on every run: one line
each, so the loop and the builders read as mmcv's.

    EpochBasedRunner.register_*_hook  -> as_config            mmcv's dicts as config.py's
    EpochBasedRunner.register_hook    -> check_new_hook       a Hook, registered once
    build_optimizer                   -> check_optimizer_cfg  an OptimizerConfig
"""
from config import (CheckpointConfig, Fp16Config, GradClipConfig, LogConfig,
                    LrConfig, MomentumConfig, OptimizerHookConfig, ParamwiseConfig,
                    check_fields)
from hooks import Hook

CONFIG_CLASSES = dict(lr_config=LrConfig, momentum_config=MomentumConfig,
                      optimizer_config=OptimizerHookConfig, fp16_config=Fp16Config,
                      checkpoint_config=CheckpointConfig, log_config=LogConfig)


def as_config(value, field):
    """mmcv's dicts (lr_config=dict(policy='step')) as config.py's dataclass, checked as a
    config's fields are; unknown keys a TypeError naming the valid ones. A dataclass or None
    (what train_model passes) is returned as it is."""
    if not isinstance(value, dict):
        return value
    if isinstance(value.get('grad_clip'), dict):        # optimizer_config's nested dict
        value = dict(value, grad_clip=GradClipConfig(**value['grad_clip']))
    value = CONFIG_CLASSES[field](**value)
    check_fields(value, f'{field}.')
    return value


def check_new_hook(hook):
    if not isinstance(hook, Hook):
        raise TypeError(f'a hook must be a Hook instance, got {type(hook).__name__}')
    if hasattr(hook, 'priority'):
        raise ValueError(f'{type(hook).__name__} is already registered (once per hook)')


def check_optimizer_cfg(optimizer_cfg):
    """An OptimizerConfig whose paramwise_cfg is a ParamwiseConfig or None (mmcv: a
    TypeError for a paramwise_cfg that is not a dict)."""
    if not hasattr(optimizer_cfg, 'type'):
        raise TypeError('build_optimizer takes an OptimizerConfig (config.py), not a '
                        f'{type(optimizer_cfg).__name__}')
    paramwise = getattr(optimizer_cfg, 'paramwise_cfg', None)
    if not (paramwise is None or isinstance(paramwise, ParamwiseConfig)):
        raise TypeError(f'optimizer.paramwise_cfg must be a ParamwiseConfig (config.py) or None, '
                        f'not a {type(paramwise).__name__} (a dict d: ParamwiseConfig(**d))')
