"""The check of a ModelConfig, before anything is built: the types build_classifier knows,
the sizes that must fit together, and sizes bounded so that a value from a file never
allocates what nobody means. model.py's build_classifier calls it on every build (mmcls's
registry builds whatever the dict says, and fails inside).
"""
import inspect

from config import ConfigError


def check_model_config(model_cfg, backbone_cls, variants=()):
    """The types build_classifier knows, and the sizes that must fit together; `backbone_cls`
    is the class model.backbone.type names (a ResNet: its arch_settings give the depths);
    `variants`: (field, class, the arguments of mmcls's variants set for it) per part."""
    backbone, neck, head = model_cfg.backbone, model_cfg.neck, model_cfg.head
    check_choice('model.type', model_cfg.type, ['ImageClassifier'])
    check_choice('model.backbone.depth', backbone.depth, list(backbone_cls.arch_settings))
    check_choice('model.backbone.num_stages', backbone.num_stages, [1, 2, 3, 4])
    out_indices = tuple(backbone.out_indices)
    if not out_indices or not all(0 <= i < backbone.num_stages for i in out_indices):
        raise ConfigError(f'model.backbone.out_indices={out_indices!r} is not valid; valid: '
                          f'stage indices 0..{backbone.num_stages - 1} '
                          f'(num_stages={backbone.num_stages})')
    check_choice('model.backbone.style', backbone.style, ['pytorch', 'caffe'])
    for field, value, ok, allowed in (    # sizes: nothing is allocated by a value not meant
            ('backbone.base_channels', backbone.base_channels,
             1 <= backbone.base_channels <= 1024, '1..1024'),
            ('backbone.stem_channels', backbone.stem_channels,
             1 <= backbone.stem_channels <= 1024, '1..1024'),
            ('head.num_classes', head.num_classes, isinstance(head.num_classes, int)
             and 1 <= head.num_classes <= 100_000, 'an int >= 1 and <= 100000'),
            ('backbone.frozen_stages', backbone.frozen_stages,     # the stem, then stages 1..k
             isinstance(backbone.frozen_stages, int)
             and -1 <= backbone.frozen_stages <= backbone.num_stages,
             f'-1..{backbone.num_stages} (num_stages={backbone.num_stages})')):
        if not ok:
            raise ConfigError(f'model.{field}={value!r} is out of range; allowed: {allowed}')
    check_variants(model_cfg, variants)
    block = backbone_cls.arch_settings[backbone.depth][0]
    if backbone.expansion not in (None, 1) and block.expansion == 1:    # mmcls asserts it
        raise ConfigError(f'model.backbone.expansion={backbone.expansion!r} is out of range; '
                          f'allowed: None or 1 with depth {backbone.depth} ({block.__name__}: '
                          'two convs of one width)')
    # The head reads the last output: stage i is base_channels * expansion * 2**i wide.
    expansion = backbone.expansion or block.expansion
    last = max(out_indices)
    width = backbone.base_channels * expansion * 2 ** last
    if head.in_channels != width:
        raise ConfigError(f'model.head.in_channels={head.in_channels!r} does not fit the '
                          f'backbone; expected {width} (base_channels='
                          f'{backbone.base_channels} x {expansion} x 2**{last}, '
                          f'the width of stage {last}, the deepest in out_indices)')


def check_variants(model_cfg, variants):
    """The fields of mmcls's variants (model.py's VARIANT_ARGS) that are set: each one taken by
    its class (mmcls: a TypeError when it builds), and in range."""
    backbone, neck, head, loss = (model_cfg.backbone, model_cfg.neck, model_cfg.head,
                                  model_cfg.head.loss)
    for where, cls, args in variants:
        takes = accepted_args(cls)
        for name, value in args.items():
            if name not in takes:
                raise ConfigError(f'{where}.{name}={value!r} is not an argument of '
                                  f'{cls.__name__}; set it only with a type that takes it')
    smooth, weights = loss.label_smooth_val, loss.class_weight
    for field, value, ok, allowed in (
            ('backbone.expansion', backbone.expansion, backbone.expansion is None
             or 1 <= backbone.expansion <= 64, '1..64 or None'),
            ('backbone.groups', backbone.groups, backbone.groups is None
             or 1 <= backbone.groups <= 1024, '1..1024 or None'),
            ('backbone.width_per_group', backbone.width_per_group,
             backbone.width_per_group is None or 1 <= backbone.width_per_group <= 1024,
             '1..1024 or None'),
            ('backbone.se_ratio', backbone.se_ratio, backbone.se_ratio is None
             or 1 <= backbone.se_ratio <= 1024, '1..1024 or None'),
            ('backbone.se_ratio', backbone.se_ratio, backbone.type != 'SEResNeXt'
             or backbone.se_ratio in (None, 16), 'None or 16 with SEResNeXt (mmcls 0.25 never '
             'passes it to its blocks)'),
            ('backbone.drop_path_rate', backbone.drop_path_rate,
             0 <= backbone.drop_path_rate < 1, '0 <= rate < 1'),
            ('neck.p', neck.p, neck.p is None or 1 <= neck.p <= 1000, '1..1000 or None'),
            ('neck.eps', neck.eps, neck.eps is None or neck.eps > 0, '> 0 or None'),
            # mmcls's heads give the loss avg_factor, which 'sum' cannot take (a ValueError)
            ('head.loss.reduction', loss.reduction, loss.reduction in ('mean', 'none'),
             "'mean' or 'none'"),
            ('head.loss.use_soft', loss.use_soft, not (loss.use_soft and loss.use_sigmoid),
             'not both use_soft and use_sigmoid'),
            ('head.loss.class_weight', weights, weights is None or len(weights) == head.num_classes
             and all(isinstance(w, (int, float)) and w >= 0 for w in weights),
             f'None or head.num_classes={head.num_classes} numbers >= 0'),
            ('head.loss.label_smooth_val', smooth, loss.type != 'LabelSmoothLoss'
             or smooth is not None and 0 <= smooth < 1, 'a float in [0, 1)'),
            ('head.loss.loss_weight', loss.loss_weight, loss.type != 'LabelSmoothLoss'
             or loss.loss_weight == 1, '1.0 with LabelSmoothLoss (mmcls 0.25 never applies it)'),
            ('head.loss.reduction', loss.reduction, loss.type != 'LabelSmoothLoss'
             or loss.reduction == 'mean', "'mean' with LabelSmoothLoss (mmcls 0.25 never "
             'applies it)'),
            ('head.loss.mode', loss.mode, loss.mode in (None, 'original', 'classy_vision',
                                                        'multi_label'),
             "None, 'original', 'classy_vision' or 'multi_label'"),
            ('head.loss.num_classes', loss.num_classes, loss.num_classes in (
                None, head.num_classes), f'None or head.num_classes={head.num_classes}'),
            ('head.cal_acc', head.cal_acc,
             not head.cal_acc or head.type != 'MultiLabelLinearClsHead',
             'False with a MultiLabelLinearClsHead (mmcls computes no training accuracy)'),
            ('head.topk', head.topk, tuple(head.topk) == (1,)
             or head.type != 'MultiLabelLinearClsHead',
             '(1,) with a MultiLabelLinearClsHead (mmcls computes no training accuracy)')):
        if not ok:
            raise ConfigError(f'model.{field}={value!r} is out of range; allowed: {allowed}')


def accepted_args(cls):
    """The keyword arguments `cls` takes: its __init__'s and, while one passes **kwargs on,
    its base classes' (ResNeXt(depth, groups, ..., **kwargs) passes the rest to ResNet)."""
    names = set()
    for c in cls.__mro__:
        params = inspect.signature(c.__init__).parameters.values() if '__init__' in vars(c) \
            else []
        names |= {p.name for p in params if p.kind is not p.VAR_KEYWORD}
        if '__init__' in vars(c) and not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def check_choice(field, value, valid):
    """Raise a ConfigError naming the config field, its bad value and the valid choices."""
    if value not in valid:
        raise ConfigError(f'{field}={value!r} is not valid; valid: {", ".join(map(str, valid))}')
