"""Wrong answer to exercise 08: the sampler is right; the counters of iter_7.pth are read as
"the epoch in progress, 1-based" and "the iteration's index"."""
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


ITER_7_META = dict(epoch=2, iter=6, batches_done=2)
EPOCH_2_META = dict(epoch=2, iter=10)
CHECKPOINT_KEYS = {'meta', 'state_dict', 'optimizer', 'rng', 'hook_states'}
RANDOM_STATES_THAT_MATTER = {'numpy', 'torch'}
