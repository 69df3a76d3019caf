"""Wrong answer to exercise 08: the right order, but skip_batches is ignored: a resume from
iter_7.pth trains on the first batches of the epoch again."""
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
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self):
        return self.n


ITER_7_META = dict(epoch=1, iter=7, batches_done=2)
EPOCH_2_META = dict(epoch=2, iter=10)
CHECKPOINT_KEYS = {'meta', 'state_dict', 'optimizer', 'rng', 'hook_states'}
RANDOM_STATES_THAT_MATTER = {'numpy', 'torch'}
