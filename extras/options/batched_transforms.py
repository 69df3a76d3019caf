"""Batched transforms: the pipeline run once per batch, in the loader's collate (not in mmcls).

`DatasetConfig.batched=True` stacks a batch's raw images, results['img'] (N, H, W, C) uint8
and results['gt_label'] (N,), and runs the same pipeline config on it with these classes.
Each image still gets its own crop offsets and its own flip, drawn from np.random (a
different stream from the per-image `random` draws, the same distribution). data.py's
BATCH_PIPELINES table names these classes; Compose picks it when asked for `batched`.
"""
import numpy as np
import torch

from config import ConfigError
from data import Normalize, RandomCrop, RandomFlip, ToTensor

class BatchRandomCrop(RandomCrop):
    """RandomCrop on (N, H, W, C): pad the batch once, then cut each image's own window."""

    def __init__(self, size, padding=None, pad_if_needed=False, pad_val=0, padding_mode='constant'):
        super().__init__(size, padding, pad_if_needed, pad_val, padding_mode)
        if pad_if_needed or padding_mode != 'constant':
            raise ConfigError(f'RandomCrop: a batched pipeline takes padding and pad_val only, '
                              f'not pad_if_needed={pad_if_needed} or padding_mode={padding_mode!r}; '
                              'use batched=False')

    def __call__(self, results):
        imgs, (th, tw) = results['img'], self.size
        left, top, right, bottom = self._pad
        n, h, w = imgs.shape[:3]
        ph, pw = h + top + bottom, w + left + right            # the padded size
        if ph < th or pw < tw:
            raise ConfigError(f'RandomCrop: the padded image ({ph}x{pw}) is smaller than '
                              f'size {self.size}')
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
    """RandomFlip on (N, H, W, C): each image (with its twins in other img_fields) flipped
    with probability flip_prob."""

    def __call__(self, results):
        flip = np.random.rand(len(results['img'])) < self.flip_prob
        results['flip'], results['flip_direction'] = flip, self.direction
        chosen = np.flatnonzero(flip)
        axis = 2 if self.direction == 'horizontal' else 1
        for key in results.get('img_fields', ['img']):
            imgs = results[key]     # the batch's own array (stacked or cropped): safe to write
            if len(chosen):         # np.take, reversed: twice as fast as [::-1] on 3-byte pixels
                reverse = np.arange(imgs.shape[axis] - 1, -1, -1)
                imgs[chosen] = np.take(imgs[chosen], reverse, axis=axis)
        return results


class BatchNormalize(Normalize):
    """Normalize on (N, H, W, C). The work is done on (N, C, H, W) planes, and an (N, H, W, C)
    view of them is handed on: numpy is slow along a 3-long last axis, and ImageToTensor
    then finds the channels-first layout it wants and copies nothing."""

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            imgs = results[key].transpose(0, 3, 1, 2)
            out = np.ascontiguousarray(imgs[:, ::-1] if self.to_rgb else imgs).astype(np.float32)
            out -= self.mean[:, None, None]
            out /= self.std[:, None, None]    # float32 division: mmcv.imnormalize, opencv <= 5.0
            results[key] = out.transpose(0, 2, 3, 1)
        results['img_norm_cfg'] = self._img_norm_cfg
        return results


class BatchImageToTensor(ToTensor):
    """(N, H, W, C) array -> contiguous (N, C, H, W) tensor."""

    def __call__(self, results):
        for key in self.keys:
            img = results[key] if results[key].ndim == 4 else results[key][..., None]
            results[key] = torch.from_numpy(np.ascontiguousarray(img.transpose(0, 3, 1, 2)))
        return results
