"""What the real mmcls 0.25 / mmcv 1.7.2 give for small, fixed inputs of the image and config
code: crop boxes, sizes, offsets and pixels of tiny images, class lists, a config's notes and
load_checkpoint's `strict`. The same cases run on either side:

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python tests/mmcls_golden_ref.py --side mmcls \
        --record tests/golden                            # writes the four golden files
    python tests/mmcls_golden_ref.py --side minicls       # prints minicls's, one JSON line

The tests compare minicls with the golden files on every run, with no mmcv installed
(test_image_pipeline.py, test_image_folder.py, test_mmcls_config.py, test_finetune.py); with
$MMREF set they run this script on the real mmcls and check that the golden files are what it
gives today (and MMREF_RECORD=1 rewrites them).
"""
import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import warnings
from types import SimpleNamespace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ('image_pipeline_mmcls.json', 'image_datasets_mmcls.json', 'mmcls_config_notes.json',
         'load_checkpoint_mmcv.json')
# non-square, small (boxes as wide or as tall as the image are drawn often), and thin ones
SHAPES = [(8, 10), (10, 8), (6, 6), (5, 13), (13, 5), (40, 10), (10, 40)]


def side_classes(side):
    if side == 'mmcls':
        from mmcls.datasets import CustomDataset, ImageNet
        from mmcls.datasets.pipelines import (CenterCrop, LoadImageFromFile, RandomResizedCrop,
                                              Resize)
    else:
        sys.path.insert(0, ROOT)
        from extras.images.image_folder import CustomDataset, ImageNet
        from extras.images.image_pipeline import (CenterCrop, LoadImageFromFile,
                                                  RandomResizedCrop, Resize)
    return SimpleNamespace(CustomDataset=CustomDataset, ImageNet=ImageNet, CenterCrop=CenterCrop,
                           LoadImageFromFile=LoadImageFromFile, Resize=Resize,
                           RandomResizedCrop=RandomResizedCrop)


def tiny(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def image_pipeline(m):
    """Boxes RandomResizedCrop draws (8 a seed, in a row), its output pixels, Resize's sizes
    and pixels, CenterCrop's crops of an arange image (its values give the offsets)."""
    out = {'rrc_boxes': [], 'rrc_pixels': [], 'resize': [], 'center_crop': []}
    for (h, w) in SHAPES:
        for scale, ratio in (((0.08, 1.0), (3 / 4, 4 / 3)), ((0.5, 1.0), (0.5, 2.0))):
            for seed in range(2):
                random.seed(seed)
                boxes = [list(m.RandomResizedCrop.get_params(np.zeros((h, w, 3), np.uint8),
                                                             scale, ratio)) for _ in range(8)]
                out['rrc_boxes'].append(dict(shape=[h, w], scale=scale, ratio=ratio, seed=seed,
                                             boxes=boxes))
    for (h, w), size in (((7, 9), (4, 5)), ((9, 7), 3)):
        random.seed(1)
        img = m.RandomResizedCrop(size)({'img': tiny(h, w, 0)})['img']
        out['rrc_pixels'].append(dict(shape=[h, w], size=size, img=img.tolist()))
    for (h, w) in ((7, 10), (10, 7), (3, 5), (5, 3), (6, 6)):
        for side in ('short', 'long', 'height', 'width'):
            img = m.Resize((4, -1), adaptive_side=side)({'img': tiny(h, w, 2)})['img']
            out['resize'].append(dict(shape=[h, w], size=[4, -1], adaptive_side=side,
                                      out_shape=list(img.shape),
                                      img=img.tolist() if (h, w) == (7, 10) else None))
    img = m.Resize((3, 4))({'img': tiny(5, 7, 3)})['img']
    out['resize'].append(dict(shape=[5, 7], size=[3, 4], adaptive_side='short',
                              out_shape=list(img.shape), img=img.tolist()))
    for (h, w) in ((7, 9), (8, 11), (9, 13)):
        for crop in ((4, 4), (2, 6), 3):
            img = np.arange(h * w).reshape(h, w)
            got = m.CenterCrop(crop)({'img': img})['img']
            out['center_crop'].append(dict(shape=[h, w], crop_size=crop, img=got.tolist()))
    try:              # an image smaller than the window: mmcls keeps it whole
        kept = m.CenterCrop((4, 4))({'img': np.arange(6).reshape(2, 3)})['img'].tolist()
    except Exception as e:
        kept = type(e).__name__
    out['center_crop_smaller'] = dict(shape=[2, 3], crop_size=[4, 4], img=kept)
    return out


def write_png(path, array, mode=None):
    from PIL import Image
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = Image.fromarray(array)
    (img.convert(mode) if mode else img).save(path, 'PNG')


def image_datasets(m, tmp):
    """Class lists and samples of folders and ann_files, and LoadImageFromFile's pixels."""
    out = {}
    root = os.path.join(tmp, 'folder')
    for name in ('dog/b.PNG', 'dog/sub/a.png', 'cat/1.png', 'cat/.hidden.png', '.cache/x.png',
                 '__MACOSX/cat/._1.png', '..old/y.png', 'cat/notes.txt'):
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        write_png(os.path.join(root, name), tiny(2, 3, len(name)))
    os.makedirs(os.path.join(root, 'empty'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ds = m.CustomDataset(data_prefix=root, pipeline=[])
    out['folder'] = dict(classes=list(ds.CLASSES), samples=[
        [i['img_info']['filename'], int(i['gt_label'])] for i in ds.data_infos])
    with open(os.path.join(tmp, 'crlf.txt'), 'wb') as f:
        f.write(b'bus\r\ncar\r\n')
    with open(os.path.join(tmp, 'ann.txt'), 'w') as f:
        f.write('..old/y.png 1\ncat/1.png 0\n')
    for key, kwargs in (('classes_file_crlf', dict(classes=os.path.join(tmp, 'crlf.txt'))),
                        ('classes_tuple', dict(classes=('bus', 'car'))),
                        ('classes_list', dict(classes=['bus', 'car']))):
        ds = m.CustomDataset(data_prefix=root, pipeline=[], ann_file=os.path.join(tmp, 'ann.txt'),
                             **kwargs)
        out[key] = dict(classes=list(ds.CLASSES), type=type(ds.CLASSES).__name__,
                        samples=[[i['img_info']['filename'], int(i['gt_label'])]
                                 for i in ds.data_infos])
    ds = m.ImageNet(data_prefix=root, pipeline=[], classes=['cat', 'dog'],
                    ann_file=os.path.join(tmp, 'ann.txt'))
    out['imagenet_given_classes'] = list(ds.CLASSES)
    names = m.ImageNet.CLASSES
    out['imagenet_class_attribute'] = None if names is None else dict(
        count=len(names), first=names[0], last=names[-1],
        sha256=hashlib.sha256('\n'.join(names).encode()).hexdigest())
    rgb = np.array([[[10, 20, 30], [40, 50, 60], [70, 80, 90]],
                    [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], np.uint8)
    pixels = {}
    for mode in ('RGB', 'RGBA', 'L', 'P'):
        write_png(os.path.join(tmp, 'load', f'{mode}.png'), rgb, mode)
        r = m.LoadImageFromFile()({'img_prefix': os.path.join(tmp, 'load'),
                                   'img_info': {'filename': f'{mode}.png'}})
        pixels[mode] = dict(shape=list(r['img'].shape), img=r['img'].tolist())
    out['load_image'] = pixels
    return out


def config_notes(side, tmp):
    """An empty _deprecation_ (mmcv warns all the same), and a helper name (data_root) that a
    _base_ file sets and reads, the top file does not: what mmcv's Config.fromfile resolves
    and warns, or minicls's resolve_file and notes."""
    r18 = os.path.join(ROOT, 'tests', 'fixtures', 'mmcls', 'resnet', 'resnet18_8xb16_cifar10.py')
    with open(os.path.join(tmp, 'base.py'), 'w') as f:
        f.write(f"_base_ = [{r18!r}]\ndata_root = 'data/here'\n"
                "data = dict(train=dict(data_prefix=data_root))\n")
    with open(os.path.join(tmp, 'child.py'), 'w') as f:
        f.write("_base_ = ['base.py']\n_deprecation_ = dict()\n"
                "data = dict(val=dict(data_prefix='v'))\n")
    path = os.path.join(tmp, 'child.py')
    if side == 'mmcls':
        from mmcv import Config
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            resolved = Config.fromfile(path)._cfg_dict.to_dict()
        notes = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    else:
        from extras.bridge.mmcls_config import read_mmcls_config
        from extras.bridge.mmcls_files import resolve_file
        resolved, notes = resolve_file(path, [], {})[0], []
        read_mmcls_config(path, notes)
    text = json.dumps(resolved, default=str)
    out = dict(data_root=resolved.get('data_root'), data_prefix={
        split: resolved['data'][split]['data_prefix'] for split in ('train', 'val', 'test')},
        resolved_sha256=hashlib.sha256(text.encode()).hexdigest(), notes=notes)
    return json.loads(json.dumps(out).replace(tmp, '<dir>'))


def load_checkpoint_strict(side, tmp):
    """A checkpoint with a key missing and one unexpected: what strict=True and strict=False do."""
    import contextlib
    import io
    import torch
    if side == 'mmcls':
        from mmcv.runner import load_checkpoint
    else:
        from checkpoint import load_checkpoint
    torch.save({'state_dict': {'0.weight': torch.ones(2, 2), 'extra': torch.zeros(1)}},
               os.path.join(tmp, 'part.pth'))
    out = {}
    for strict in (True, False):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2))
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter('ignore')         # mmcv prints what does not match
                load_checkpoint(model, os.path.join(tmp, 'part.pth'), strict=strict)
            out[f'strict={strict}'] = dict(loaded=model[0].weight.tolist())
        except Exception as e:
            out[f'strict={strict}'] = dict(raises=type(e).__name__)
    return out


def all_cases(side):
    m = side_classes(side)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, 'd'))
        os.makedirs(os.path.join(tmp, 'c'))
        os.makedirs(os.path.join(tmp, 'k'))
        return dict(zip(FILES, (image_pipeline(m), image_datasets(m, os.path.join(tmp, 'd')),
                                config_notes(side, os.path.join(tmp, 'c')),
                                load_checkpoint_strict(side, os.path.join(tmp, 'k')))))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--side', choices=['mmcls', 'minicls'], required=True)
    p.add_argument('--record', metavar='FOLDER', help='write the golden files there')
    args = p.parse_args()
    cases = all_cases(args.side)
    if not args.record:
        return print(json.dumps(cases))
    for name, value in cases.items():
        with open(os.path.join(args.record, name), 'w') as f:
            json.dump(dict(recorded_by='tests/mmcls_golden_ref.py --side mmcls --record '
                                       '(mmcv 1.7.2, mmcls 0.25.0)', cases=value), f,
                      separators=(',', ':'))
            f.write('\n')


if __name__ == '__main__':
    main()
