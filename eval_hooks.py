"""Evaluation during training: EvalHook (mmcv: hooks/evaluation.py) and EarlyStoppingHook.

    EvalHook(val_loader, interval=1, start=None, save_best=None, rule=None, metric='accuracy')

registered by train_model at priority LOW, after the IterTimerHook and before the
TextLoggerHook, so that its metrics land in the log buffer just before the logger reads
it at `after_train_epoch` (logged as an `Epoch(val)` line).
EarlyStoppingHook (mmengine has one; mmcv 1.x does not) stops training when a metric
has not improved for `patience` evaluations.
"""
import os
import sys

import torch

from hooks import Hook, LoggerHook

def single_gpu_test(runner, data_loader):
    """Run the model over a loader; return one score array per sample (mmcls: apis/test.py).
    With mixed precision on, the forward runs under the training's autocast: mmcv's fp16 does
    the same (Fp16OptimizerHook turns on mmcls's @auto_fp16 forward, for training and test)."""
    model = getattr(runner.model, 'module', runner.model)     # not through DDP: no sync needed
    model.eval()
    results = []
    show = sys.stderr.isatty() and runner.rank == 0
    with torch.no_grad(), runner.autocast():
        for i, batch in enumerate(data_loader):
            batch = runner.batch_to_device(batch)
            results.extend(model(return_loss=False, img=batch['img']))
            if show:
                done = (i + 1) / len(data_loader)
                sys.stderr.write(f'\r[{"#" * int(30 * done):<30}] {i + 1}/{len(data_loader)}')
    if show:
        sys.stderr.write('\n')
    return results


def collect_results(part, size):
    """Every process's results -> the whole list in dataset order (mmcv: collect_results_cpu).
    With round_up, the sampler gave process r the samples r, r + W, r + 2W, ... and padded
    the last round with repeats: interleave the parts back, then drop the padding."""
    parts = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(parts, part)
    ordered = [result for round_ in zip(*parts) for result in round_]
    return ordered[:size]


class EvalHook(Hook):
    """Evaluate on the val loader every `interval` epochs (after `start`, if given), put
    the metrics in the log buffer for the logger, and keep `best_<key>_epoch_N.pth` when
    `save_best` is set ('auto' takes the first metric). mmcls registers it at LOW."""
    greater_keys = ('acc', 'top', 'ar@', 'auc', 'precision', 'map', 'mdice', 'miou', 'macc', 'aacc')
    less_keys = ('loss',)

    def __init__(self, dataloader, start=None, interval=1, by_epoch=True, save_best=None,
                 rule=None, **eval_kwargs):
        if interval <= 0:
            raise ValueError(f'evaluation.interval must be a positive number, got {interval}')
        if start is not None and start < 0:
            raise ValueError(f'evaluation.start must be >= 0, got {start}')
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"evaluation.rule must be 'greater', 'less' or None, got {rule!r}")
        self.dataloader = dataloader
        self.start, self.interval, self.by_epoch = start, interval, by_epoch
        self.save_best, self.rule = save_best, rule
        self.eval_kwargs = eval_kwargs        # metric=..., metric_options=...
        self.initial_flag = True
        if save_best not in (None, 'auto'):
            self.rule = rule or self._infer_rule(save_best)

    def _infer_rule(self, key):
        k = key.lower()
        if any(g in k for g in self.greater_keys):
            return 'greater'
        if any(s in k for s in self.less_keys):
            return 'less'
        raise ValueError(f'cannot infer evaluation.rule for save_best={key!r}; set rule to "greater" or "less"')

    def before_run(self, runner):
        self.out_dir = runner.work_dir
        if self.save_best is not None:
            runner.meta.setdefault('hook_msgs', {})
            self.best_ckpt_path = runner.meta['hook_msgs'].get('best_ckpt')

    def before_train_iter(self, runner):
        # by_iter only: with `start` at or before the first iteration, evaluate once first
        if self.by_epoch or not self.initial_flag:
            return
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)
        self.initial_flag = False

    def before_train_epoch(self, runner):
        if not (self.by_epoch and self.initial_flag):
            return
        if self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)
        self.initial_flag = False

    def after_train_iter(self, runner):
        if not self.by_epoch and self._should_evaluate(runner):
            for hook in runner.hooks:        # flush the train log before the val line
                if isinstance(hook, LoggerHook):
                    hook.after_train_iter(runner)
            runner.log_buffer.clear()
            self._do_evaluate(runner)

    def after_train_epoch(self, runner):
        if self.by_epoch and self._should_evaluate(runner):
            self._do_evaluate(runner)

    def _should_evaluate(self, runner):
        current = runner.epoch if self.by_epoch else runner.iter
        if self.start is None:
            every = self.every_n_epochs if self.by_epoch else self.every_n_iters
            return every(runner, self.interval)
        return current + 1 >= self.start and (current + 1 - self.start) % self.interval == 0

    def test(self, runner):
        return single_gpu_test(runner, self.dataloader)

    def _do_evaluate(self, runner):
        results = self.test(runner)
        runner.model.train()
        if results is None:                  # a DistEvalHook on a rank other than 0
            return
        metrics = self.dataloader.dataset.evaluate(results, **self.eval_kwargs)
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        runner.log_buffer.output.update(metrics)
        runner.log_buffer.ready = True
        if self.save_best is not None and metrics:
            if self.save_best == 'auto':
                self.save_best = next(iter(metrics))
                self.rule = self.rule or self._infer_rule(self.save_best)
            self._save_best(runner, metrics[self.save_best])

    def _save_best(self, runner, score):
        if self.by_epoch:
            current, unit, at = f'epoch_{runner.epoch + 1}', 'epoch', runner.epoch + 1
        else:
            current, unit, at = f'iter_{runner.iter + 1}', 'iter', runner.iter + 1
        msgs = runner.meta['hook_msgs']
        best = msgs.get('best_score', float('-inf') if self.rule == 'greater' else float('inf'))
        if not (score > best if self.rule == 'greater' else score < best):
            return
        msgs['best_score'] = score
        if self.best_ckpt_path and os.path.isfile(self.best_ckpt_path):
            os.remove(self.best_ckpt_path)    # only ever our own previous best file
            runner.logger.info(f'The previous best checkpoint {self.best_ckpt_path} was removed')
        name = f'best_{self.save_best}_{current}.pth'
        self.best_ckpt_path = msgs['best_ckpt'] = os.path.join(self.out_dir, name)
        runner.save_checkpoint(self.out_dir, filename_tmpl=name, update_latest=False)
        runner.logger.info(f'Now best checkpoint is saved as {name}.')
        runner.logger.info(f'Best {self.save_best} is {score:0.4f} at {at} {unit}.')


class DistEvalHook(EvalHook):
    """Every process evaluates its share of the val set; rank 0 gathers the results in
    dataset order, computes the metrics, logs them and keeps the best checkpoint
    (mmcv: DistEvalHook). BN statistics of rank 0 are copied to all processes first, so
    every shard is evaluated with the same model."""

    def test(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                torch.distributed.broadcast(module.running_var, 0)
                torch.distributed.broadcast(module.running_mean, 0)
        results = collect_results(single_gpu_test(runner, self.dataloader), len(self.dataloader.dataset))
        return results if runner.rank == 0 else None

