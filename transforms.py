"""Pipeline transforms (mmcls: datasets/pipelines/transforms.py, formatting.py, compose.py).

A pipeline is a list of dicts, as in an mmcls config:

    pipeline = Compose([dict(type='RandomCrop', size=32, padding=4),
                        dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
                        dict(type='Normalize', mean=[...], std=[...], to_rgb=True),
                        dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['gt_label']),
                        dict(type='Collect', keys=['img', 'gt_label'])])
    results = pipeline({'img': HWC uint8 array, 'gt_label': np.int64})

Each transform takes the results dict and returns it.
"""
import inspect
import random

import numpy as np
import torch

# Like mmcls's, the transforms draw from `random` (RandomCrop) and `np.random` (RandomFlip),
# both seeded in every DataLoader worker by data.py's worker_init_fn.

class RandomCrop:
    """Pad, then crop a `size` window at a random place. mmcls: RandomCrop.

    padding: int, (left/right, top/bottom) or (left, top, right, bottom), filled with pad_val;
    pad_if_needed pads a too small image on both sides. Here padding_mode ('constant', 'edge',
    'reflect', 'symmetric') applies to all padding; mmcls applies it to pad_if_needed's only.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, pad_val=0, padding_mode='constant'):
        if padding_mode not in ('constant', 'edge', 'reflect', 'symmetric'):
            raise ValueError(f'RandomCrop: padding_mode {padding_mode!r} is not one of '
                             'constant, edge, reflect, symmetric')
        self.size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        self.padding, self.pad_if_needed, self.pad_val = padding, pad_if_needed, pad_val
        self.padding_mode = padding_mode
        pad = padding or 0  # as (left, top, right, bottom):
        self._pad = (pad,) * 4 if isinstance(pad, int) else tuple(pad) * (4 // len(pad))
        if len(self._pad) != 4:
            raise ValueError(f'RandomCrop: padding {padding!r} is not an int, nor 2 or 4 of them')

    def __call__(self, results):
        img, (th, tw) = results['img'], self.size
        left, top, right, bottom = self._pad
        if self.pad_if_needed:
            extra_h = max(th - img.shape[0] - top - bottom, 0)
            extra_w = max(tw - img.shape[1] - left - right, 0)
            left, top, right, bottom = left + extra_w, top + extra_h, right + extra_w, bottom + extra_h
        h, w = img.shape[0] + top + bottom, img.shape[1] + left + right  # the padded size
        if h < th or w < tw:
            raise ValueError(f'RandomCrop: the padded image ({h}x{w}) is smaller than size {self.size}')
        ymin = random.randint(0, h - th) if (h, w) != (th, tw) else 0  # `random`, as mmcls's RandomCrop
        xmin = random.randint(0, w - tw) if (h, w) != (th, tw) else 0
        if self.padding_mode != 'constant':
            pad = ((top, bottom), (left, right)) + ((0, 0),) * (img.ndim - 2)
            padded = np.pad(img, pad, self.padding_mode)
            results['img'] = padded[ymin:ymin + th, xmin:xmin + tw]
            return results
        # Fill the window with pad_val and copy in the part of the image that falls inside it:
        # the same pixels as padding the whole image, with no padded copy made.
        out = np.full((th, tw) + img.shape[2:], self.pad_val, img.dtype)
        y0, y1 = max(ymin, top), min(ymin + th, top + img.shape[0])
        x0, x1 = max(xmin, left), min(xmin + tw, left + img.shape[1])
        if y1 > y0 and x1 > x0:
            out[y0 - ymin:y1 - ymin, x0 - xmin:x1 - xmin] = img[y0 - top:y1 - top, x0 - left:x1 - left]
        results['img'] = out
        return results

    def __repr__(self):
        return f'RandomCrop(size={self.size}, padding={self.padding})'


class RandomFlip:
    """Flip the image with probability flip_prob, 'horizontal' or 'vertical'. mmcls: RandomFlip."""

    def __init__(self, flip_prob=0.5, direction='horizontal'):
        if not 0 <= flip_prob <= 1:
            raise ValueError(f'RandomFlip: flip_prob {flip_prob} is not in [0, 1]')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"RandomFlip: direction {direction!r} is not 'horizontal' or 'vertical'")
        self.flip_prob, self.direction = flip_prob, direction

    def __call__(self, results):
        results['flip'], results['flip_direction'] = bool(np.random.rand() < self.flip_prob), self.direction
        if results['flip']:  # a view, no copy: Normalize or ImageToTensor copies anyway
            img = results['img']
            results['img'] = img[:, ::-1] if self.direction == 'horizontal' else img[::-1]
        return results

    def __repr__(self):
        return f'RandomFlip(flip_prob={self.flip_prob}, direction={self.direction!r})'


class Normalize:
    """(img - mean) / std, float32; to_rgb reverses the channels first. mmcv: imnormalize."""

    def __init__(self, mean, std, to_rgb=True):
        self.mean, self.std, self.to_rgb = np.array(mean, np.float32), np.array(std, np.float32), to_rgb
        self._img_norm_cfg = dict(mean=self.mean, std=self.std, to_rgb=to_rgb)
        self._full = (None, None, None)  # (image shape, mean and 1 / std expanded to it)

    def __call__(self, results):
        img = results['img'][..., ::-1] if self.to_rgb else results['img']
        if self._full[0] != img.shape:
            # numpy is slow to broadcast 3 values over an HWC image (its inner loop is 3 long),
            # so mean and 1 / std are expanded to the image's shape, once per shape.
            self._full = (img.shape, np.broadcast_to(self.mean, img.shape).copy(),
                          np.broadcast_to(1 / self.std, img.shape).copy())
        out = img.astype(np.float32)  # a new array
        out -= self._full[1]
        out *= self._full[2]
        results['img'], results['img_norm_cfg'] = out, self._img_norm_cfg
        return results

    def __repr__(self):
        mean, std = np.round(self.mean.astype(float), 4).tolist(), np.round(self.std.astype(float), 4).tolist()
        return f'Normalize(mean={mean}, std={std}, to_rgb={self.to_rgb})'


def to_tensor(data):
    """A tensor from a tensor, array (sharing memory), list, int or float. mmcls: to_tensor."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data)
    if isinstance(data, (list, tuple)):
        return torch.tensor(data)
    if isinstance(data, int):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f'{type(data).__name__} cannot be converted to a tensor')


class ToTensor:
    """mmcls: ToTensor."""

    def __init__(self, keys):
        self.keys = keys

    def __call__(self, results):
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results

    def __repr__(self):
        return f'{type(self).__name__}(keys={self.keys})'


class ImageToTensor(ToTensor):
    """HWC array -> contiguous CHW tensor (a flipped view cannot be shared). mmcls: ImageToTensor."""

    def __call__(self, results):
        for key in self.keys:
            img = results[key] if results[key].ndim == 3 else results[key][..., None]
            results[key] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return results


class Collect:
    """Keep only `keys`. mmcls: Collect.

    mmcls also gathers `meta_keys` (file name, flip, img_norm_cfg, ...) into 'img_metas', in an
    mmcv DataContainer that collate leaves alone. The classifier never reads them, so the
    default here gathers none; meta_keys that are given go into a plain dict 'img_metas'.
    """

    def __init__(self, keys, meta_keys=()):
        self.keys, self.meta_keys = keys, meta_keys

    def __call__(self, results):
        data = {key: results[key] for key in self.keys}
        if self.meta_keys:
            data['img_metas'] = {key: results[key] for key in self.meta_keys if key in results}
        return data

    def __repr__(self):
        return f'Collect(keys={self.keys}, meta_keys={self.meta_keys})'


PIPELINES = {t.__name__: t for t in (RandomCrop, RandomFlip, Normalize, ImageToTensor, ToTensor, Collect)}

# ---- Batched: the same transforms, run once on a whole batch -----------------------------
# `DatasetConfig.batched=True` runs the pipeline in the collate step on the stacked batch,
# results['img'] (N, H, W, C) uint8 and results['gt_label'] (N,), instead of once per image.
# Each image still gets its own crop offsets and its own flip, drawn from np.random (a
# different stream from the per-image `random` draws, the same distribution). Not in mmcls.


class BatchRandomCrop(RandomCrop):
    """RandomCrop on (N, H, W, C): pad the batch once, then cut each image's own window."""

    def __init__(self, size, padding=None, pad_if_needed=False, pad_val=0, padding_mode='constant'):
        super().__init__(size, padding, pad_if_needed, pad_val, padding_mode)
        if pad_if_needed or padding_mode != 'constant':
            raise ValueError(f'RandomCrop: a batched pipeline takes padding and pad_val only, not '
                             f'pad_if_needed={pad_if_needed} or padding_mode={padding_mode!r}; use batched=False')

    def __call__(self, results):
        imgs, (th, tw) = results['img'], self.size
        left, top, right, bottom = self._pad
        n, h, w = imgs.shape[:3]
        ph, pw = h + top + bottom, w + left + right            # the padded size
        if ph < th or pw < tw:
            raise ValueError(f'RandomCrop: the padded image ({ph}x{pw}) is smaller than size {self.size}')
        padded = np.full((n, ph, pw) + imgs.shape[3:], self.pad_val, imgs.dtype)
        padded[:, top:top + h, left:left + w] = imgs
        ys = np.random.randint(0, ph - th + 1, n)
        xs = np.random.randint(0, pw - tw + 1, n)
        out = np.empty((n, th, tw) + imgs.shape[3:], imgs.dtype)
        for i, (y, x) in enumerate(zip(ys.tolist(), xs.tolist())):   # a 3 KB copy each: the loop is cheap
            out[i] = padded[i, y:y + th, x:x + tw]
        results['img'] = out
        return results


class BatchRandomFlip(RandomFlip):
    """RandomFlip on (N, H, W, C): each image flipped with probability flip_prob."""

    def __call__(self, results):
        imgs = results['img']
        flip = np.random.rand(len(imgs)) < self.flip_prob
        results['flip'], results['flip_direction'] = flip, self.direction
        chosen = np.flatnonzero(flip)
        if len(chosen):     # imgs is this batch's own array (stacked or cropped): safe to write
            axis = 2 if self.direction == 'horizontal' else 1
            # np.take with a reversed index: twice as fast as a [::-1] copy of 3-byte pixels
            imgs[chosen] = np.take(imgs[chosen], np.arange(imgs.shape[axis] - 1, -1, -1), axis=axis)
        return results


class BatchNormalize(Normalize):
    """Normalize on (N, H, W, C). The work is done on (N, C, H, W) planes, and an (N, H, W, C)
    view of them is handed on: numpy is slow along a 3-long last axis, and ImageToTensor
    then finds the channels-first layout it wants and copies nothing."""

    def __call__(self, results):
        imgs = results['img'].transpose(0, 3, 1, 2)
        out = np.ascontiguousarray(imgs[:, ::-1] if self.to_rgb else imgs).astype(np.float32)
        out -= self.mean[:, None, None]
        out *= (1 / self.std)[:, None, None]
        results['img'], results['img_norm_cfg'] = out.transpose(0, 2, 3, 1), self._img_norm_cfg
        return results


class BatchImageToTensor(ToTensor):
    """(N, H, W, C) array -> contiguous (N, C, H, W) tensor."""

    def __call__(self, results):
        for key in self.keys:
            img = results[key] if results[key].ndim == 4 else results[key][..., None]
            results[key] = torch.from_numpy(np.ascontiguousarray(img.transpose(0, 3, 1, 2)))
        return results


# ToTensor and Collect work on a batch as they are.
BATCH_PIPELINES = dict(PIPELINES, RandomCrop=BatchRandomCrop, RandomFlip=BatchRandomFlip,
                       Normalize=BatchNormalize, ImageToTensor=BatchImageToTensor)


class Compose:
    """Chain transforms, given as callables or as dicts: dict(type='RandomCrop', size=32). mmcls: Compose."""

    def __init__(self, transforms, batched=False):
        table = BATCH_PIPELINES if batched else PIPELINES
        self.transforms = [t if callable(t) else self._build(t, table) for t in transforms]

    @staticmethod
    def _build(cfg, table):
        args = dict(cfg)
        name = args.pop('type', None)
        if name not in table:
            raise ValueError(f'pipeline transform type {name!r} is unknown; valid: {", ".join(table)}')
        signature = inspect.signature(table[name])  # name bad arguments here, not deep in __init__
        unknown = [arg for arg in args if arg not in signature.parameters]
        missing = [p.name for p in signature.parameters.values() if p.default is p.empty and p.name not in args]
        if unknown or missing:
            raise ValueError(f'pipeline transform {name}: unknown arguments {unknown}, missing arguments '
                             f'{missing}; it takes {signature}')
        return table[name](**args)

    def __call__(self, results):
        for t in self.transforms:
            results = t(results)
        return results

    def __repr__(self):
        return 'Compose(\n' + ''.join(f'    {t}\n' for t in self.transforms) + ')'
