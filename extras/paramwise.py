"""paramwise_cfg: per-parameter lr and weight_decay (mmcv: DefaultOptimizerConstructor).

runner.py's build_optimizer puts all parameters in one param group; with
`OptimizerConfig(paramwise_cfg=ParamwiseConfig(...))` it calls this module, and every
parameter gets a group of its own, with its own lr and weight_decay multipliers:

    paramwise_cfg field    applies to                            multiplies
    custom_keys            params whose name contains the key    lr (lr_mult), wd (decay_mult)
                           (the longest matching key wins)
    bias_lr_mult           biases, except of norm layers         lr
    bias_decay_mult        biases                                weight_decay
    norm_decay_mult        BatchNorm/GroupNorm/LayerNorm params  weight_decay
    dwconv_decay_mult      depthwise conv params                 weight_decay

Freezing a part: custom_keys={'backbone': dict(lr_mult=0.0)} gives its groups lr 0, and
every LR schedule scales that 0.
"""
import torch

NORM_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
               torch.nn.GroupNorm, torch.nn.LayerNorm)


def paramwise_groups(model, cfg, args):
    """mmcv's DefaultOptimizerConstructor.add_params. For each parameter, in module order:
    the longest custom key contained in its name wins (lr_mult, decay_mult); otherwise
    biases (not of norm layers) get bias_lr_mult / bias_decay_mult, norm layers
    norm_decay_mult, depthwise convs dwconv_decay_mult."""
    base_lr, base_wd = args['lr'], args.get('weight_decay')
    keys = sorted(sorted(cfg.custom_keys), key=len, reverse=True)
    groups, seen = [], set()
    for prefix, module in model.named_modules():
        is_norm = isinstance(module, NORM_LAYERS)
        is_dwconv = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            group = {'params': [param]}
            if cfg.bypass_duplicate and id(param) in seen:
                continue
            seen.add(id(param))
            if not param.requires_grad:
                groups.append(group)
                continue
            full_name = f'{prefix}.{name}'
            key = next((k for k in keys if k in full_name), None)
            if key is not None:
                group['lr'] = base_lr * cfg.custom_keys[key].get('lr_mult', 1.0)
                if base_wd is not None:
                    group['weight_decay'] = base_wd * cfg.custom_keys[key].get('decay_mult', 1.0)
            else:
                if name == 'bias' and not is_norm:
                    group['lr'] = base_lr * cfg.bias_lr_mult
                if base_wd is not None:
                    if is_norm:
                        group['weight_decay'] = base_wd * cfg.norm_decay_mult
                    elif is_dwconv:
                        group['weight_decay'] = base_wd * cfg.dwconv_decay_mult
                    elif name == 'bias':
                        group['weight_decay'] = base_wd * cfg.bias_decay_mult
            groups.append(group)
    return groups
