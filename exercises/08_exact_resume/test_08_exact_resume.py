"""Checker of exercise 08: real runs of EpochBasedRunner with real checkpoints and the real
runner.resume. 3 epochs straight, then resumed from epoch_2.pth and from iter_7.pth in a
"new process" (other weights, other global random states: resume must restore them)."""
import random
from collections import OrderedDict

import numpy as np
import pytest
import torch

from config import CheckpointConfig, LrConfig, OptimizerConfig, OptimizerHookConfig
from conftest import quiet_logger
from data import DefaultSampler
from hooks import CheckpointHook, DistSamplerSeedHook, Hook
from runner import EpochBasedRunner, build_optimizer

N, BATCH, EPOCHS = 10, 2, 3


class NoisyData(torch.utils.data.Dataset):
    """Fixed samples plus noise from np.random (the global generator of the main process)."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(N, 4, generator=g), torch.randint(0, 3, (N,), generator=g)

    def __len__(self):
        return N

    def __getitem__(self, i):
        noise = torch.from_numpy(np.random.normal(0, 0.1, 4).astype(np.float32))
        return {'img': self.x[i] + noise, 'gt_label': self.y[i], 'idx': i}


class DropoutModel(torch.nn.Module):
    """A linear classifier behind dropout (torch's global generator), with the train_step interface."""

    def __init__(self):
        super().__init__()
        self.fc, self.drop = torch.nn.Linear(4, 3), torch.nn.Dropout(0.5)

    def train_step(self, data, optimizer=None):
        loss = torch.nn.functional.cross_entropy(self.fc(self.drop(data['img'])), data['gt_label'])
        return dict(loss=loss, log_vars=OrderedDict(loss=loss.detach()), num_samples=len(data['img']))


class SamplesSeen(Hook):
    """A hook with state of its own: it goes into the checkpoint's hook_states."""

    def __init__(self):
        self.count = 0

    def after_train_iter(self, runner):
        self.count += runner.outputs['num_samples']

    def state_dict(self):
        return {'count': self.count}

    def load_state_dict(self, state):
        self.count = state['count']


class Record(Hook):
    def __init__(self):
        self.rows = []          # (iteration, indices of the batch, loss)

    def after_train_iter(self, runner):
        self.rows.append((runner.iter, runner.data_batch['idx'].tolist(), float(runner.outputs['loss'].detach())))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(make_sampler, work_dir, resume_from=None, perturb=None):
    """One run to the end of epoch 3: fresh (seed 0), or resumed in a 'new process'."""
    seed_all(1234 if resume_from else 0)
    model = DropoutModel()
    loader = torch.utils.data.DataLoader(NoisyData(), batch_size=BATCH, sampler=make_sampler(),
                                         generator=torch.Generator().manual_seed(0))
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4))
    runner = EpochBasedRunner(model, optimizer, str(work_dir), quiet_logger(), meta={}, max_epochs=EPOCHS)
    runner.register_training_hooks(LrConfig(policy='step', step=[2]), OptimizerHookConfig(), CheckpointConfig())
    runner.register_hook(CheckpointHook(interval=7, by_epoch=False, save_last=False), 'NORMAL')
    runner.register_hook(DistSamplerSeedHook())
    runner.register_hook(SamplesSeen(), 'LOW')
    record = Record()
    runner.register_hook(record, 'LOWEST')
    if resume_from:
        runner.resume(str(resume_from))
        if perturb:
            perturb()
    runner.run([loader], [('train', 1)])
    return runner, record.rows


def student_sampler(impl):
    return lambda: impl.ResumableSampler(N, BATCH, seed=0)


def reference_sampler():
    return DefaultSampler(N, BATCH, shuffle=True, seed=0, batch_seeds=False)


def test_the_order_is_a_permutation_that_depends_on_seed_and_epoch(impl):
    orders = []
    for epoch in range(3):
        seed_all(epoch)                                 # another history each time
        sampler = impl.ResumableSampler(N, BATCH, seed=7)
        sampler.set_epoch(epoch)
        orders.append(list(sampler))
        assert sorted(orders[-1]) == list(range(N)), f'epoch {epoch}: {orders[-1]} is not a permutation of 0..{N - 1}'
        seed_all(100 + epoch)
        again = impl.ResumableSampler(N, BATCH, seed=7)
        again.set_epoch(epoch)
        assert list(again) == orders[-1], (f'epoch {epoch}: the order changed with the history of the process: '
                                           'draw it from a torch.Generator of your own, seeded with seed + epoch')
    assert orders[0] != orders[1] != orders[2], f'the epochs all have the same order {orders[0]}'


def test_the_sampler_leaves_the_global_random_states_alone(impl):
    seed_all(5)
    numpy_state = np.random.get_state()
    states = (random.getstate(), (numpy_state[1].copy(), numpy_state[2]), torch.get_rng_state())
    sampler = impl.ResumableSampler(N, BATCH, seed=0)
    sampler.set_epoch(1)
    list(sampler)
    changed = [name for name, same in (
        ('python random', random.getstate() == states[0]),
        ('numpy', np.array_equal(np.random.get_state()[1], states[1][0]) and np.random.get_state()[2] == states[1][1]),
        ('torch', torch.equal(torch.get_rng_state(), states[2]))) if not same]
    assert not changed, (f'iterating your sampler changed the global {" and ".join(changed)} random state. In a '
                         'resumed run it runs right after runner.resume restored those states, and throws them away '
                         '(torch.manual_seed / np.random.seed reseed a global generator; torch.randperm or '
                         'np.random.permutation without a generator draw from one). Use a torch.Generator of your own')


@pytest.mark.parametrize('checkpoint', ['epoch_2.pth', 'iter_7.pth'])
def test_resume_is_exact(impl, checkpoint, tmp_path):
    straight, rows = train(student_sampler(impl), tmp_path / 'straight')
    meta = torch.load(tmp_path / 'straight' / checkpoint, weights_only=True)['meta']
    resumed, resumed_rows = train(student_sampler(impl), tmp_path / 'resumed', tmp_path / 'straight' / checkpoint)
    expected = [row for row in rows if row[0] >= meta['iter']]
    where = f'resumed from {checkpoint} (meta: epoch={meta["epoch"]}, iter={meta["iter"]}' + (
        f', batches_done={meta["batches_done"]})' if 'batches_done' in meta else ')')
    for got, want in zip(resumed_rows, expected):
        if got[1] != want[1]:
            epoch_rows = [r for r in rows if meta['epoch'] * (N // BATCH) <= r[0] < (meta['epoch'] + 1) * (N // BATCH)]
            if epoch_rows and got[1] == epoch_rows[0][1] and 'batches_done' in meta:
                pytest.fail(f'{where}: iteration {got[0] + 1} trained on batch {got[1]}, the FIRST batch of the epoch '
                            f'again; the uninterrupted run trained on {want[1]} there. The sampler must skip the '
                            f'skip_batches * batch_size indices already trained on (that is why iter_N.pth records '
                            f'batches_done)', pytrace=False)
            pytest.fail(f'{where}: iteration {got[0] + 1} trained on batch {got[1]}, the uninterrupted run on '
                        f'{want[1]}: the order of an epoch must come from (seed, epoch) only, not from the global '
                        f'generator, whose state at a mid-epoch checkpoint is not the one at the epoch\'s start',
                        pytrace=False)
        if got[2] != want[2]:
            pytest.fail(f'{where}: iteration {got[0] + 1} trained on the same batch {got[1]} but its loss is '
                        f'{got[2]:.6f}, not {want[2]:.6f}: dropout or the noise drew other random numbers. resume '
                        f'restored the global random states; did your sampler reseed or draw from one?', pytrace=False)
    assert len(resumed_rows) == len(expected), (
        f'{where}: {len(resumed_rows)} iterations after the resume, the uninterrupted run had {len(expected)} left')
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), f'{where}: the final {k} differs from the uninterrupted run'


def test_part2_what_the_checkpoints_hold(impl, tmp_path):
    train(student_sampler(impl), tmp_path)
    hints = {'epoch': 'epochs completed (in iter_N.pth: the 0-based index of the epoch in progress)',
             'iter': 'iterations completed, the one that wrote the file included',
             'batches_done': 'batches of the epoch in progress already trained on'}
    for answer, name in ((impl.ITER_7_META, 'iter_7.pth'), (impl.EPOCH_2_META, 'epoch_2.pth')):
        label = 'ITER_7_META' if name == 'iter_7.pth' else 'EPOCH_2_META'
        assert isinstance(answer, dict), f'write {label} first'
        meta = torch.load(tmp_path / name, weights_only=True)['meta']
        wrong = [k for k in answer if meta.get(k) != answer[k]]
        missing = [k for k in ('epoch', 'iter', 'batches_done') if k in meta and k not in answer]
        assert not wrong and not missing, (
            f'{label}: ' + '; '.join([f'{k}={answer[k]} is not what {name} holds ({k}: {hints.get(k, "")})'
                                      for k in wrong] + [f'{name} also records {k}' for k in missing]))
    assert impl.CHECKPOINT_KEYS is not None, 'write CHECKPOINT_KEYS first'
    keys = set(torch.load(tmp_path / 'iter_7.pth', weights_only=True))
    answer = set(impl.CHECKPOINT_KEYS)
    assert answer == keys, (f'CHECKPOINT_KEYS: iter_7.pth has {sorted(keys - answer)} too' if keys - answer else
                            f'CHECKPOINT_KEYS: iter_7.pth has no {sorted(answer - keys)}')


def test_part2_which_random_states_matter(impl, tmp_path):
    answer = impl.RANDOM_STATES_THAT_MATTER
    assert answer is not None, 'write RANDOM_STATES_THAT_MATTER first'
    answer = set(answer)
    assert answer <= {'python', 'numpy', 'torch', 'cuda'}, f'{answer - {"python", "numpy", "torch", "cuda"}}?'
    _, rows = train(reference_sampler, tmp_path / 'straight')
    start = [r for r in rows if r[0] >= 7]
    measured = {'cuda': False}                   # CPU run: nothing draws from a CUDA generator
    for name, scramble in (('python', lambda: random.seed(99)), ('numpy', lambda: np.random.seed(99)),
                           ('torch', lambda: torch.manual_seed(99))):
        _, resumed = train(reference_sampler, tmp_path / name, tmp_path / 'straight' / 'iter_7.pth', scramble)
        measured[name] = resumed != start
    for name in ('python', 'numpy', 'torch', 'cuda'):
        if (name in answer) != measured[name]:
            effect = ('the losses after the resume changed' if measured[name] else
                      'the run after the resume was still exact')
            how = ('(nothing runs on a GPU here)' if name == 'cuda' else
                   f'with {name}\'s state scrambled right after runner.resume(iter_7.pth), {effect}')
            pytest.fail(f'RANDOM_STATES_THAT_MATTER: {name} {"is" if name in answer else "is not"} in your answer, '
                        f'but it {"matters" if measured[name] else "does not matter"} for this run {how}. Which '
                        'code draws random numbers here: dropout, the dataset\'s noise, the sampler?', pytrace=False)
