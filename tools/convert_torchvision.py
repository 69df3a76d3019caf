"""torchvision's ResNet weights -> mmcls's keys, so a torchvision `.pth` fine-tunes here (and in
mmcls), and back (mmcls: tools/convert_models/torchvision_to_mmcls.py, which goes one way only).

    python tools/convert_torchvision.py resnet50-11ad3fa6.pth resnet50_mmcls.pth
    python tools/convert_torchvision.py --to-torchvision work_dirs/r50/epoch_10.pth r50_tv.pth

The layers have the same names in both (conv1, bn1, layer1.0.conv1, ..., downsample.0), so as
mmcls's tool: `fc.*` becomes `head.fc.*` and every other key gets `backbone.` in front; the
result is a bare state_dict, as mmcls's tool writes it, and loads into
BackboneConfig(type='ResNet', depth=...) with --load-from, or with init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='backbone'). torchvision's resnet18-152 match mmcls's ResNet ('pytorch'
style: the stride on the 3x3 conv); wide_resnet and resnext have other widths and groups.
Better than mmcls's tool: the source is read tensors-only (checkpoint.py's read_checkpoint: no
unpickling), and an existing destination is never overwritten.
"""
import argparse
import io
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from checkpoint import CheckpointError, atomic_write, model_weights, read_checkpoint  # noqa: E402
from extras.run.logger import escape  # noqa: E402


def torchvision_to_mmcls(state_dict):
    """mmcls: convert_resnet."""
    if 'conv1.weight' not in state_dict or 'fc.weight' not in state_dict:
        raise CheckpointError('not the state_dict of a torchvision ResNet (no conv1.weight and '
                              f'fc.weight; its first keys: {", ".join(list(state_dict)[:3])})')
    return OrderedDict((('head.' if k.startswith('fc.') else 'backbone.') + k, v)
                       for k, v in state_dict.items())


def mmcls_to_torchvision(state_dict):
    """The inverse: `backbone.` dropped, `head.fc.` -> `fc.` (the neck has no weights)."""
    other = [k for k in state_dict if not k.startswith(('backbone.', 'head.fc.'))]
    if other or 'backbone.conv1.weight' not in state_dict:
        raise CheckpointError('not the state_dict of an mmcls ResNet classifier (keys under '
                              f'backbone. and head.fc.; it has {(other or list(state_dict))[0]!r})')
    return OrderedDict((k[len('backbone.'):] if k.startswith('backbone.') else k[len('head.'):], v)
                       for k, v in state_dict.items())


def convert(src, dst, to_torchvision=False, trusted=False):
    """Read `src` (tensors only, unless `trusted`); write the converted bare state_dict to
    `dst` atomically."""
    if os.path.lexists(dst):
        raise CheckpointError(f'{dst} exists; it is not overwritten (pick another name)')
    try:
        weights = model_weights(read_checkpoint(src, trusted))
        converted = (mmcls_to_torchvision if to_torchvision else torchvision_to_mmcls)(weights)
    except CheckpointError as e:
        raise CheckpointError(str(e) if src in str(e) else f'{src}: {e}') from None
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    atomic_write(dst, buffer.getvalue())
    return converted


def main(argv=None):
    p = argparse.ArgumentParser(description="torchvision ResNet weights <-> mmcls's keys")
    p.add_argument('src', help='a torchvision ResNet .pth (or, with --to-torchvision, an mmcls '
                               'or minicls checkpoint of a ResNet classifier)')
    p.add_argument('dst', help='the file to write (must not exist)')
    p.add_argument('--to-torchvision', action='store_true', help='mmcls keys -> torchvision keys')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow a source that needs unpickling (it can run code)')
    args = p.parse_args(argv)
    try:
        converted = convert(args.src, args.dst, args.to_torchvision, args.trust_checkpoint)
    except (CheckpointError, OSError) as e:
        print(f'error: {escape(str(e))}', file=sys.stderr)     # file content quoted: escaped
        return 2
    print(f'{args.src} -> {args.dst}: {len(converted)} tensors')
    return 0


if __name__ == '__main__':
    sys.exit(main())
