"""Print an mmcls 0.x config as a minicls config file: config.py's `cfg` with `replace(...)` only
where the two differ, so that you migrate once and then edit dataclasses.

    python tools/convert_config.py configs/resnet/resnet18_8xb16_cifar10.py > configs/r18_zoo.py
    python tools/convert_config.py --from-checkpoint work_dirs/r18/epoch_10.pth > configs/r18.py

The mmcls file is read as `python train.py --config X.py` reads it (extras/bridge/mmcls_config.py:
`_base_` files merged, every key translated or refused), so the printed file gives the same
Config. --from-checkpoint reads the config text that mmcls keeps in a checkpoint's
meta['config'] (parsed as data, never run). Keys that mean nothing here become comments on top.
"""
import argparse
import dataclasses
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import config  # noqa: E402
from config import ConfigError  # noqa: E402
from extras.bridge.mmcls_checks import one_line  # noqa: E402
from extras.bridge.mmcls_config import read_mmcls_config, read_mmcls_text, render  # noqa: E402
from extras.run.logger import escape  # noqa: E402


def expression(value, base, base_expr, names, indent=0):
    """Python source for `value`. A dataclass of `base`'s type: `replace(base_expr, ...)` with the
    fields that differ; a new one: `ClassName(...)` with the fields that differ from its
    defaults; a pipeline in `names`: its name; anything else: the plain value."""
    for name, pipeline in names.items():
        if isinstance(value, list) and value == pipeline:
            return name
    if not dataclasses.is_dataclass(value):
        return render(value, indent)
    if base_expr is not None and type(base) is type(value):
        head, args = 'replace(', [base_expr]
    else:
        head, args, base, base_expr = f'{type(value).__name__}(', [], type(value)(), None
    for f in dataclasses.fields(value):
        new, old = getattr(value, f.name), getattr(base, f.name)
        if new != old:
            inner = base_expr and f'{base_expr}.{f.name}'
            args.append(f'{f.name}={expression(new, old, inner, names, indent + 4)}')
    flat = head + ', '.join(args) + ')'
    if '\n' not in flat and len(flat) + indent <= 96:
        return flat
    return head + '\n' + ''.join(f'{" " * (indent + 4)}{a},\n' for a in args) + ' ' * indent + ')'


def convert(cfg, origin, notes=()):
    """The minicls config file (text) that gives `cfg`."""
    names = {}                            # pipelines that differ from config.py's, named
    for split in ('train', 'val', 'test'):
        pipeline = getattr(cfg.data, split).pipeline
        if pipeline != getattr(config.cfg.data, split).pipeline and pipeline not in names.values():
            shared = split == 'val' and pipeline == cfg.data.test.pipeline   # mmcls: test_pipeline
            names['test_pipeline' if shared else f'{split}_pipeline'] = pipeline
    body = expression(cfg, config.cfg, 'cfg', names)
    classes = [n for n in config.__all__ if re.search(rf'\b{n}\(', body)
               and dataclasses.is_dataclass(getattr(config, n))]
    lines = ['"""Converted from an mmcls 0.x config by tools/convert_config.py:',
             f'{origin}',
             '',
             "config.py's `cfg` (the seed article's ResNet-50 config), changed where the mmcls",
             'config differs. Run it with: python train.py --config <this file>',
             '"""']
    lines += [f'# {note}' for note in notes]
    lines += [f'from config import {", ".join(classes + ["cfg", "replace"])}', '']
    lines += [f'{name} = {render(pipeline)}' for name, pipeline in names.items()]
    return '\n'.join(lines + ['', f'cfg = {body}', ''])


def checkpoint_config(path, notes):
    """An mmcls checkpoint's config: the text in meta['config'] (mmcv's Config.pretty_text)."""
    import torch
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)   # plain values only
    except Exception as e:                # a missing file, not a checkpoint, objects in it
        first = one_line((str(e).strip().splitlines() or [''])[0], 200)   # the file's words too
        raise ConfigError(f'{path} cannot be read as a checkpoint ({type(e).__name__}: {first})') \
            from None
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    text = meta.get('config') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        raise ConfigError(f"{path} has no meta['config'] text, where mmcls keeps its config")
    if text.lstrip().startswith('{'):
        raise ConfigError(f"{path}: meta['config'] is JSON, a minicls checkpoint's; "
                          'train.py --resume reads it as it is')
    return read_mmcls_text(text, f"{path}: meta['config']", notes)


def main(argv=None):
    p = argparse.ArgumentParser(description='Print an mmcls 0.x config as a minicls config file.')
    p.add_argument('config', nargs='?', help='an mmcls 0.x config file (with its _base_ files)')
    p.add_argument('--from-checkpoint', metavar='PTH',
                   help="an mmcls checkpoint: its meta['config']")
    args = p.parse_args(argv)
    if (args.config is None) == (args.from_checkpoint is None):
        p.error('give an mmcls config file or --from-checkpoint PTH (one of them)')
    notes = []
    try:
        if args.config:
            cfg, origin = read_mmcls_config(args.config, notes), args.config
        else:
            cfg, origin = checkpoint_config(args.from_checkpoint, notes), args.from_checkpoint
    except ConfigError as e:
        print(f'error: {escape(str(e))}', file=sys.stderr)     # file content quoted: escaped
        return 2
    sys.stdout.write(convert(cfg, origin, notes))
    return 0


if __name__ == '__main__':
    sys.exit(main())
