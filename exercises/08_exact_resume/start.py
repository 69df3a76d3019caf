"""Exercise 08: exact resume, from an epoch's end and from the middle of an epoch.

runner.resume(filename) (runner.py) restores what a checkpoint holds: the weights
(state_dict), the optimizer state, the counters in meta (epoch, iter, and batches_done
in a mid-epoch iter_N.pth), the hooks' own state (hook_states) and the random states
(rng: python, numpy, torch, cuda). mmcv restores no random state; minicls does, so that
a resumed run is the run that was never interrupted, to the bit. One thing it cannot
restore is how the sampler draws the order of an epoch.

The checker's run: 10 samples, batch 2 (5 iterations an epoch), 3 epochs, on the CPU, no
worker processes. The model has dropout (torch's global generator); the dataset adds noise
from np.random to every sample. CheckpointHook saves epoch_N.pth after every epoch and
iter_N.pth every 7 iterations. DistSamplerSeedHook calls sampler.set_epoch(epoch) before
every epoch and sets sampler.skip_batches (batches_done after a mid-epoch resume, else 0).
The loader has its own generator (as build_dataloader's), so making it draws nothing from
torch's global one.

Part 1. Fix ResumableSampler so that resuming from epoch_2.pth AND from iter_7.pth gives
the losses and weights of the uninterrupted run. Its order must depend on (seed, epoch)
only; it must skip the first skip_batches batches; and it runs right after resume has
restored the random states, so it must not draw from or reseed any global generator.

Part 2. Read runner.py (save_checkpoint, resume) and answer; the checker compares your
answers with the real files of its run and with what it measures.

Read first: runner.py (EpochBasedRunner.save_checkpoint, resume, train; get_rng_state),
hooks.py (CheckpointHook, DistSamplerSeedHook), data.py (DefaultSampler: the full version).
Check: python -m pytest -q exercises/08_exact_resume
"""
import torch


class ResumableSampler(torch.utils.data.Sampler):
    def __init__(self, n, batch_size, seed=0):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch = 0
        self.skip_batches = 0          # set by DistSamplerSeedHook: batches of this epoch already done

    def set_epoch(self, epoch):        # called by DistSamplerSeedHook before every epoch
        self.epoch = epoch

    def __iter__(self):
        return iter(torch.randperm(self.n).tolist())

    def __len__(self):
        return self.n


# Part 2
ITER_7_META = None         # dict(epoch=..., iter=..., batches_done=...): the counters in iter_7.pth
EPOCH_2_META = None        # dict(epoch=..., iter=...): the counters in epoch_2.pth
CHECKPOINT_KEYS = None     # the set of top-level keys of iter_7.pth (the run has one hook with state)
RANDOM_STATES_THAT_MATTER = None   # the subset of {'python', 'numpy', 'torch', 'cuda'} that this run
                                   # needs restored to resume exactly (with data.py's DefaultSampler)
