"""Predict the class of an image with a trained checkpoint (mmcls: apis/inference.py
init_model, inference_model; demo/image_demo.py). tools/predict.py is its command line.

    model = init_model('configs/demo_folder.py', 'work_dirs/demo_folder/epoch_5.pth')
    inference_model(model, 'a.jpg')      # {'pred_label': 3, 'pred_score': 0.91, 'pred_class': ...}

`img` is a file path or an HxWx3 uint8 array, put through the config's data.test pipeline as
mmcls puts it: a path gets a LoadImageFromFile in front when the pipeline has none (a CIFAR
config), an array skips it. The file is read as mmcv reads it, BGR; an array goes in as it is
given. A CIFAR config trains on the pickles' RGB arrays, so with one the model sees a file's
channels in the other order than in training, in mmcls as here (its CIFAR Normalize has
to_rgb=False, config.py's to_rgb=True). Keys an image does not have (gt_label) are left out of
the pipeline; mmcls's inference_model fails with a KeyError on them.
"""
import warnings

import numpy as np
import torch

from checkpoint import CheckpointError, model_weights, read_checkpoint
from config import Config, ConfigError, check_config, load_config
from data import Compose, collate
from model import build_classifier
from extras.run.device import resolve_device


def init_model(config, checkpoint=None, device='cpu', options=None):
    """A classifier from a config (a file or a Config) with the checkpoint's weights, in eval
    mode on `device`, with `model.CLASSES` and `model.cfg` (mmcls: init_model). options:
    {'key.sub': value} overrides, as mmcls's merge_from_dict. The file is read by
    checkpoint.py's safe reader, and every weight must fit the config's model."""
    cfg = read_config(config, options)
    device = resolve_device(device)
    model = build_classifier(cfg.model)
    num_classes = cfg.model.head.num_classes
    model.CLASSES = [str(i) for i in range(num_classes)]      # no checkpoint: the labels
    if checkpoint is not None:
        ckpt = read_checkpoint(checkpoint)
        load_strictly(model, checkpoint_weights(ckpt, checkpoint, num_classes), checkpoint)
        model.CLASSES = class_names(ckpt, checkpoint, num_classes)
    model.cfg = cfg                    # mmcls keeps the config on the model too
    return model.to(device).eval()


def read_config(config, options=None):
    if isinstance(config, str):
        cfg = load_config(config)
    elif isinstance(config, Config):
        cfg = config
    else:
        raise TypeError(f'config must be a file name or a Config, not {type(config).__name__}')
    if options:
        from extras.options.cfg_options import apply_cfg_options
        cfg = apply_cfg_options(cfg, [f'{key}={value!r}' for key, value in options.items()])
    check_config(cfg)
    return cfg


def checkpoint_weights(ckpt, filename, num_classes):
    """The state_dict; a head of another size is named with the config's num_classes."""
    try:
        weights = model_weights(ckpt)
    except CheckpointError as e:
        raise CheckpointError(f'{filename}: {e}') from None
    fc = weights.get('head.fc.weight')
    if fc is not None and fc.dim() == 2 and fc.shape[0] != num_classes:
        raise ConfigError(f'{filename} has a head of {fc.shape[0]} classes (head.fc.weight '
                          f'{tuple(fc.shape)}), the config model.head.num_classes={num_classes}')
    return weights


def load_strictly(model, weights, filename):
    """Every key and shape must fit: a model partly loaded (mmcv only warns) would
    predict from random weights."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:              # torch names the keys, over several lines
        text = ' '.join(str(e).split())
        text = ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)   # file content
        raise CheckpointError(f"{filename}: its weights do not fit the config's model "
                              f'({text[:300]})') from None


def class_names(ckpt, filename, num_classes):
    """meta['CLASSES'] (mmcls saves the training set's names there); else ImageNet's names
    for a 1000-class head, as mmcls, and the labels as text for any other head."""
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    names = meta.get('CLASSES')
    if names is None:
        from extras.images.image_folder import ImageNet
        kind = "ImageNet's" if num_classes == 1000 else 'the labels as'
        warnings.warn(f"{filename}: no class names in its meta (CLASSES); using {kind} names")
        return (list(ImageNet.CLASSES) if num_classes == 1000
                else [str(i) for i in range(num_classes)])
    if not (isinstance(names, (list, tuple)) and len(names) == num_classes
            and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f'{filename}: meta CLASSES={str(names)[:80]!r} is not a list of '
                              f'{num_classes} names (its head has {num_classes} classes)')
    return list(names)


def inference_model(model, img):
    """{'pred_label', 'pred_score', 'pred_class'} of one image (mmcls: inference_model)."""
    scores = predict_scores(model, [img])[0]
    label = int(np.argmax(scores))
    return {'pred_label': label, 'pred_score': float(scores[label]),
            'pred_class': model.CLASSES[label]}


def predict_scores(model, imgs, batch_size=1):
    """(N, C) softmax scores of images (paths or arrays), `batch_size` a forward; images of
    different sizes (a pipeline without Resize) go in separate forwards."""
    pipelines = {}
    device = next(model.parameters()).device
    scores = []
    for start in range(0, len(imgs), batch_size):
        samples = []
        for img in imgs[start:start + batch_size]:
            from_file = isinstance(img, str)
            if from_file not in pipelines:
                pipelines[from_file] = test_pipeline(model.cfg, from_file)
            info = dict(img_info=dict(filename=img), img_prefix=None) if from_file else \
                dict(img=check_array(img))
            samples.append(pipelines[from_file](info))
        scores += forward_by_shape(model, samples, device)
    return np.stack(scores) if scores else np.zeros((0, model.cfg.model.head.num_classes))


def forward_by_shape(model, samples, device):
    """One forward per image shape; the scores in the samples' order."""
    out = [None] * len(samples)
    shapes = {}
    for i, sample in enumerate(samples):
        shapes.setdefault(tuple(sample['img'].shape), []).append(i)
    with torch.no_grad():
        for indices in shapes.values():
            batch = collate([samples[i] for i in indices])
            result = model(return_loss=False, img=batch['img'].to(device))
            for i, row in zip(indices, result):
                out[i] = row
    return out


def test_pipeline(cfg, from_file):
    """data.test's pipeline as mmcls's inference_model changes it: LoadImageFromFile first
    for a file, none for an array; without the keys an image has not (gt_label)."""
    steps = [dict(t) for t in cfg.data.test.pipeline
             if from_file or t.get('type') != 'LoadImageFromFile']
    if from_file and steps[0].get('type') != 'LoadImageFromFile':
        steps.insert(0, dict(type='LoadImageFromFile'))
    for step in steps:
        if step.get('type') in ('ToTensor', 'Collect') and 'gt_label' in step.get('keys', ()):
            step['keys'] = [k for k in step['keys'] if k != 'gt_label']
    return Compose([s for s in steps if s.get('keys', True)])


def check_array(img):
    if not (isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3
            and img.dtype == np.uint8):
        what = (f'a {img.dtype} array of shape {img.shape}' if isinstance(img, np.ndarray)
                else f'a {type(img).__name__}')
        raise ConfigError(f'img must be a file path or an HxWx3 uint8 BGR array, not {what}')
    return img

