"""build_optimizer (mmcv: runner/optimizer/builder.py + default_constructor.py).

    optimizer = build_optimizer(model, cfg.optimizer)    # OptimizerConfig(type='SGD', lr=0.1, ...)

`type` is any class name in torch.optim. Without `paramwise_cfg` all parameters form one
param group; with it, every parameter gets a group of its own, with its own lr and
weight_decay multipliers:

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

from checkpoint import unwrap

NORM_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
               torch.nn.GroupNorm, torch.nn.LayerNorm)


def build_optimizer(model, optimizer_cfg):
    """Any torch.optim class by name. Without paramwise_cfg all parameters form one group;
    with it, every parameter gets its own group with its own lr / weight_decay."""
    opt_type = optimizer_cfg.type
    opt_cls = getattr(torch.optim, opt_type, None)
    if not (isinstance(opt_cls, type) and issubclass(opt_cls, torch.optim.Optimizer)):
        valid = sorted(n for n, c in vars(torch.optim).items()
                       if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and n != 'Optimizer')
        raise ValueError(f'optimizer.type={opt_type!r} is not a torch.optim optimizer; valid: {", ".join(valid)}')
    if optimizer_cfg.lr < 0:
        raise ValueError(f'optimizer.lr={optimizer_cfg.lr} must be >= 0')
    args = dict(lr=optimizer_cfg.lr, weight_decay=optimizer_cfg.weight_decay, **optimizer_cfg.options)
    if optimizer_cfg.momentum is not None:
        args['momentum'] = optimizer_cfg.momentum
    model = unwrap(model)
    paramwise = optimizer_cfg.paramwise_cfg
    params = model.parameters() if paramwise is None else _paramwise_groups(model, paramwise, args)
    try:
        return opt_cls(params, **args)
    except TypeError as e:
        raise ValueError(f'optimizer.type={opt_type!r} does not accept these arguments '
                         f'({", ".join(args)}): {e}') from None


def _paramwise_groups(model, cfg, args):
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
