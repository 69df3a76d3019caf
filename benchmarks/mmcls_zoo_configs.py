"""Which of mmcls 0.25's ResNet-family configs (configs/resnet, resnext, seresnet, wrn in its
wheel) build their model here, and for each that refuses, the one-line reason. The model dict
alone is translated (extras/bridge/mmcls_config.py's Translation) and built on the meta device
(names and shapes, no memory), and mmcls builds the same dict: "builds" says that the two
state_dicts have the same keys, shapes and order. The whole file is then read as
`train.py --config` reads it (its other refusals: data, schedule, runtime).

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcls_zoo_configs.py
        [--configs /tmp/mmref/src/mmcls/.mim/configs]          # prints a table
"""
import argparse
import glob
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import config  # noqa: E402
from config import ConfigError  # noqa: E402
from extras.bridge.mmcls_config import Translation, read_mmcls_config  # noqa: E402
from extras.bridge.mmcls_files import resolve_file  # noqa: E402
from model import build_classifier  # noqa: E402

FOLDERS = ('resnet', 'resnext', 'seresnet', 'wrn')


def default_configs():
    try:
        import mmcls
    except ImportError:
        sys.exit('mmcls is not importable: run with PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps '
                 'or give --configs')
    return os.path.join(os.path.dirname(mmcls.__file__), '.mim', 'configs')


def build_model(path):
    """'builds', or the refusal's one line: the model dict translated and built, and its
    state_dict entries against mmcls's for the same dict."""
    from mmcls.models import build_classifier as mmcls_classifier
    values, origins = resolve_file(path, [], {})
    t = Translation(origins, [], {})
    model_cfg = t.build(config.ModelConfig, values['model'], 'model')
    with torch.device('meta'):
        ours = entries(build_classifier(model_cfg))
        theirs = entries(mmcls_classifier(values['model']))
    if ours != theirs:
        first = next(((a, b) for a, b in zip(ours, theirs) if a != b), None)
        return (f'DIFFERS from mmcls: {len(ours)} entries here, {len(theirs)} in mmcls; '
                f'first difference (here, mmcls): {first}')
    return 'builds'


def entries(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def read_whole(path):
    read_mmcls_config(path, notes=[])
    return 'reads'


def attempt(fn, path):
    try:
        return fn(path)
    except ConfigError as e:
        return f'refused: {e}'


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--configs', help="mmcls's configs folder (default: the installed wheel's)")
    args = p.parse_args()
    root = args.configs or default_configs()
    paths = sorted(f for folder in FOLDERS for f in glob.glob(os.path.join(root, folder, '*.py')))
    built = 0
    for path in paths:
        name = os.path.relpath(path, root)
        model, whole = attempt(build_model, path), attempt(read_whole, path)
        built += model == 'builds'
        print(f'{name:55s} model: {model}')
        if whole != 'reads':
            print(f'{"":55s} file:  {whole}')
    print(f'{built} of {len(paths)} configs build their model')


if __name__ == '__main__':
    main()
