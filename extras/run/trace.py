"""The trace: the flow, as the run takes it (`python train.py ... --trace`).

train_model has no trace in it. `--trace` adds one custom hook to the config,
`dict(type='TraceHook', priority='HIGHEST')` (train.py: build_cfg), which the runner registers
as it registers every custom hook (hooks.py: CUSTOM_HOOKS). At HIGHEST it acts first:

    before_run    says what train_model did in steps 1 to 8 (the loaders, the optimizer, the
                  runner, the hooks in priority order, evaluation, resume, run), read from
                  the runner and the config it carries in meta
    every stage   prints each call_hook of the first iterations of the first train epoch
                  (and of the first val epoch) with the hooks it dispatches to, then one line
                  per epoch; it leaves itself out of what it prints
"""
import json
import logging

from hooks import EvalHook, Hook, Priority

logger = logging.getLogger('minicls')


class TraceHook(Hook):
    """Says steps 1 to 8 of train_model at before_run, then prints every call_hook of the first
    `iters` iterations with the hooks it dispatches to. Not registered unless --trace is given
    (or a config names it in custom_hooks)."""

    def __init__(self, iters=2):
        self.iters = iters
        self.first_train_epoch = self.val_seen = None
        self.calls = 0

    def before_run(self, runner):
        self.say_steps(runner)
        self._show(runner, 'before_run')

    def say_steps(self, runner):
        """Steps 1 to 8 as train_model took them: meta['minicls_config'] is the run's config
        (train.py's main puts it there, as JSON), meta['seed'] the seed it drew."""
        cfg = json.loads(runner.meta['minicls_config'])
        data, opt = cfg['data'], cfg['optimizer']
        workflow = [tuple(entry) for entry in cfg['workflow']]
        say(f'1. build_dataloader x {len(workflow)}: batch {data["samples_per_gpu"]}, '
            f'{data["workers_per_gpu"]} workers, seed {runner.meta["seed"]}')
        say(f'2. build_optimizer: {opt["type"]}(lr={opt["lr"]}, momentum={opt["momentum"]}, '
            f'weight_decay={opt["weight_decay"]})')
        say(f"3. EpochBasedRunner(work_dir={cfg['work_dir']!r}, max_epochs={runner.max_epochs})")
        registered = [h for h in runner.hooks if h is not self and not isinstance(h, EvalHook)]
        say('4-5. registered: ' + ', '.join(f'{type(h).__name__} ({priority_name(h)})'
                                            for h in registered))
        for hook in runner.hooks:
            if isinstance(hook, EvalHook):
                say(f'6. {type(hook).__name__} ({priority_name(hook)}) on '
                    f'{len(hook.dataloader.dataset)} val images, every {hook.interval} epoch(s)')
        resume_from = cfg['resume_from']          # train_model: resume, else load_from
        load_from = None if resume_from else cfg['load_from']
        say(f'7. resume_from={resume_from!r}, load_from={load_from!r}')
        say(f'8. runner.run(data_loaders, workflow={workflow})')

    def _show(self, runner, stage):
        self.calls += 1
        if stage.startswith(('before_train', 'after_train')) and self.first_train_epoch is None:
            self.first_train_epoch = runner.epoch
        if stage.endswith('val_epoch') and stage.startswith('before'):
            self.val_seen = (self.val_seen or 0) + 1
        first_iters = 'epoch' in stage or runner.inner_iter < self.iters
        if stage in ('before_run', 'after_run'):
            show = True
        elif 'val' in stage:
            show = self.val_seen == 1 and first_iters
        else:
            show = runner.epoch == self.first_train_epoch and first_iters
        if show:
            names = ', '.join(type(h).__name__ for h in runner.stage_hooks(stage)
                              if h is not self) or '-'
            where = ('' if stage.endswith('_run') else f'epoch {runner.epoch + 1}'
                     if 'epoch' in stage else
                     f'epoch {runner.epoch + 1}, iter {runner.inner_iter + 1}')
            runner.logger.info(f'[trace] call_hook({stage!r:21}) {where:20} -> {names}')
        elif stage == 'after_train_epoch':
            runner.logger.info(f'[trace] epoch {runner.epoch + 1}: {runner.inner_iter + 1} '
                               f'iterations, {self.calls} call_hook calls so far')

    def after_run(self, runner): self._show(runner, 'after_run')
    def before_train_epoch(self, runner): self._show(runner, 'before_train_epoch')
    def after_train_epoch(self, runner): self._show(runner, 'after_train_epoch')
    def before_val_epoch(self, runner): self._show(runner, 'before_val_epoch')
    def after_val_epoch(self, runner): self._show(runner, 'after_val_epoch')
    def before_train_iter(self, runner): self._show(runner, 'before_train_iter')
    def after_train_iter(self, runner): self._show(runner, 'after_train_iter')
    def before_val_iter(self, runner): self._show(runner, 'before_val_iter')
    def after_val_iter(self, runner): self._show(runner, 'after_val_iter')


def say(step):
    logger.info(f'[trace] {step}')


def priority_name(hook):
    """'HIGH' for 30; a priority that Priority does not name, as its number."""
    named = hook.priority in Priority._value2member_map_
    return Priority(hook.priority).name if named else str(hook.priority)
