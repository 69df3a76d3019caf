"""The check of a ModelConfig, before anything is built: the types build_classifier knows,
the sizes that must fit together, and sizes bounded so that a value from a file never
allocates what nobody means. model.py's build_classifier calls it on every build (mmcls's
registry builds whatever the dict says, and fails inside).
"""
from config import ConfigError


def check_model_config(model_cfg, backbone_cls):
    """The types build_classifier knows, and the sizes that must fit together; `backbone_cls`
    is the class model.backbone.type names (a ResNet: its arch_settings give the depths)."""
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
    check_choice('model.neck.type', neck.type, ['GlobalAveragePooling'])
    check_choice('model.head.type', head.type, ['LinearClsHead'])
    check_choice('model.head.loss.type', head.loss.type, ['CrossEntropyLoss'])
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
    # The head reads the last output: stage i is base_channels * expansion * 2**i wide.
    expansion = backbone_cls.arch_settings[backbone.depth][0].expansion
    last = max(out_indices)
    width = backbone.base_channels * expansion * 2 ** last
    if head.in_channels != width:
        raise ConfigError(f'model.head.in_channels={head.in_channels!r} does not fit the '
                          f'backbone; expected {width} (base_channels='
                          f'{backbone.base_channels} x {expansion} x 2**{last}, '
                          f'the width of stage {last}, the deepest in out_indices)')


def check_choice(field, value, valid):
    """Raise a ConfigError naming the config field, its bad value and the valid choices."""
    if value not in valid:
        raise ConfigError(f'{field}={value!r} is not valid; valid: {", ".join(map(str, valid))}')
