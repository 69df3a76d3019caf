"""What mmcv's runner and hooks promise a user who brings a model, a hook or a checkpoint
over from mmcv/mmcls (the runner's), and what checkpoint writing promises
(written in the background, never blocking training, never half a file)."""
import logging
import os
import threading
from collections import OrderedDict

import pytest
import torch

import checkpoint
from config import CheckpointConfig, LogConfig, LrConfig, OptimizerConfig, OptimizerHookConfig
from extras.run.guards import CheckInvalidLossHook, TrainingStopped
from hooks import EvalHook, Hook
from runner import EpochBasedRunner, build_optimizer, load_checkpoint
from tiny import TinyModel, loader, quiet_logger

import train
from extras.run import cpu_threads


def make_runner(work_dir, model=None, max_epochs=2, **hooks):
    model = model or TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9)),
                              None if work_dir is None else str(work_dir), quiet_logger(), max_epochs=max_epochs)
    runner.register_training_hooks(LrConfig(policy='step', step=[1]), OptimizerHookConfig(),
                                   hooks.get('checkpoint', CheckpointConfig(interval=1)), LogConfig(interval=2))
    return runner


class OddLosses(TinyModel):
    """A train_step as users write them: the loss a (1, 1) tensor, log_vars Python floats
    (mmcls's own _parse_losses returns floats)."""

    def train_step(self, data, optimizer=None):
        loss = torch.nn.functional.cross_entropy(self.fc(data['img']), data['gt_label']).reshape(1, 1)
        return dict(loss=loss, log_vars=OrderedDict(loss=loss.item(), acc=50.0), num_samples=len(data['img']))


def test_losses_of_any_shape_and_float_log_values_train_and_log(tmp_path):
    runner = make_runner(tmp_path, OddLosses())
    runner.register_hook(CheckInvalidLossHook(interval=3), 'HIGH')
    runner.run([loader(10, 2)], [('train', 1)])
    assert runner.iter == 10 and os.path.exists(tmp_path / 'epoch_2.pth')
    nan = OddLosses()
    with torch.no_grad():
        nan.fc.weight.fill_(float('nan'))
    runner = make_runner(tmp_path / 'nan', nan)
    runner.register_hook(CheckInvalidLossHook(), 'HIGH')
    with pytest.raises(TrainingStopped, match='the loss is nan at epoch 1, iter 1'):
        runner.run([loader(10, 2)], [('train', 1)])


def test_the_nan_check_stops_before_the_optimizer_steps_on_the_cpu(tmp_path):
    class NanAtThird(TinyModel):
        def train_step(self, data, optimizer=None):
            out = super().train_step(data, optimizer)
            if self.calls == 2:
                out['loss'] = out['loss'] * float('nan')
            self.calls += 1
            return out
    model = NanAtThird()
    model.calls = 0
    runner = make_runner(tmp_path, model)
    runner.register_hook(CheckInvalidLossHook(), 'HIGH')
    before = []
    runner.register_hook(type('Watch', (Hook,), {'before_train_iter': lambda self, r: before.append(
        r.model.fc.weight.detach().clone())})(), 'LOWEST')
    with pytest.raises(TrainingStopped, match='iter 3'):
        runner.run([loader(10, 2)], [('train', 1)])
    assert torch.isfinite(model.fc.weight).all() and torch.equal(model.fc.weight, before[-1])   # never stepped


@pytest.mark.parametrize('key, rule', [('accuracy_top-1', 'greater'), ('loss', 'less'), ('Loss', 'less'),
                                       ('loss_top', 'greater'), ('mAP', 'greater')])
def test_save_best_rule_is_inferred_as_mmcv_does(key, rule):
    # mmcv 1.7.2 _init_rule: an exact greater key, an exact less key, then a contained greater
    # key, then a contained less key: 'loss_top' contains 'top', so it is 'greater' there too
    assert EvalHook(loader(), save_best=key).rule == rule


def test_save_best_rule_takes_an_exact_key_before_a_contained_one():
    class Hook_(EvalHook):
        less_keys = ('acc_loss',)
    assert Hook_(loader(), save_best='acc_loss').rule == 'less'      # exact 'less' beats contained 'acc'


def test_evaluate_gets_the_runner_logger(tmp_path):
    seen = {}
    data = loader(4)
    data.dataset.evaluate = lambda results, logger=None, **kw: seen.setdefault('logger', logger) and {'a': 1.0}
    runner = make_runner(tmp_path)
    runner.register_hook(EvalHook(data), 'LOW')
    runner.run([loader(4)], [('train', 1)])
    assert seen['logger'] is runner.logger


def test_checkpoint_out_dir_is_out_dir_slash_the_work_dir_name_and_is_made(tmp_path):
    runner = make_runner(tmp_path / 'runs' / 'exp1', checkpoint=CheckpointConfig(out_dir=str(tmp_path / 'ckpts')))
    runner.run([loader(4)], [('train', 1)])
    assert sorted(os.listdir(tmp_path / 'ckpts' / 'exp1')) == ['epoch_1.pth', 'epoch_2.pth', 'last_checkpoint']


def test_checkpoint_keeps_metadata_version_and_time_and_refuses_bad_meta(tmp_path):
    runner = make_runner(tmp_path)
    runner.run([loader(4)], [('train', 1)])
    ckpt = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert ckpt['state_dict']._metadata == TinyModel().state_dict()._metadata      # module versions
    assert ckpt['meta']['minicls_version'] == train.__version__ and ckpt['meta']['time']
    assert runner.save_checkpoint(str(tmp_path), 'extra.pth', meta={'note': 'x'})
    assert torch.load(tmp_path / 'extra.pth', weights_only=True)['meta']['note'] == 'x'
    with pytest.raises(TypeError, match='meta must be a dict or None, but got list'):
        runner.save_checkpoint(str(tmp_path), 'bad.pth', meta=['x'])


def test_standalone_load_checkpoint_as_mmcv(tmp_path):
    source = TinyModel()
    torch.save({'meta': {}, 'state_dict': OrderedDict(('module.' + k, v) for k, v in source.state_dict().items())},
               tmp_path / 'w.pth')
    model = TinyModel()
    checkpoint = load_checkpoint(model, str(tmp_path / 'w.pth'), map_location='cpu', strict=True)
    assert 'state_dict' in checkpoint and torch.equal(model.fc.weight, source.fc.weight)


def test_a_runner_without_work_dir_trains_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = make_runner(None)
    runner.run([loader(4)], [('train', 1)])
    assert runner.epoch == 2 and os.listdir(tmp_path) == []


def test_checkpoint_writes_do_not_block_training(tmp_path, monkeypatch):
    """The write of epoch_1.pth is held back until the second epoch has trained on: the
    epoch's end returns at once, training goes on, and the file appears whole afterwards."""
    release, real_write, iters_while_writing = threading.Event(), checkpoint.atomic_write, []

    def slow_write(path, data):
        if path.endswith('epoch_1.pth'):
            assert release.wait(60)
        real_write(path, data)
    monkeypatch.setattr(checkpoint, "atomic_write", slow_write)
    runner = make_runner(tmp_path, max_epochs=2)

    class Release(Hook):
        def after_train_iter(self, r):
            if r.epoch == 1:
                iters_while_writing.append(os.path.exists(tmp_path / 'epoch_1.pth'))
                release.set()
    runner.register_hook(Release(), 'LOWEST')
    runner.run([loader(4)], [('train', 1)])
    assert iters_while_writing[0] is False                    # epoch 2 trained while epoch_1.pth was being written
    assert torch.load(tmp_path / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_2.pth'


def test_a_run_stopped_by_a_nan_loss_returns_with_its_last_checkpoint_written(tmp_path,
                                                                              monkeypatch):
    """The write of epoch_1.pth is slow and the loss turns NaN in epoch 2: when `run` raises,
    epoch_1.pth and the pointer are on disk (no write left running behind the caller's back,
    in a notebook or a test)."""
    real_write = checkpoint.atomic_write

    def slow_write(path, data):
        if path.endswith('epoch_1.pth'):
            threading.Event().wait(0.5)      # long after the loss has turned NaN
        real_write(path, data)
    monkeypatch.setattr(checkpoint, 'atomic_write', slow_write)

    class NanInEpoch2(TinyModel):
        def train_step(self, data, optimizer=None):
            out = super().train_step(data, optimizer)
            return dict(out, loss=out['loss'] * float('nan')) if self.epoch2 else out
    model = NanInEpoch2()
    model.epoch2 = False
    runner = make_runner(tmp_path, model, max_epochs=2)
    runner.register_hook(CheckInvalidLossHook(), 'HIGH')
    runner.register_hook(type('Turn', (Hook,), {'before_train_epoch': lambda self, r: setattr(
        model, 'epoch2', r.epoch == 1)})(), 'LOWEST')
    with pytest.raises(TrainingStopped, match='epoch 2'):
        runner.run([loader(4)], [('train', 1)])
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert torch.load(tmp_path / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1

def test_the_snapshot_is_taken_when_saving_not_when_writing(tmp_path, monkeypatch):
    release, real_write = threading.Event(), checkpoint.atomic_write

    def slow_write(path, data):
        assert release.wait(60)
        real_write(path, data)
    monkeypatch.setattr(checkpoint, "atomic_write", slow_write)
    runner = make_runner(tmp_path)
    saved = runner.model.fc.weight.detach().clone()
    runner.save_checkpoint(str(tmp_path), 'snap.pth', blocking=False)
    with torch.no_grad():
        runner.model.fc.weight.add_(1.0)                      # training goes on while the file is written
    release.set()
    runner.wait_for_checkpoint()
    assert torch.equal(torch.load(tmp_path / 'snap.pth', weights_only=True)['state_dict']['fc.weight'], saved)


@pytest.mark.parametrize('cores, workers, requested, busy, threads', [
    (2, 1, None, 0, 1), (2, 0, None, 0, 2), (2, 4, None, 0, 1), (16, 2, None, 0, 14), (16, 2, 3, 0, 3),
    (1, 0, None, 0, 1), (2, 0, None, 2, 1), (2, 0, None, 1, 1), (16, 2, None, 5, 9), (16, 2, 3, 5, 3)])
def test_the_thread_policy_never_oversubscribes(cores, workers, requested, busy, threads):
    assert cpu_threads.intra_op_threads(cores, workers, requested, busy) == threads


def test_usable_cores_is_the_affinity_or_all_cores_where_there_is_none(monkeypatch):
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 2}, raising=False)
    assert cpu_threads.usable_cores() == 2
    monkeypatch.delattr(os, 'sched_getaffinity')                       # macOS
    monkeypatch.setattr(os, 'cpu_count', lambda: 8)
    assert cpu_threads.usable_cores() == 8


@pytest.mark.parametrize('running, cpus, cores, processes, busy', [
    (1, 2, 2, 1, 0), (3, 2, 2, 1, 2), (2, 2, 2, 1, 1), (4, 2, 1, 2, 1),  # 2 cores; this job counts itself
    (33, 64, 16, 1, 8)])                                                   # a quarter of 32 others, on 16 of 64
def test_busy_elsewhere_counts_the_running_tasks_of_others(tmp_path, monkeypatch, running, cpus, cores, processes,
                                                          busy):
    stat = tmp_path / 'stat'
    stat.write_text(f'cpu  1 2 3 4\nctxt 99\nprocs_running {running}\nprocs_blocked 0\n')
    monkeypatch.setattr(os, 'cpu_count', lambda: cpus)
    assert cpu_threads.busy_elsewhere(cores, processes, stat=str(stat), looks=3) == busy
    assert cpu_threads.busy_elsewhere(cores, processes, stat=str(tmp_path / 'none'), looks=3) == 0   # not Linux: 0


def test_set_random_seed_sets_pythonhashseed_as_mmcv(monkeypatch):
    monkeypatch.delenv('PYTHONHASHSEED', raising=False)
    state = torch.get_rng_state()
    try:
        train.set_random_seed(1234)
        assert os.environ['PYTHONHASHSEED'] == '1234'      # mmcv.runner.set_random_seed does this
    finally:
        torch.set_rng_state(state)


# ---- The API refuses what would hang or fail far away, accepts mmcv's dicts ---------------
from config import ConfigError, ParamwiseConfig  # noqa: E402
from hooks import OptimizerHook, StepLrUpdaterHook  # noqa: E402


@pytest.mark.parametrize('workflow, loaders', [([], []), ([('val', 1)], [loader()])])
def test_run_without_a_train_entry_is_refused_not_a_hang(workflow, loaders):
    runner = make_runner(None)
    with pytest.raises(ConfigError, match=r"has no \('train', epochs\) entry"):
        runner.run(loaders, workflow)


def test_a_runner_without_max_epochs_says_so(tmp_path):
    model = TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), None, quiet_logger())
    with pytest.raises(TypeError, match=r'max_epochs=None: give the number of epochs'):
        runner.run([loader()], [('train', 1)])
    runner.run([loader(n=2)], [('train', 1)], max_epochs=1)          # given to run: it runs
    assert runner.epoch == 1


def test_register_training_hooks_takes_mmcv_style_dicts():
    model = TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), None, quiet_logger(),
                              max_epochs=1)
    runner.register_training_hooks(dict(policy='step', step=[1]),
                                   dict(grad_clip=dict(max_norm=10, norm_type=2)),
                                   dict(interval=1), dict(interval=50, hooks=[dict(type='TextLoggerHook')]))
    lr = next(h for h in runner.hooks if isinstance(h, StepLrUpdaterHook))
    opt = next(h for h in runner.hooks if isinstance(h, OptimizerHook))
    assert lr.step == [1] and opt.grad_clip == dict(max_norm=10, norm_type=2)
    with pytest.raises(TypeError, match=r"LrConfig.__init__\(\) got an unexpected keyword argument 'stepp'"):
        runner.register_lr_hook(dict(policy='step', stepp=[1]))
    with pytest.raises(ConfigError, match=r"lr_config.step='1' has the wrong type"):
        runner.register_lr_hook(dict(policy='step', step='1'))


@pytest.mark.parametrize('paramwise', [[1], 'bias_lr_mult=2', dict(bias_lr_mult=2.0)])
def test_build_optimizer_refuses_a_paramwise_cfg_that_is_not_a_paramwise_config(paramwise):
    with pytest.raises(TypeError, match='optimizer.paramwise_cfg must be a ParamwiseConfig'):
        build_optimizer(TinyModel(), OptimizerConfig(paramwise_cfg=paramwise))
    assert build_optimizer(TinyModel(), OptimizerConfig(paramwise_cfg=ParamwiseConfig()))


def test_an_empty_evaluation_result_skips_save_best_with_mmcvs_warning(tmp_path, monkeypatch):
    runner = make_runner(tmp_path)
    hook = EvalHook(loader(), save_best='auto')
    runner.register_hook(hook, 'LOW')
    hook.before_run(runner)
    monkeypatch.setattr(type(hook.dataloader.dataset), 'evaluate', lambda *a, **k: {})
    with pytest.warns(UserWarning, match='no metrics .*save_best is skipped'):
        hook._do_evaluate(runner)
    assert not any(f.startswith('best_') for f in os.listdir(tmp_path))
