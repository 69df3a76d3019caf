"""mmcls 0.25's random streams, for `random_streams='mmcls'` (a run that draws as mmcls's
does): the same seed and data then give the same run as the real mmcls, weights and log
lines, bit for bit.

minicls's own loader (data.py: DefaultSampler) seeds each epoch's order and each batch's
augmentation from (seed, epoch, batch): a resumed run sees the batches the uninterrupted one
would. mmcls 0.25 (mmcls/datasets/builder.py: build_dataloader) does not; it draws as follows,
and so does this file's `build_dataloader` (train.py picks it by `cfg.random_streams`):
- One process: `DataLoader(shuffle=True)` with no generator, i.e. torch's RandomSampler, whose
  every epoch's order is a randperm seeded by one int64 drawn from torch's *global* generator
  when the epoch's first index is asked for (MmclsRandomSampler). The DataLoader also draws its
  workers' base seed from that global generator whenever it makes an iterator (each epoch
  without workers; once with persistent ones), for the val loader too; hence no generator here.
- Distributed: mmcls's DistributedSampler: a randperm seeded by `seed + epoch` (set_epoch, from
  DistSamplerSeedHook), padded to a multiple of the world size, every world_size-th index.
- Workers: mmcls's worker_init_fn seeds np.random, random and torch with
  `num_workers * rank + worker_id + seed` (data.py's worker_init_fn computes the same), and the
  transforms draw from those streams, never reseeded per batch; persistent workers carry their
  streams from epoch to epoch. Without workers the transforms draw from the main process's
  np.random and random, seeded once by set_random_seed.
- Normalize: mmcv.imnormalize's float arithmetic depends on the opencv installed beside mmcv
  (MmcvNormalize below); `$MINICLS_MMCV_OPENCV` names that version (default 5.1).
So the batches depend on everything drawn before them: a resumed run does not see the batches
the uninterrupted run would (as in mmcls), and the worker count changes the augmentation.
"""
import os
import re
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader

from data import Normalize, check_enough_samples, collate, get_dist_info, worker_init_fn
from config import ConfigError

OPENCV_VAR = 'MINICLS_MMCV_OPENCV'


class MmcvNormalize(Normalize):
    """mmcv.imnormalize under opencv >= 5.1 (`pip install mmcv==1.7.2` brings 5.1 today):
    cv2.subtract(img, mean), then cv2.multiply(img, 1 / std), which opencv 5.1 does in
    float32 for a 3-channel image: (img - mean) * float32(1 / std), 1 ulp off the quotient on
    about a quarter of the values. opencv <= 5.0 (4.x too) rounds the product from double,
    which is data.py's Normalize (a float32 division), and so is a 1-channel image under 5.1.
    Measured against the real mmcv on all 256 values per channel (docs/interop.md)."""

    def __init__(self, mean, std, to_rgb=True):
        super().__init__(mean, std, to_rgb)
        self.inv_std = (1 / self.std.astype(np.float64)).astype(np.float32)

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            img = results[key][..., ::-1] if self.to_rgb else results[key]
            out = img.astype(np.float32)  # a new array
            out -= self.mean
            if out.shape[-1] == 3:
                out *= self.inv_std
            else:
                out /= self.std
            results[key] = out
        results['img_norm_cfg'] = self._img_norm_cfg
        return results


def normalize_class():
    """The Normalize that matches mmcv with the opencv named by $MINICLS_MMCV_OPENCV
    (a version as cv2.__version__ prints it; unset: 5.1)."""
    text = os.environ.get(OPENCV_VAR, '5.1')
    match = re.fullmatch(r'\s*(\d+)\.(\d+)(\.\d+)*\s*', text)
    if not match:
        raise ConfigError(f'{OPENCV_VAR}={text[:40]!r} is not an opencv version; allowed: '
                          "a version as cv2.__version__ prints it, e.g. '5.1.0' or '5.0'")
    return MmcvNormalize if (int(match[1]), int(match[2])) >= (5, 1) else Normalize


def use_mmcv_normalize(dataset):
    """Swap data.py's Normalize in the dataset's pipeline for mmcv's arithmetic."""
    pipeline, cls = getattr(dataset, 'pipeline', None), normalize_class()
    if getattr(dataset, 'batched', False) or not hasattr(pipeline, 'transforms'):
        return              # batched transforms are minicls's own (no mmcls counterpart)
    pipeline.transforms = [cls(t.mean, t.std, t.to_rgb) if type(t) in (Normalize, MmcvNormalize)
                           else t for t in pipeline.transforms]


class MmclsRandomSampler(torch.utils.data.Sampler):
    """torch's RandomSampler(generator=None), as DataLoader(shuffle=True) builds it in mmcls's
    one-process loader. `set_epoch` does nothing (the order comes from torch's global stream);
    `skip_batches` (a mid-epoch resume, set by DistSamplerSeedHook) drops the first batches."""

    def __init__(self, dataset_len, batch_size):
        self.n, self.batch_size, self.skip_batches = dataset_len, batch_size, 0

    def set_epoch(self, epoch):
        pass

    def __iter__(self):           # a generator: the seed is drawn at the first next(), as torch's
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(seed)).tolist()
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        yield from order[start:]

    def __len__(self):
        return self.n


class MmclsDistributedSampler(torch.utils.data.Sampler):
    """mmcls 0.25's DistributedSampler (mmcls/datasets/samplers/distributed_sampler.py): epoch
    e's order is randperm seeded by seed + e, the same on every rank; round_up pads it to
    ceil(n / world_size) per rank by repeating it; rank r takes indices r, r + world_size, ..."""

    def __init__(self, dataset_len, batch_size, num_replicas, rank, shuffle=True, round_up=True,
                 seed=0):
        self.n, self.batch_size = dataset_len, batch_size
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.round_up, self.seed = shuffle, round_up, seed or 0
        self.num_samples = -(-dataset_len // num_replicas)
        self.total_size = self.num_samples * num_replicas if round_up else dataset_len
        self.epoch, self.skip_batches = 0, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator().manual_seed(self.epoch + self.seed)
            indices = torch.randperm(self.n, generator=g).tolist()
        else:
            indices = list(range(self.n))
        if self.round_up:
            indices = (indices * int(self.total_size / len(indices) + 1))[:self.total_size]
        mine = indices[self.rank:self.total_size:self.num_replicas]
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        return iter(mine[start:])

    def __len__(self):
        if self.round_up:
            return self.num_samples
        return len(range(self.rank, self.n, self.num_replicas))


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=False,
                     shuffle=True, round_up=True, seed=None, **kwargs):
    """data.build_dataloader's arguments, mmcls 0.25's streams: its sampler, its worker seeds
    (only when `seed` is given, as mmcls), no generator of the loader's own."""
    rank, world_size = get_dist_info()
    use_mmcv_normalize(dataset)
    if dist:
        check_enough_samples(dataset, world_size)
        batch_size, num_workers = samples_per_gpu, workers_per_gpu
        sampler = MmclsDistributedSampler(len(dataset), batch_size, world_size, rank, shuffle,
                                          round_up, seed)
    else:  # one loader feeds all num_gpus; mmcls: sampler None, shuffle -> RandomSampler
        rank, batch_size, num_workers = 0, num_gpus * samples_per_gpu, num_gpus * workers_per_gpu
        sampler = MmclsRandomSampler(len(dataset), batch_size) if shuffle else None
    init_fn = (partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed)
               if seed is not None else None)
    if getattr(dataset, 'batched', False):
        kwargs.setdefault('collate_fn', partial(collate, pipeline=dataset.pipeline))
    kwargs.setdefault('collate_fn', collate)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      worker_init_fn=init_fn, **kwargs)
