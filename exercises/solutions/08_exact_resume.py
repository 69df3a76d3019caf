"""Reference solution of exercise 08.

The order of epoch e comes from a generator of our own, seeded with seed + e: the same in
any process, whatever ran before, and the global generators are left alone (resume has just
restored them; reseeding one, e.g. torch.manual_seed(seed + epoch), would throw that away,
and dropout after a mid-epoch resume would differ). A mid-epoch checkpoint saves the random
states as they are after `batches_done` batches; the resumed run must not train on those
batches again, so the sampler skips them: that is why iter_N.pth records batches_done.
(seed + e is enough here. data.py's DefaultSampler hashes the pair (seed, e) instead,
`epoch_seed`, because with seed + e the runs with seeds s and s + 1 share every epoch but
one: a seed sweep would not be a sweep.)
"""
import torch


class ResumableSampler(torch.utils.data.Sampler):
    def __init__(self, n, batch_size, seed=0):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch = 0
        self.skip_batches = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.n, generator=generator).tolist()
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        return iter(order[start:])

    def __len__(self):
        return self.n


# epoch: epochs completed (iter_7 is inside the 2nd epoch: 1 done); iter: iterations
# completed, this one included; batches_done: of the epoch in progress (iterations 5, 6).
ITER_7_META = dict(epoch=1, iter=7, batches_done=2)
EPOCH_2_META = dict(epoch=2, iter=10)
CHECKPOINT_KEYS = {'meta', 'state_dict', 'optimizer', 'rng', 'hook_states'}
# dropout draws from torch, the dataset's noise from numpy; nothing here uses python's
# random, and nothing runs on a GPU
RANDOM_STATES_THAT_MATTER = {'numpy', 'torch'}
