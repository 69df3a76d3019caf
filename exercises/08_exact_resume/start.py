"""Exercise 08: make resume exact.

mmcv's resume restores the weights, the optimizer and the epoch counter, but the data
order of the next epoch comes from torch's global random generator, whose state depends
on everything the process did before. So a run resumed at epoch 3 does not see the
batches the uninterrupted run saw at epoch 3.

Fix `EpochSampler.__iter__` so that the order of epoch e depends only on (seed, e):
iterating epochs 0, 1, 2, 3 and jumping straight to epoch 3 must give the same order at
epoch 3, and different epochs must still differ. data.py's DefaultSampler is the full
version (it also seeds each batch's augmentation).
"""
import torch


class EpochSampler(torch.utils.data.Sampler):
    def __init__(self, n, seed=0):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch):        # called by DistSamplerSeedHook before every epoch
        self.epoch = epoch

    def __iter__(self):
        return iter(torch.randperm(self.n).tolist())

    def __len__(self):
        return self.n
