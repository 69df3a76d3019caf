"""mmcls 0.25's random streams, for `random_streams='mmcls'` (issue 23, item 6): the same seed and
data then give the same run as the real mmcls, weights and log lines, bit for bit.

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
So the batches depend on everything drawn before them: a resumed run does not see the batches
the uninterrupted run would (as in mmcls), and the worker count changes the augmentation.
"""
from functools import partial

import torch
from torch.utils.data import DataLoader

from data import check_enough_samples, collate, get_dist_info, worker_init_fn


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
        self.n, self.batch_size, self.num_replicas, self.rank = dataset_len, batch_size, num_replicas, rank
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
        return self.num_samples if self.round_up else len(range(self.rank, self.n, self.num_replicas))


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=False,
                     shuffle=True, round_up=True, seed=None, **kwargs):
    """data.build_dataloader's arguments, mmcls 0.25's streams: its sampler, its worker seeds
    (only when `seed` is given, as mmcls), no generator of the loader's own."""
    rank, world_size = get_dist_info()
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
