"""mmcls 0.x configs: its config files and its checkpoints' config text read into config.py's
dataclasses, and a Config written back as the mmcls 0.x dict config it corresponds to.

    cfg = read_mmcls_config('resnet18_8xb16_cifar10.py')   # runs the file, resolves `_base_`
    cfg = read_mmcls_text(meta['config'], 'epoch_10.pth')   # parsed with `ast`, never run
    text = to_mmcls_text(cfg)       # mmcv's Config.fromstring(text, file_format='.py') reads it

config.load_config sends here a file with `model = dict(...)` and no `cfg`. Keys become fields
of their name (renamed: `translate`) or follow MMCLS_DEFAULTS, SAME_AS_MMCLS, SKIPPED; others are
ConfigErrors naming key and file. Fields mmcls lacks travel in `minicls` (mmcls never reads it).
"""
import copy
import dataclasses
import difflib
import json
import keyword
import logging
import math
import os
import re
import typing

import config
from config import ConfigError
from extras.bridge.mmcls_checks import (check_logger_hooks, check_optimizer, check_sizes,
                                        get_dotted, one_line, quote)
from extras.bridge.mmcls_files import dotted, parse_text, resolve_file

logger = logging.getLogger('minicls')

SKIPPED = {  # key -> why it means nothing here (skipped, with a note)
    'gpu_ids': "mmcls's tools/train.py sets it from --gpu-id or the launcher; here: --launcher",
    'device': "mmcls's tools/train.py overwrites it from --device; here: --device",
    **dict.fromkeys(('img_norm_cfg', 'train_pipeline', 'test_pipeline', 'dataset_type'),
                    'a helper name of the file; mmcls itself never reads it'),
    **dict.fromkeys(('opencv_num_threads', 'mp_start_method'), "mmcls's setup_multi_processes "
                    '(OpenCV threads, worker start method); minicls leaves both as they are'),
    'evaluation.by_epoch': "mmcls's train_model sets it from the runner type (Epoch...: True)",
}
MMCLS_DEFAULTS = {  # mmcls 0.25's value where config.py's default differs; for absent keys
    'data.pin_memory': True,              # mmcls: build_dataloader(pin_memory=True)
    'data.val.test_mode': True,           # mmcls: build_dataset(cfg.data.val, dict(test_mode=True))
    'data.test.test_mode': True,          # mmcls: tools/test.py sets it
    'checkpoint_config.interval': -1,     # mmcv: CheckpointHook(interval=-1)
}
SAME_AS_MMCLS = {  # accepted when given with exactly this value (mmcls's default, minicls's way)
    'model.pretrained': None, 'model.backbone.in_channels': 3, 'model.backbone.with_cp': False,
    'model.backbone.deep_stem': False, 'model.backbone.avg_down': False, 'model.neck.dim': 2,
    'model.backbone.norm_cfg': dict(type='BN', requires_grad=True),
    'model.head.init_cfg': dict(type='Normal', layer='Linear', std=0.01),
    'runner.type': 'EpochBasedRunner', 'optimizer_config.type': 'OptimizerHook',
    'optimizer.constructor': 'DefaultOptimizerConstructor'}
REQUIRED = """model data optimizer optimizer_config lr_config checkpoint_config log_config workflow
    log_level load_from resume_from model.type model.backbone model.neck model.head
    model.backbone.type model.backbone.depth model.neck.type model.head.type model.head.num_classes
    model.head.in_channels model.head.loss.type data.samples_per_gpu data.workers_per_gpu data.train
    data.val data.test data.*.type data.*.data_prefix data.*.pipeline optimizer.type optimizer.lr
    optimizer_config.grad_clip.max_norm lr_config.policy momentum_config.policy log_config.interval
    log_config.hooks runner.type""".split()   # mmcls reads these without a default
SPLITS = ('train', 'val', 'test')
MMCLS_KEYS = ('sampler', 'custom_imports', 'find_unused_parameters', 'ipu_replicas')  # mmcls
# 0.25 reads these (never helper names), minicls cannot express them
MINICLS_ONLY = ('device', 'deterministic', 'channels_last', 'compile', 'num_threads', 'sync_bn',
                *(f'data.{s}.{f}' for s in SPLITS for f in ('num_samples', 'batched')),
                'random_streams')


def read_mmcls_config(path, notes=None):
    """Run an mmcls 0.x config file, resolve its `_base_` files, translate (mmcv: fromfile)."""
    found, uses = [], {}                  # notes of _deprecation_; the names each file reads
    stem = os.path.splitext(os.path.basename(path))[0]     # mmcls: ./work_dirs/<config name>
    try:
        values, origins = resolve_file(path, found, uses)
        return translate(values, origins, f'work_dirs/{stem}', notes, uses, found)
    except ConfigError as e:              # file content in it: escaped, cut short
        raise ConfigError(one_line(str(e))) from None


def read_mmcls_text(text, source='config text', notes=None):
    """An mmcls checkpoint's meta['config'] is data, not code: `name = value` lines of literals,
    dict(...) and range(...), read with ast.literal_eval; classes by name, never 'module:Class'.
    What mmcv writes for a float that is not finite (`inf`) is read too."""
    try:
        return translate(parse_text(text, source), {'': source}, config.Config().work_dir, notes)
    except ConfigError as e:              # file content in it: escaped, cut short
        raise ConfigError(one_line(str(e))) from None


class Translation:
    """The dict -> dataclass walk; knows the file that set each key, and collects the notes."""

    def __init__(self, origins, notes, uses):
        self.origins, self.notes, self.uses = origins, notes, uses

    def error(self, key, message):        # names the file that set `key` (or the key above it)
        parts = re.split(r'[.\[]', key)
        keys = ('.'.join(parts[:i]) for i in range(len(parts), -1, -1))
        where = next(self.origins[k] for k in keys if k in self.origins)
        return ConfigError(f'{where}: {key}{message}')

    def other(self, key, value, holder, fields=()):
        """A key with no field of its name: skipped with a note, accepted as mmcls's, or refused."""
        pattern = re.sub(r'^data\.(train|val|test)\.', 'data.*.', key)
        if pattern in SKIPPED:
            return self.notes.append(f'skipped {key}: {SKIPPED[pattern]}')
        n = holder.get('num_stages', 4)     # mmcls's ResNet: a stride and a dilation per stage
        same = dict(SAME_AS_MMCLS, **{'model.backbone.strides': [1] + [2] * (n - 1),
                                      'model.backbone.dilations': [1] * n})   # n: check_sizes
        if pattern in same and json.dumps(value, default=repr) == json.dumps(same[pattern]):
            return
        guess = difflib.get_close_matches(key.rpartition('.')[2], fields, n=1, cutoff=0.8)
        if '.' not in key and not guess and key not in MMCLS_KEYS and self.helper(key):
            return
        why = f"only {quote(same[pattern])}, mmcls's default" if pattern in same else 'no field'
        hint = f' (did you mean {guess[0]!r}?)' if guess else ''
        raise self.error(key, f'={quote(value)} cannot be expressed in minicls (it has {why}'
                         f'{" for it" if pattern not in same else ""}){hint}')

    def helper(self, key):
        """A top-level name a file reads to build other values; in a checkpoint's text (mmcv keeps
        every name of the file), any name not near a key's. Noted; mmcls never reads them."""
        where = self.origins.get(key, self.origins[''])
        if self.uses is None and not key.startswith('_'):
            self.notes.append(f"skipped {key}: not a key mmcls reads (mmcv's text keeps the "
                              "helper names of a file)")
        elif self.uses is not None and key in self.uses.get(where, ()):
            self.notes.append(f'skipped {key}: a helper name, used in {where} to build others')
        else:
            return False
        return True

    def build(self, cls, d, path=''):
        """dict -> dataclass `cls`, key by key; nested dataclasses recurse."""
        hints, args = typing.get_type_hints(cls), {}
        defaults = {k.rpartition('.')[2]: v for k, v in MMCLS_DEFAULTS.items()
                    if k.rpartition('.')[0] == path}      # mmcls's, where config.py's differ
        for k, v in {**defaults, **d}.items():
            key = f'{path}.{k}' if path else k
            if k not in hints:
                self.other(key, v, d, list(hints) + (['runner', 'minicls'] if not path else []))
                continue
            kinds = typing.get_args(hints[k]) or (hints[k],)
            inner = next((t for t in kinds if dataclasses.is_dataclass(t)), None)
            if inner and isinstance(v, dict):
                v = self.build(inner, v, key)
            elif tuple in kinds and isinstance(v, (list, int)) and not isinstance(v, bool):
                v = tuple(v) if isinstance(v, list) else (v,)      # mmcls: topk=1 is (1, )
            args[k] = v
        return cls(**args)


def translate(values, origins, work_dir, notes=None, uses=None, found=()):
    """mmcls's resolved names -> a checked config.Config. A file's (read_mmcls_config): `uses`,
    the names each file reads, and `found`, the notes resolving it left."""
    d, t = copy.deepcopy(values), Translation(origins, [] if notes is None else notes, uses)
    t.notes.extend(found)
    for key in dict.fromkeys(k.replace('*', s) for k in REQUIRED for s in SPLITS):
        path, _, name = key.rpartition('.')
        holder = get_dotted(d, path)
        if holder is not None and (not isinstance(holder, dict) or name not in holder):
            raise t.error(key, ' is missing (or what holds it is no dict); mmcls 0.25 needs it')
    for key in MINICLS_ONLY[1:] + ('data.val_samples_per_gpu', 'optimizer.options'):
        if key in dotted(d):              # not 'device' (first): mmcls overwrites it; SKIPPED
            raise t.error(key, f" is minicls's own field; write minicls = {{'{key}': ...}}")
    for key in ('runner', 'minicls', 'data.val_dataloader'):   # None: mmcls's "not set"
        kinds = dict if key == 'minicls' and key in d else (dict, type(None))   # ours: a dict
        if not isinstance(get_dotted(d, key), kinds):
            raise t.error(key, f'={quote(get_dotted(d, key))} is not a dict')
    if uses is not None and d.get('seed') is not None:   # mmcls 0.25's tools/train.py: --seed
        t.notes.append(f"skipped seed={quote(d.pop('seed'))}: mmcls's tools/train.py ignores a "
                       'config file\'s seed (it takes --seed, else draws one); here too: --seed')
    runner, epochs = d.pop('runner', None) or {}, d.pop('total_epochs', None)
    for k in [k for k in runner if k != 'max_epochs']:   # mmcls: runner wins over total_epochs
        t.other(f'runner.{k}', runner[k], runner)
    max_epochs = runner.get('max_epochs', epochs)
    if max_epochs is None or epochs not in (None, max_epochs):
        raise t.error('runner', f'={quote(runner)} with total_epochs={quote(epochs)}: mmcls 0.25 '
                      'needs runner = '
                      "dict(type='EpochBasedRunner', max_epochs=N) (or total_epochs = N, the same)")
    d.update(total_epochs=max_epochs, work_dir=d.get('work_dir', work_dir))
    d['lr_config'] = d['lr_config'] or dict(policy='fixed')   # None in mmcv: the LR stays
    data, optimizer, hook = d['data'], d['optimizer'], d['optimizer_config']
    for k, v in (data.pop('val_dataloader', None) or {}).items():   # mmcls: the val loader's own
        if k != 'samples_per_gpu':
            raise t.error(f'data.val_dataloader.{k}', ' cannot be expressed (only samples_per_gpu)')
        data['val_samples_per_gpu'] = v
    fields = {f.name for f in dataclasses.fields(config.OptimizerConfig)} | {'constructor'}
    optimizer['options'] = {k: optimizer.pop(k) for k in list(optimizer) if k not in fields}
    if isinstance(hook, dict) and hook.get('type') == 'GradientCumulativeOptimizerHook':  # mmcv's
        del hook['type']                  # cumulative_iters: mmcv's default is 1, as minicls's
    if 'device' in d:                     # mmcls's tools/train.py overwrites it: SKIPPED
        t.other('device', d.pop('device'), d)
    for key, value in (d.pop('minicls', None) or {}).items():   # minicls's own, by dotted name
        if key not in MINICLS_ONLY:
            raise t.error(f'minicls[{quote(key)}]', f" is not one of {', '.join(MINICLS_ONLY)}")
        path, _, name = key.rpartition('.')
        get_dotted(d, path)[name] = value
    check_sizes(d, t.error)               # before anything is built or allocated by them
    check_optimizer(optimizer, t.error)   # before any data is read (docs/bad_input.md)
    check_logger_hooks(d.get('log_config'), t.error)
    cfg = t.build(config.Config, d)
    try:
        config.check_config(cfg)
    except ConfigError as e:              # check_config names the field; this, the file too
        field = re.split(r'[= ]', str(e))[0]
        raise t.error(field, str(e)[len(field):]) from None
    if t.notes and notes is None:
        logger.info(f"mmcls config {origins['']}: " + '; '.join(t.notes))
    return cfg


def to_mmcls_dict(cfg, world_size=1):
    """A Config as mmcls 0.x's top-level names: the inverse of `translate`."""
    d, default = dataclasses.asdict(cfg), dataclasses.asdict(config.Config())
    d['minicls'] = {k: get_dotted(d, k) for k in MINICLS_ONLY
                    if get_dotted(d, k) != get_dotted(default, k)}
    for path, _, name in (k.rpartition('.') for k in MINICLS_ONLY):   # they travel in `minicls`
        del get_dotted(d, path)[name]
    n = cfg.model.backbone.num_stages     # mmcls's ResNet: a stride and a dilation per stage
    if 1 <= n <= 4:                       # any other cannot be built (model.py says so)
        d['model']['backbone'].update(strides=(1,) + (2,) * (n - 1), dilations=(1,) * n)
    opt, hook, val = d['optimizer'], d['optimizer_config'], d['data'].pop('val_samples_per_gpu')
    if val:                               # mmcls: the val loader's own options
        d['data']['val_dataloader'] = dict(samples_per_gpu=val)
    opt.update(opt.pop('options'))        # torch's arguments, beside lr
    for holder in (opt, opt['paramwise_cfg'], d['lr_config'], d['momentum_config'],
                   d['model']['backbone'], d['model']['neck'], d['model']['head']['loss']):
        for k in [k for k, v in (holder or {}).items() if v is None]:
            del holder[k]                 # None: not given, as in mmcls's dicts (init_cfg=None
                                          # would drop mmcls's Kaiming init)
    loss = d['model']['head']['loss']     # CrossEntropyLoss's defaults: LabelSmoothLoss takes
    for k, default in (('use_soft', False), ('use_sigmoid', False), ('reduction', 'mean')):
        if loss[k] == default:            # none of them, so they are written only when set
            del loss[k]
    head = d['model']['head']             # mmcls's has no training accuracy (model_checks:
    if head['type'] == 'MultiLabelLinearClsHead':          # only the defaults are allowed)
        del head['topk'], head['cal_acc']
    if hook is not None:                  # mmcv: OptimizerHook, or GradientCumulativeOptimizerHook
        iters = hook.pop('cumulative_iters')
        if iters != 1:
            hook.update(type='GradientCumulativeOptimizerHook', cumulative_iters=iters)
    d['runner'] = dict(type='EpochBasedRunner', max_epochs=d.pop('total_epochs'))
    d['gpu_ids'] = list(range(world_size))  # mmcv's resume rescales `iter` if the GPU count changed
    return d


def to_mmcls_text(cfg, world_size=1):
    """The Config as mmcls 0.x config text (what mmcls stores in meta['config'])."""
    return ('# mmcls 0.x config, written by minicls '
            '(extras/bridge/mmcls_config.py: to_mmcls_text)\n'
            + ''.join(f'{k} = {render(v)}\n' for k, v in to_mmcls_dict(cfg, world_size).items()))


def render(value, indent=0):
    """Python source for a plain value, as mmcv's pretty_text: dict(k=...) where keys are names."""
    if isinstance(value, dict):
        named = all(str(k).isidentifier() and not keyword.iskeyword(k) for k in value)
        items = [f'{k}=' if named else f'{render(k)}: ' for k in value]
        items = [key + render(v, indent + 4) for key, v in zip(items, value.values())]
        start, end = ('dict(', ')') if named else ('{', '}')
    elif isinstance(value, (list, tuple)):
        items = [render(v, indent + 4) for v in value]
        start, end = ('(', ')' if len(value) != 1 else ',)') if isinstance(value, tuple) else '[]'
    elif isinstance(value, float) and not math.isfinite(value):
        return f'float({str(value)!r})'   # mmcv's Config.fromstring runs it; `inf` is no name
    else:
        return repr(value)
    flat = start + ', '.join(items) + end
    if '\n' not in flat and len(flat) + indent <= 90:
        return flat
    lines = ''.join(f'{" " * (indent + 4)}{item},\n' for item in items)
    return f'{start}\n{lines}{" " * indent}{end[-1]}'
