"""Reading a config: the config file, `--cfg-options`, and the value checks
(mmcv: Config.fromfile, Config.merge_from_dict, DictAction).

    cfg = apply_cfg_options(load_config('configs/demo.py'), ['optimizer.lr=0.05'])
    check_config(cfg)        # out-of-range values; builds the cheap parts to catch typos early

Every error is a ConfigError that names the field, the value and what is allowed;
train.py turns it into one line on stderr and exit status 2.
"""
import ast
import dataclasses
import json
import os
import runpy
import sys
import typing

import torch

import config as config_module
from data import DATASETS
from lr_updater import LR_POLICIES, build_updater_hook
from momentum_updater import MOMENTUM_POLICIES
from optimizer import build_optimizer
from transforms import Compose


class ConfigError(ValueError):
    """A bad config file, field, value or command line: exit status 2."""


def load_config(path):
    """Run a config file and return its `cfg` (a config.Config)."""
    if not os.path.isfile(path):
        raise ConfigError(f'--config: file {path!r} does not exist')
    if os.path.samefile(path, config_module.__file__):
        return config_module.cfg           # config.py itself: already imported
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))    # so `from config import ...` works
    try:
        namespace = runpy.run_path(path)
    except Exception as e:
        raise ConfigError(f'--config: {path} failed to run: {type(e).__name__}: {e}') from e
    cfg = namespace.get('cfg')
    if not isinstance(cfg, config_module.Config):
        raise ConfigError(f'--config: {path} must define `cfg = Config(...)` (from config.py), '
                          f'found {type(cfg).__name__}')
    return cfg


def _field_types(obj):
    return typing.get_type_hints(type(obj))


def _check_type(value, tp, name):
    """Return `value` if it fits the annotation `tp` (ints are accepted for floats)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        for option in args:
            try:
                return _check_type(value, option, name)
            except ConfigError:
                pass
        raise ConfigError(f'{name}={value!r} has the wrong type; expected {_type_name(tp)}')
    if tp is type(None):
        if value is None:
            return None
    elif tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif tp is bool and isinstance(value, bool):
        return value
    elif tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif tp in (str, dict) and isinstance(value, tp):
        return value
    elif tp in (list, tuple) and isinstance(value, (list, tuple)):
        return tp(value)
    raise ConfigError(f'{name}={value!r} has the wrong type; expected {_type_name(tp)}')


def _type_name(tp):
    args = typing.get_args(tp)
    return ' or '.join(_type_name(a) for a in args) if args else getattr(tp, '__name__', str(tp))


def apply_cfg_options(cfg, options):
    """`['optimizer.lr=0.05', 'data.samples_per_gpu=64']` -> a new cfg. Values are Python
    literals (0.05, [30, 60], None, True, 'text'); a bare word is a string."""
    for option in options:
        if '=' not in option:
            raise ConfigError(f'--cfg-options: {option!r} is not of the form key.sub=value')
        key, text = option.split('=', 1)
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        cfg = _set_field(cfg, key.split('.'), value, key)
    return cfg


def _set_field(obj, path, value, full_key):
    types = _field_types(obj)
    name = path[0]
    if name not in types:
        raise ConfigError(f'--cfg-options: {full_key!r}: {type(obj).__name__} has no field {name!r}; '
                          f'valid: {", ".join(types)}')
    tp = types[name]
    if len(path) == 1:
        if dataclasses.is_dataclass(getattr(obj, name)) and value is not None:
            raise ConfigError(f'--cfg-options: {full_key} is a group; set its fields, e.g. {full_key}.<field>=...')
        return dataclasses.replace(obj, **{name: _check_type(value, tp, full_key)})
    child = getattr(obj, name)
    if child is None:                        # e.g. optimizer_config.grad_clip (Optional[GradClipConfig])
        options = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if not options:
            raise ConfigError(f'--cfg-options: {full_key!r}: {name} is not a group of fields')
        child = options[0]()
    if not dataclasses.is_dataclass(child):
        raise ConfigError(f'--cfg-options: {full_key!r}: {name} is not a group of fields')
    return dataclasses.replace(obj, **{name: _set_field(child, path[1:], value, full_key)})


def config_to_json(cfg):
    return json.dumps(dataclasses.asdict(cfg), indent=2)


def check_config(cfg):
    """Values that type checks cannot catch, named as the user wrote them."""
    checks = [('total_epochs', cfg.total_epochs >= 1, '>= 1'),
              ('optimizer.lr', cfg.optimizer.lr >= 0, '>= 0'),
              ('data.samples_per_gpu', cfg.data.samples_per_gpu >= 1, '>= 1'),
              ('data.workers_per_gpu', cfg.data.workers_per_gpu >= 0, '>= 0'),
              ('log_config.interval', cfg.log_config.interval >= 1, '>= 1'),
              ('device', cfg.device in ('auto', 'cpu', 'cuda'), "one of 'auto', 'cpu', 'cuda'")]
    for name, ok, allowed in checks:
        if not ok:
            value = eval(f'cfg.{name}', {'cfg': cfg})  # noqa: S307 (our own field names)
            raise ConfigError(f'{name}={value!r} is out of range; allowed: {allowed}')
    # Build the cheap pieces now, so that a typo fails in a second, not after the data loads.
    build_updater_hook(cfg.lr_config, LR_POLICIES, 'lr_config')
    if cfg.momentum_config is not None:
        build_updater_hook(cfg.momentum_config, MOMENTUM_POLICIES, 'momentum_config')
    build_optimizer(torch.nn.Linear(1, 1), cfg.optimizer)
    for split in ('train', 'val', 'test'):
        dataset_cfg = getattr(cfg.data, split)
        if dataset_cfg.type not in DATASETS:
            raise ConfigError(f'data.{split}.type={dataset_cfg.type!r} is not known; valid: {", ".join(DATASETS)}')
        Compose(dataset_cfg.pipeline, batched=dataset_cfg.batched)
    for entry in cfg.workflow:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] in ('train', 'val')
                and isinstance(entry[1], int) and entry[1] >= 1):
            raise ConfigError(f"workflow entry {entry!r} is not valid; expected ('train' or 'val', epochs >= 1)")
