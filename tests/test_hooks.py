"""Runner + hooks: priorities, dispatch order and the per-stage trace equal mmcv 1.7.2's
(golden/hook_order_public.json); workflow rules; each standard hook's behaviour."""
import json
import os
from pathlib import Path

import pytest
import torch

from tiny import TinyModel, loader, quiet_logger
from config import (CheckpointConfig, GradClipConfig, LogConfig, LrConfig, OptimizerConfig,
                    OptimizerHookConfig, ParamwiseConfig)
from hooks import EvalHook
from hooks import Hook, Priority, get_priority
from runner import build_optimizer
from runner import LogBuffer
from runner import EpochBasedRunner

GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'hook_order_public.json').read_text())


def make_runner(tmp_path, max_epochs=2, lr_config=None, checkpoint=CheckpointConfig(interval=1),
                log=LogConfig(interval=100), grad_clip=None, model=None):
    model = model or TinyModel()
    runner = EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path), quiet_logger(),
                              meta={}, max_epochs=max_epochs)
    runner.timestamp = 'test'
    runner.register_training_hooks(lr_config or LrConfig(policy='step', step=[100, 150]),
                                   OptimizerHookConfig(grad_clip=grad_clip), checkpoint, log, None)
    return runner


def test_priority_names_and_numbers():
    assert {p.name: p.value for p in Priority} == dict(
        HIGHEST=0, VERY_HIGH=10, HIGH=30, ABOVE_NORMAL=40, NORMAL=50, BELOW_NORMAL=60, LOW=70, VERY_LOW=90,
        LOWEST=100)
    assert get_priority('low') == 70 and get_priority(Priority.HIGH) == 30 and get_priority(55) == 55
    for bad in ('MEDIUM', 101, -1, 2.5):
        with pytest.raises(ValueError):
            get_priority(bad)


def test_registration_order_and_golden_hook_info(tmp_path):
    runner = make_runner(tmp_path)
    names = [[type(h).__name__, h.priority, Priority(h.priority).name] for h in runner.hooks]
    assert names == GOLDEN['register_training_hooks']
    runner.register_hook(EvalHook(loader()), priority='LOW')
    names = [[type(h).__name__, h.priority, Priority(h.priority).name] for h in runner.hooks]
    assert names == GOLDEN['with_EvalHook_LOW']


def test_get_hook_info_text_equals_mmcv(tmp_path):
    assert make_runner(tmp_path).get_hook_info() == GOLDEN['get_hook_info_text']


def test_equal_priorities_keep_registration_order_and_twice_is_an_error(tmp_path):
    runner = make_runner(tmp_path)
    a, b, c = type('A', (Hook,), {})(), type('B', (Hook,), {})(), type('C', (Hook,), {})()
    runner.register_hook(a, 'NORMAL')
    runner.register_hook(b, 50)
    runner.register_hook(c, 'HIGHEST')
    order = [type(h).__name__ for h in runner.hooks]
    assert order.index('CheckpointHook') < order.index('A') < order.index('B') and order[0] == 'C'
    with pytest.raises(ValueError, match='already registered'):
        runner.register_hook(a)


def test_train_model_trace_equals_mmcv(tmp_path):
    """Every (stage, hook) call of a 2-epoch x 2-iteration run with validation, and the
    runner's counters at each call_hook, as recorded from mmcv's EpochBasedRunner."""
    golden = GOLDEN['train_model_trace_train_only_validate_EvalHook']
    runner = make_runner(tmp_path)
    runner.register_hook(EvalHook(loader(n=3)), priority='LOW')
    trace, stages = [], []
    original = runner.call_hook

    def recording_call_hook(stage):
        stages.append([stage, runner.epoch, runner.iter, runner.inner_iter, runner.mode])
        trace.extend([stage, type(h).__name__] for h in runner._stage_hooks[stage])
        original(stage)
    runner.call_hook = recording_call_hook
    runner.run([loader(n=2)], [('train', 1)])
    assert trace == golden['trace']
    assert stages == golden['stages']
    assert dict(epoch=runner.epoch, iter=runner.iter, inner_iter=runner.inner_iter,
                max_iters=runner.max_iters) == golden['final_counters']


def test_fan_out_stages():
    class EveryEpoch(Hook):
        def before_epoch(self, runner):
            pass
    assert EveryEpoch().get_triggered_stages() == ['before_train_epoch', 'before_val_epoch']


def test_fan_out_and_overridden_stages_call_the_right_method(tmp_path):
    """call_hook binds a stage a hook gets through a fan-out straight to the fan-out method;
    a stage the hook overrides itself wins over its fan-out, in train and in val epochs."""
    calls = []

    class Both(Hook):
        def before_iter(self, runner):
            calls.append(('before_iter', runner.mode))

        def before_train_iter(self, runner):
            calls.append(('before_train_iter', runner.mode))

        def after_epoch(self, runner):
            calls.append(('after_epoch', runner.mode))
    runner = make_runner(tmp_path, max_epochs=1, checkpoint=None)
    runner.register_hook(Both())
    runner.run([loader(n=2), loader(n=1)], [('train', 1), ('val', 1)])
    assert calls == [('before_train_iter', 'train')] * 2 + [('after_epoch', 'train'), ('before_iter', 'val'),
                                                              ('after_epoch', 'val')]


def test_workflow_train_val_runs_as_mmcv(tmp_path):
    runner = make_runner(tmp_path, max_epochs=3, checkpoint=None)
    calls = []
    runner.train = lambda dl: (calls.append('train'), setattr(runner, '_epoch', runner.epoch + 1))
    runner.val = lambda dl: calls.append('val')
    runner.run([loader(), loader()], [('train', 2), ('val', 1)])
    assert calls == ['train', 'train', 'val', 'train', 'val']   # the last train block stops at max_epochs


@pytest.mark.parametrize('workflow, error, words', [
    ([('test', 1)], ValueError, 'no method named "test"'),
    ([(1, 1)], TypeError, 'must be a str'),
])
def test_bad_workflow_mode(workflow, error, words, tmp_path):
    with pytest.raises(error, match=words):
        make_runner(tmp_path, checkpoint=None).run([loader()], workflow)


def test_val_workflow_logs_val_lines(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1, checkpoint=None, log=LogConfig(interval=5))
    runner.run([loader(n=10), loader(n=4)], [('train', 1), ('val', 1)])
    lines = [json.loads(x) for x in open(tmp_path / 'test.log.json')]
    assert [x['mode'] for x in lines[1:]] == ['train', 'train', 'val']
    assert lines[-1]['epoch'] == 1 and lines[-1]['iter'] == 4     # after epoch += 1, as mmcv


def test_optimizer_hook_clips_and_logs_grad_norm(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1, checkpoint=None, grad_clip=GradClipConfig(max_norm=1e-3))
    before = runner.model.fc.weight.detach().clone()
    runner.run([loader(n=1)], [('train', 1)])
    step = (runner.model.fc.weight - before).norm().item()
    assert step <= 0.1 * 1e-3 * 1.01 and 'grad_norm' in runner.log_buffer.val_history


def test_checkpoint_hook_interval_keep_and_pointer(tmp_path):
    runner = make_runner(tmp_path, max_epochs=5, checkpoint=CheckpointConfig(interval=2, max_keep_ckpts=1))
    runner.run([loader(n=2)], [('train', 1)])
    # epoch_2 went when epoch_4 came; the save_last epoch_5 walks back 5-2=3, 1 (absent),
    # so epoch_4 stays: mmcv's rule, kept as is
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['epoch_4.pth', 'epoch_5.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_5.pth'
    assert not (tmp_path / 'latest.pth').exists()
    assert runner.meta['hook_msgs']['last_ckpt'] == str(tmp_path / 'epoch_5.pth')
    ckpt = torch.load(tmp_path / 'epoch_5.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 5 and ckpt['meta']['iter'] == 10 and 'optimizer' in ckpt


def test_text_logger_line_format_and_json(tmp_path, caplog):
    runner = make_runner(tmp_path, max_epochs=2, checkpoint=None, log=LogConfig(interval=2))
    runner.logger = __import__('logging').getLogger('format_test')
    runner.meta = {'seed': 7, 'exp_name': 'x.py'}
    with caplog.at_level('INFO', logger='format_test'):
        runner.run([loader(n=5)], [('train', 1)])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith('Epoch')]
    assert len(lines) == 4          # iterations 2 and 4 of each epoch; the short last window is ignored
    first = lines[0]
    assert first.startswith('Epoch [1][2/5]\tlr: 1.000e-01, eta: ') and ', time: ' in first
    assert ', data_time: ' in first and first.endswith(f'loss: {float(first.split("loss: ")[1]):.4f}')
    records = [json.loads(x) for x in open(tmp_path / 'test.log.json')]
    assert records[0] == {'seed': 7, 'exp_name': 'x.py'}
    assert list(records[1])[:5] == ['mode', 'epoch', 'iter', 'lr', 'data_time']
    assert records[1]['mode'] == 'train' and records[1]['iter'] == 2 and records[3]['epoch'] == 2
    assert all(len(str(v).split('.')[-1]) <= 5 for r in records[1:] for v in r.values() if isinstance(v, float))


def test_eval_hook_interval_start_and_save_best(tmp_path):
    runner = make_runner(tmp_path, max_epochs=4, checkpoint=None, log=LogConfig(interval=100))
    scores = iter([50.0, 70.0, 60.0, 80.0])
    ds = loader(n=3)
    ds.dataset.evaluate = lambda results, **kw: {'accuracy_top-1': next(scores)}
    hook = EvalHook(ds, interval=1, save_best='auto')
    runner.register_hook(hook, 'LOW')
    runner.run([loader(n=2)], [('train', 1)])
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best')) == ['best_accuracy_top-1_epoch_4.pth']
    assert runner.meta['hook_msgs']['best_score'] == 80.0
    assert hook.rule == 'greater'
    vals = [json.loads(x) for x in open(tmp_path / 'test.log.json')][1:]
    assert [v['accuracy_top-1'] for v in vals if v['mode'] == 'val'] == [50.0, 70.0, 60.0, 80.0]
    assert all(v['iter'] == 3 for v in vals if v['mode'] == 'val')       # eval_iter_num = len(loader)


def test_eval_hook_start_and_interval(tmp_path):
    runner = make_runner(tmp_path, max_epochs=6, checkpoint=None)
    seen = []
    ds = loader(n=3)
    ds.dataset.evaluate = lambda results, **kw: seen.append(runner.epoch + 1) or {'accuracy_top-1': 1.0}
    runner.register_hook(EvalHook(ds, start=3, interval=2), 'LOW')
    runner.run([loader(n=2)], [('train', 1)])
    assert seen == [3, 5]
    with pytest.raises(ValueError, match='rule'):
        EvalHook(ds, save_best='foo')


def test_eval_hook_takes_a_dataloader_and_says_so_when_built():
    """mmcv: EvalHook's TypeError in __init__; a list of batches would fail only at the
    first evaluation, an epoch of training later."""
    batches = list(loader(n=2))
    with pytest.raises(TypeError, match=r"^EvalHook: dataloader must be a torch DataLoader, "
                                        r"not a list$"):
        EvalHook(batches)


def test_log_buffer_weights_by_num_samples():
    buf = LogBuffer()
    buf.update({'loss': 1.0}, 100)
    buf.update({'loss': 4.0}, 50)
    buf.average()
    assert buf.output['loss'] == pytest.approx(2.0) and buf.ready
    buf.average(1)
    assert buf.output['loss'] == 4.0


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                            torch.nn.Conv2d(8, 8, 3, groups=8))
        self.head = torch.nn.Linear(8, 2)


def test_paramwise_cfg_follows_mmcv_rules():
    cfg = OptimizerConfig(lr=0.1, weight_decay=1e-4, paramwise_cfg=ParamwiseConfig(
        bias_lr_mult=2.0, bias_decay_mult=0.5, norm_decay_mult=0.0, dwconv_decay_mult=0.1,
        custom_keys={'head': dict(lr_mult=0.1), 'head.bias': dict(lr_mult=0.0, decay_mult=0.0)}))
    opt = build_optimizer(ConvNet(), cfg)
    got = [v for g in opt.param_groups for v in (g['lr'], g['weight_decay'])]
    assert got == pytest.approx([v for pair in [
        (0.1, 1e-4), (0.2, 0.5e-4),        # conv weight, conv bias
        (0.1, 0.0), (0.1, 0.0),            # bn weight / bias: norm_decay_mult, no bias_lr_mult
        (0.1, 1e-5), (0.2, 1e-5),          # depthwise conv: dwconv_decay_mult wins over bias_decay_mult
        (0.01, 1e-4), (0.0, 0.0)] for v in pair])   # head.weight -> 'head'; head.bias -> 'head.bias'


def test_build_optimizer_any_torch_optimizer_and_errors():
    opt = build_optimizer(ConvNet(), OptimizerConfig(type='AdamW', lr=1e-3, momentum=None, weight_decay=0.05,
                                                     options={'betas': (0.9, 0.95)}))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]['betas'] == (0.9, 0.95)
    assert len(build_optimizer(ConvNet(), OptimizerConfig()).param_groups) == 1
    with pytest.raises(ValueError, match="optimizer.type='SDG'.*SGD"):
        build_optimizer(ConvNet(), OptimizerConfig(type='SDG'))
    with pytest.raises(ValueError, match="'Adam' does not accept"):
        build_optimizer(ConvNet(), OptimizerConfig(type='Adam', momentum=0.9))


# ---- save_best on a tie; the LR the text logger reports -------------------------------------
import logging  # noqa: E402

from config import OptimizerConfig, ParamwiseConfig  # noqa: E402
from test_lr_updater import bare_runner  # noqa: E402


# ---- 22. save_best: an equal score is not a new best (mmcv: greater / less, strict) --------

@pytest.mark.parametrize('key, scores, best_epoch', [
    ('accuracy_top-1', [50.0, 60.0, 60.0, 40.0], 2),
    ('loss', [3.0, 2.0, 2.0, 2.5], 2),
])
def test_save_best_keeps_the_earlier_epoch_on_a_tie(tmp_path, key, scores, best_epoch):
    runner = make_runner(tmp_path, len(scores))
    values = iter(scores)
    val = loader(n=2)
    val.dataset.evaluate = lambda results, **kw: {key: next(values)}
    runner.register_hook(EvalHook(val, save_best=key), 'LOW')
    runner.run([loader(n=2)], [('train', 1)])
    name = f'best_{key}_epoch_{best_epoch}.pth'
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best_')) == [name]
    msgs = runner.meta['hook_msgs']
    assert msgs['best_score'] == scores[best_epoch - 1]
    assert msgs['best_ckpt'] == str(tmp_path / name)
    meta = torch.load(tmp_path / name, weights_only=True)['meta']
    assert meta['epoch'] == best_epoch and meta['hook_msgs']['best_score'] == scores[best_epoch - 1]


# ---- 24. the text logger logs the first param group's lr (mmcv: current_lr()[0]) -----------

class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize('groups', ['paramwise', 'manual'])
def test_text_logger_reports_the_first_param_groups_lr(tmp_path, groups):
    """mmcv TextLoggerHook.log: 'only record lr of the first param group' (cur_lr[0]). Here
    the first group has the smaller lr (0.05 and 0.2; times 0.1 after epoch 1)."""
    model = TinyModel()
    if groups == 'paramwise':           # fc.weight, then fc.bias: module order, as mmcv
        paramwise = ParamwiseConfig(custom_keys={'weight': dict(lr_mult=0.5),
                                                 'bias': dict(lr_mult=2.0)})
        optimizer = build_optimizer(model, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=0.0,
                                                           paramwise_cfg=paramwise))
    else:
        optimizer = torch.optim.SGD([{'params': [model.fc.weight], 'lr': 0.05},
                                     {'params': [model.fc.bias], 'lr': 0.2}], lr=0.1, momentum=0.9)
    assert [g['lr'] for g in optimizer.param_groups] == pytest.approx([0.05, 0.2])
    logger = logging.getLogger(f'minicls.test.planted.{groups}')
    logger.handlers.clear()
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    runner = bare_runner(tmp_path, 2, lr_config=LrConfig(policy='step', step=[1], gamma=0.1),
                         log=LogConfig(interval=2), model=model, optimizer=optimizer, logger=logger)
    runner.run([loader(n=4)], [('train', 1)])
    lines = [m.split('\t') for m in handler.messages if m.startswith('Epoch [')]
    assert [line[0] for line in lines] == ['Epoch [1][2/4]', 'Epoch [1][4/4]',
                                           'Epoch [2][2/4]', 'Epoch [2][4/4]']
    assert [line[1].split(',')[0] for line in lines] == \
        ['lr: 5.000e-02', 'lr: 5.000e-02', 'lr: 5.000e-03', 'lr: 5.000e-03']
    records = [json.loads(x) for x in open(tmp_path / 'test.log.json')][1:]
    assert [r['lr'] for r in records if r['mode'] == 'train'] == [0.05, 0.05, 0.005, 0.005]
    assert runner.current_lr() == pytest.approx([0.005, 0.02])     # both groups scheduled


def test_resume_keeps_hook_msgs_so_the_first_evaluation_after_it_is_not_always_best(tmp_path):
    """save_best's best_score and best_ckpt travel in meta['hook_msgs'] (mmcv:
    runner.meta, saved in every checkpoint, restored by resume): epoch 3's 55 after a resume
    at epoch 2 is not a new best against epoch 1's 60."""
    def run(max_epochs, scores, resume=None):
        runner = make_runner(tmp_path, max_epochs)
        values, val = iter(scores), loader(n=2)
        val.dataset.evaluate = lambda results, **kw: {'accuracy_top-1': next(values)}
        runner.register_hook(EvalHook(val, save_best='accuracy_top-1'), 'LOW')
        if resume:
            runner.resume(str(tmp_path / resume))
        runner.run([loader(n=2)], [('train', 1)])
        return runner
    run(2, [60.0, 50.0])
    runner = run(3, [55.0], resume='epoch_2.pth')
    best = str(tmp_path / 'best_accuracy_top-1_epoch_1.pth')
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best_')) == [os.path.basename(best)]
    assert runner.meta['hook_msgs'] == dict(runner.meta['hook_msgs'], best_score=60.0, best_ckpt=best)
    assert torch.load(tmp_path / 'epoch_3.pth', weights_only=True)['meta']['hook_msgs']['best_score'] == 60.0


# ---- Resume keeps hook_msgs; the sampler's epoch ------------------------------------------
from types import SimpleNamespace  # noqa: E402

from hooks import DistSamplerSeedHook  # noqa: E402


def test_resume_keeps_best_score_so_a_worse_epoch_is_not_best(tmp_path, monkeypatch):
    first = make_runner(tmp_path / 'a', max_epochs=1)
    first.meta['hook_msgs'] = {'best_score': 90.0, 'best_ckpt': str(tmp_path / 'a' / 'best.pth')}
    first.save_checkpoint(str(tmp_path / 'a'))
    runner = make_runner(tmp_path / 'b', max_epochs=2)
    hook = EvalHook(loader(), save_best='accuracy_top-1')
    runner.register_hook(hook, 'LOW')
    runner.resume(str(tmp_path / 'a' / 'epoch_1.pth'))
    assert runner.meta['hook_msgs']['best_score'] == 90.0
    monkeypatch.setattr(type(hook.dataloader.dataset), 'evaluate',
                        lambda *a, **k: {'accuracy_top-1': 50.0})
    hook.before_run(runner)
    hook._do_evaluate(runner)                          # 50 < 90: not a new best
    assert runner.meta['hook_msgs']['best_score'] == 90.0
    assert not any(f.startswith('best_') for f in os.listdir(tmp_path / 'b'))


@pytest.mark.parametrize('epoch', [0, 3])
def test_dist_sampler_seed_hook_gives_the_sampler_the_epoch_itself(epoch):
    epochs = []
    sampler = SimpleNamespace(set_epoch=epochs.append, skip_batches=0)
    runner = SimpleNamespace(epoch=epoch, mode='train', resume_batches=2,
                             data_loader=SimpleNamespace(sampler=sampler))
    DistSamplerSeedHook().before_train_epoch(runner)
    assert epochs == [epoch] and sampler.skip_batches == 2
