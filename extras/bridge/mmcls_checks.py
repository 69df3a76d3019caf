"""What extras/bridge/mmcls_config.py checks in an mmcls 0.x config's values before it translates or
builds anything by them: a file's data never costs more than reading it, and every message that
quotes a file's content is one short line (escaped as repr escapes, cut short).

    check_plain(values, where)      # nesting depth, ints past 2**63: before anything walks them
    check_sizes(d, error)           # the model's and the loader's sizes: what they can be
    check_optimizer(d, error)       # torch.optim's arguments, by the class's signature
    check_logger_hooks(d, error)    # the logger hooks runner.register_logger_hooks builds
"""
import difflib
import inspect

from config import ConfigError
from extras.run.logger import escape     # one line, no terminal control sequences

MAX_TEXT = 1_000_000      # characters of a checkpoint's config text (mmcls's: a few thousand)
MAX_DEPTH = 32            # dicts and lists in dicts and lists (mmcls's deepest config: 5)
MAX_INT = 2 ** 63         # past this an int cannot be meant (and repr fails past 4,300 digits)
SIZES = {  # key -> (lowest, highest): what the model and the loader can be
    'model.backbone.num_stages': (1, 4),        # mmcls's ResNet: 1 <= num_stages <= 4
    'model.backbone.base_channels': (1, 1024),  # 16x mmcls's 64: stages up to 1024 * 4 * 8 wide
    'model.backbone.stem_channels': (1, 1024),
    'model.head.in_channels': (1, 32768),       # the widest stage that can be
    'model.head.num_classes': (1, 100_000),     # 4x ImageNet-21k's 21,843
    'data.samples_per_gpu': (1, 65536),         # a batch of one process
    'data.val_samples_per_gpu': (1, 65536),
    'data.workers_per_gpu': (0, 256),           # loader processes of one process
}
LOGGER_HOOKS = ('TextLoggerHook',)    # what runner.register_logger_hooks builds


def cut(text, limit):
    return text if len(text) <= limit else text[:limit - 3] + '...'


def quote(value, limit=80):
    """repr(value), escaped and cut short; any value (an int of 5,000 digits too)."""
    if isinstance(value, int) and abs(value) > MAX_INT:
        return f'<an int of {value.bit_length()} bits>'
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f'<a {type(value).__name__}>'
    return cut(escape(text[:4 * limit]), limit)


def one_line(message, limit=400):
    """A message that may quote a file: escaped, cut to `limit` characters."""
    return cut(escape(message[:4 * limit]), limit)


def check_plain(values, where):
    """Nesting and ints, without recursion (a list 200,000 deep is data a file can hold)."""
    todo = [(k, v, 1) for k, v in values.items()]
    while todo:
        key, value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f'{where}: {cut(key, 80)} is nested deeper than {MAX_DEPTH} levels; '
                             'a config is a few dicts and lists deep')
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ConfigError(f'{where}: {cut(key, 80)}={quote(value)} cannot be meant; allowed: '
                             'an int within +-2**63')
        if isinstance(value, dict):
            todo += [(f'{key}.{k}', v, depth + 1) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            todo += [(f'{key}[{i}]', v, depth + 1) for i, v in enumerate(value)]


def get_dotted(d, path):                  # d['a']['b'] for 'a.b' (d for ''); None if missing
    for part in path.split('.') if path else ():
        d = d.get(part) if isinstance(d, dict) else None
    return d


def check_sizes(d, error):
    """Every size the model or the loader is built by, before anything is built by it."""
    for key, (low, high) in SIZES.items():
        path, _, name = key.rpartition('.')
        holder = get_dotted(d, path)
        if not isinstance(holder, dict) or name not in holder:
            continue
        value = holder[name]
        if value is None and key == 'data.val_samples_per_gpu':
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise error(key, f'={quote(value)} has the wrong type; expected int')
        if not low <= value <= high:
            raise error(key, f'={quote(value)} is out of range; allowed: {low}..{high}')


def check_optimizer(optimizer, error):
    """The arguments a torch.optim class is given, against its signature (mmcv: the class's
    TypeError when the optimizer is built, after the data was read)."""
    import torch
    name = optimizer.get('type')
    cls = getattr(torch.optim, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        return                            # runner.check_names names an unknown type
    params = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    valid = [p for p in params if p != 'params']
    given = {k: optimizer[k] for k in ('lr', 'momentum', 'weight_decay') if k in optimizer}
    for k, v in {**given, **optimizer.get('options', {})}.items():
        if k not in valid:
            guess = difflib.get_close_matches(str(k), valid, n=1)
            hint = f' (did you mean {guess[0]!r}?)' if guess else ''
            raise error(f'optimizer.{k}', f'={quote(v)} is not an argument of torch.optim.{name}'
                        f'{hint}; its arguments: {", ".join(valid)}')


def check_logger_hooks(log_config, error):
    hooks = log_config.get('hooks') if isinstance(log_config, dict) else None
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        if not isinstance(hook, dict):
            raise error(f'log_config.hooks[{i}]', f'={quote(hook)} is not valid; expected '
                        "dict(type='TextLoggerHook', ...)")
        if hook.get('type') not in LOGGER_HOOKS:
            raise error(f'log_config.hooks[{i}]', f": type={quote(hook.get('type'))} is not "
                        f"known; valid: {', '.join(map(repr, LOGGER_HOOKS))} (minicls logs "
                        'text and JSON lines only)')
