"""mmcv's `init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone')` (mmcv:
cnn/utils/weight_init.py PretrainedInit): a backbone starts from a checkpoint's weights, the
fine-tuning recipe of mmcls's tutorial (docs/en/tutorials/finetune.md):

    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet', depth=50, frozen_stages=2, init_cfg=dict(
            type='Pretrained', checkpoint='resnet50_in1k.pth', prefix='backbone')),
        head=HeadConfig(num_classes=10, in_channels=2048))

model.py's ResNet.init_weights reaches PretrainedInit through its INITIALIZERS table when a
config sets init_cfg; the default run never enters this file.
"""
import logging
from collections import OrderedDict

from checkpoint import CheckpointError, load_weights, model_weights, read_checkpoint

logger = logging.getLogger('minicls')


class PretrainedInit:
    """mmcv: PretrainedInit. `PretrainedInit(checkpoint, prefix)(module)` loads the
    checkpoint's weights (those under `prefix`, without it) into `module`."""

    def __init__(self, checkpoint, prefix=None):
        self.checkpoint, self.prefix = checkpoint, prefix

    def __call__(self, module):
        load_pretrained(module, self.checkpoint, self.prefix)


def load_pretrained(module, filename, prefix=None):
    """What PretrainedInit does (mmcv: PretrainedInit.__call__). Read `filename` as every
    checkpoint is read here (tensors and plain values only: checkpoint.py's read_checkpoint),
    keep the keys under `prefix` without it (mmcv: _load_checkpoint_with_prefix; 'backbone'
    takes a classifier's backbone), and load them with strict=False: the keys that do not fit
    are named in one warning line."""
    what = f'{prefix} in model' if prefix else 'model'
    logger.info(f'load {what} from: {filename}')       # mmcv's words
    try:
        weights = model_weights(read_checkpoint(filename))
    except CheckpointError as e:
        raise CheckpointError(f'model.backbone.init_cfg: {e}') from None
    if prefix:
        start = prefix if prefix.endswith('.') else prefix + '.'
        weights = OrderedDict((k[len(start):], v) for k, v in weights.items()
                              if k.startswith(start))
        if not weights:
            raise CheckpointError(f"model.backbone.init_cfg: no key of {filename} starts with "
                                  f"{start!r} (prefix={prefix!r}); it is not in the checkpoint")
    try:                               # load_from's rules and warning line (mmcv: load_state_dict)
        load_weights(module, weights, filename, logger=logger)
    except CheckpointError as e:
        raise CheckpointError(f'model.backbone.init_cfg: {e}') from None
