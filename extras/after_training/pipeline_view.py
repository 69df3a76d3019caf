"""Samples of a dataset before and after its pipeline, as pictures (mmcls 0.25:
tools/visualizations/vis_pipeline.py).

    for name, picture in pipeline_pictures(cfg, 'train', number=4, mode='concat'):
        save_png(picture, name)

As mmcls's tool: the transforms named in `skip_type` (default ToTensor, Normalize,
ImageToTensor, Collect: they change the format, not the picture) are left out; the dataset
reads the images (with LoadImageFromFile, if the pipeline starts with it) and the other
transforms run one at a time, so that 'pipeline' mode shows each step. A transform that is
not skipped is shown too: a CHW tensor turns back into HWC, and a normalised image is
un-normalised with the Normalize's own mean, std and to_rgb (mmcls would cast the floats to
uint8). Colours: images read from files are BGR (mmcv's order) and CIFAR arrays RGB; both are
shown in RGB. The random transforms draw from `random` and `np.random`, seeded with `seed`, so
the same command gives the same pictures.
"""
import os
import random

import numpy as np
import torch

from data import Compose
from extras.after_training.common import ToolError
from extras.after_training.grid import captioned, row, to_pil

SKIP_TYPE = ('ToTensor', 'Normalize', 'ImageToTensor', 'Collect')     # mmcls's default
MODES = ('original', 'transformed', 'concat', 'pipeline')


def split_pipeline(pipeline, skip_type=SKIP_TYPE):
    """(the loading part, the rest without the skipped transforms) of a pipeline's dicts."""
    kept = [t for t in pipeline if t.get('type') not in skip_type]
    if kept and kept[0].get('type') == 'LoadImageFromFile':
        return kept[:1], kept[1:]
    return [], kept


def display_image(results, norm_cfg):
    """results['img'] as an HxWx3 array in the source's channel order, 0..255."""
    img = results['img']
    if isinstance(img, torch.Tensor):
        img = img.numpy()
        img = img.transpose(1, 2, 0) if img.ndim == 3 else img
    img = np.asarray(img)
    if norm_cfg is not None and img.dtype != np.uint8:     # un-normalise, then un-swap
        img = img * norm_cfg['std'] + norm_cfg['mean']
        img = img[..., ::-1] if norm_cfg['to_rgb'] else img
    return img


def steps_of(results, transforms):
    """[(step name, image)] for the source and after each transform."""
    steps, norm_cfg = [('src', display_image(results, None).copy())], None
    for t in transforms:
        results = t(results)
        norm_cfg = results.get('img_norm_cfg', norm_cfg)     # Collect may drop it
        steps.append((type(t).__name__, display_image(results, norm_cfg).copy()))
    return steps


def pipeline_pictures(cfg, phase='train', number=1, mode='concat', skip_type=SKIP_TYPE,
                      seed=0):
    """Yield (file name, PIL image) for the first `number` samples of data.<phase>."""
    from data import build_dataset
    if mode not in MODES:
        raise ToolError(f'--mode {mode!r} is not known; valid: {", ".join(MODES)}')
    if number < 1:
        raise ToolError(f'--number {number} must be >= 1')
    split = getattr(cfg.data, phase)
    dataset = build_dataset(split)              # with its whole pipeline: checked as training
    load, rest = split_pipeline(split.pipeline, skip_type)
    dataset.pipeline = Compose(load, allow_empty=True)
    transforms = Compose(rest, allow_empty=True).transforms
    bgr = bool(load)                            # LoadImageFromFile reads BGR, as mmcv
    random.seed(seed)
    np.random.seed(seed)
    for i in range(min(number, len(dataset))):
        results = dataset[i]
        label = dataset.CLASSES[int(results['gt_label'])] if dataset.CLASSES else ''
        steps = steps_of(results, transforms)
        if mode == 'original':
            steps = steps[:1]
        elif mode == 'transformed':
            steps = [('transformed', steps[-1][1])]
        elif mode == 'concat':
            steps = [steps[0], ('transformed', steps[-1][1])]
        tiles = [captioned(to_pil(img, bgr), [step, str(img.shape), f'label: {label}'])
                 for step, img in steps]
        filename = results.get('filename')     # mmcls names the picture after the file
        stem = '' if filename is None else '_' + os.path.splitext(os.path.basename(filename))[0]
        yield f'{i}{stem}.png', row(tiles)
