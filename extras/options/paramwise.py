"""paramwise_cfg: per-parameter lr and weight_decay (mmcv: DefaultOptimizerConstructor).

runner.py's build_optimizer puts all parameters in one param group; with
`OptimizerConfig(paramwise_cfg=ParamwiseConfig(...))` it calls this module. A
ParamwiseConfig whose fields are all None is mmcls's `paramwise_cfg=dict()`: still one
group, `model.parameters()`. With any field set, every parameter gets a group of its own,
with its own lr and weight_decay multipliers (a field left None takes mmcv's default:
mult 1.0, custom_keys {}, bypass_duplicate False):

    paramwise_cfg field    applies to                            multiplies
    custom_keys            params whose name contains the key    lr (lr_mult), wd (decay_mult)
                           (the longest matching key wins)
    bias_lr_mult           biases, except of norm layers         lr
    bias_decay_mult        biases                                weight_decay
    norm_decay_mult        BatchNorm/GroupNorm/LayerNorm params  weight_decay
    dwconv_decay_mult      depthwise conv params                 weight_decay

Freezing a part: custom_keys={'backbone': dict(lr_mult=0.0)} gives its groups lr 0, and
every LR schedule scales that 0.

The modules are walked as mmcv's add_params recurses: each module's named_children, so a
module registered under two names in two different parents is reached twice (under one
parent, named_children gives it once), as is a parameter shared by two modules. Its second
group holds parameters the first one has: torch refuses that ("some parameters appear in
more than one parameter group"), unless bypass_duplicate, which skips the second one with
mmcv's warning ("<name> is duplicate. It is skipped since bypass_duplicate=True").
"""
import dataclasses
import warnings

import torch

from config import ConfigError

NORM_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
               torch.nn.GroupNorm, torch.nn.LayerNorm)


def _validate(cfg, base_wd):
    """mmcv: DefaultOptimizerConstructor._validate_cfg."""
    custom_keys = cfg.custom_keys if cfg.custom_keys is not None else {}
    if not isinstance(custom_keys, dict) \
            or not all(isinstance(v, dict) for v in custom_keys.values()):
        raise ConfigError('optimizer.paramwise_cfg.custom_keys must be a dict of dicts, got '
                          f'{custom_keys!r}')
    decay_mult_set = (any('decay_mult' in v for v in custom_keys.values())
                      or any(m is not None for m in (cfg.bias_decay_mult, cfg.norm_decay_mult,
                                                     cfg.dwconv_decay_mult)))
    if base_wd is None and decay_mult_set:
        raise ConfigError('base_wd should not be None')   # mmcv's words: set optimizer.weight_decay
    return custom_keys


def walk(module, prefix=''):
    """(prefix, module) as mmcv's add_params visits them: the module, then each of its
    named_children's walks, prefix `parent.child` (a shared module: once per parent)."""
    yield prefix, module
    for child_name, child in module.named_children():
        yield from walk(child, f'{prefix}.{child_name}' if prefix else child_name)


def paramwise_groups(model, cfg, args):
    """mmcv's DefaultOptimizerConstructor.__call__ / add_params. Empty cfg: model.parameters()
    (one group). Otherwise, for each parameter, in module order: the longest custom key
    contained in its name wins (lr_mult, decay_mult); otherwise biases (not of norm layers)
    get bias_lr_mult / bias_decay_mult, norm layers norm_decay_mult, depthwise convs
    dwconv_decay_mult."""
    base_lr, base_wd = args['lr'], args.get('weight_decay')
    custom_keys = _validate(cfg, base_wd)
    if all(getattr(cfg, f.name) is None for f in dataclasses.fields(cfg)):
        return model.parameters()
    mult = {name: 1.0 if getattr(cfg, name) is None else getattr(cfg, name)
            for name in ('bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult')}
    keys = sorted(sorted(custom_keys), key=len, reverse=True)
    groups, seen = [], set()
    for prefix, module in walk(model):
        is_norm = isinstance(module, NORM_LAYERS)
        is_dwconv = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            group = {'params': [param]}
            if not param.requires_grad:          # mmcv: a bare group, before the duplicate check
                groups.append(group)
                continue
            if cfg.bypass_duplicate and id(param) in seen:
                warnings.warn(f'{prefix} is duplicate. It is skipped since bypass_duplicate=True')
                continue
            seen.add(id(param))
            full_name = f'{prefix}.{name}'
            key = next((k for k in keys if k in full_name), None)
            if key is not None:
                group['lr'] = base_lr * custom_keys[key].get('lr_mult', 1.0)
                if base_wd is not None:
                    group['weight_decay'] = base_wd * custom_keys[key].get('decay_mult', 1.0)
            else:
                if name == 'bias' and not is_norm:
                    group['lr'] = base_lr * mult['bias_lr_mult']
                if base_wd is not None:
                    if is_norm:
                        group['weight_decay'] = base_wd * mult['norm_decay_mult']
                    elif is_dwconv:
                        group['weight_decay'] = base_wd * mult['dwconv_decay_mult']
                    elif name == 'bias':
                        group['weight_decay'] = base_wd * mult['bias_decay_mult']
            groups.append(group)
    return groups
