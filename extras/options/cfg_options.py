"""`--cfg-options key.sub=value ...`: override config fields from the command line, with a
type check (mmcv: DictAction + Config.merge_from_dict). Imported by train.py only when
the option is given.

    cfg = apply_cfg_options(cfg, ['optimizer.lr=0.05', 'lr_config.step=[30, 60]'])

Every error is a ConfigError that names the field, the value and what is allowed.
"""
import ast
import dataclasses
import difflib
import typing

from config import ConfigError
from config import check_type


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
    types = typing.get_type_hints(type(obj))
    name = path[0]
    if name not in types:
        guess = difflib.get_close_matches(name, list(types), n=1)
        hint = f' (did you mean {guess[0]!r}?)' if guess else ''
        raise ConfigError(f'--cfg-options: {full_key!r}: {type(obj).__name__} has no field '
                          f'{name!r}{hint}; valid: {", ".join(types)}')
    tp = types[name]
    if len(path) == 1:
        if dataclasses.is_dataclass(getattr(obj, name)) and value is not None:
            raise ConfigError(f'--cfg-options: {full_key} is a group; set its fields, e.g. {full_key}.<field>=...')
        return dataclasses.replace(obj, **{name: check_type(value, tp, full_key)})
    child = getattr(obj, name)
    if child is None:                        # e.g. optimizer_config.grad_clip (Optional[GradClipConfig])
        options = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if not options:
            raise ConfigError(f'--cfg-options: {full_key!r}: {name} is not a group of fields')
        child = options[0]()
    if not dataclasses.is_dataclass(child):
        raise ConfigError(f'--cfg-options: {full_key!r}: {name} is not a group of fields')
    return dataclasses.replace(obj, **{name: _set_field(child, path[1:], value, full_key)})
