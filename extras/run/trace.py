"""The trace: the flow, as it happens (`python train.py ... --trace`).

train_model has no trace in it. With --trace, train.py's main runs it inside
`trace_steps(globals())`, which swaps three of train.py's names for tracing ones while the
block runs (and back after):

    STREAMS           the loader builders: each call is noted (step 1 is said at step 2)
    build_optimizer   says steps 1 and 2, then builds the optimizer
    EpochBasedRunner  TracingRunner: says steps 3 to 8 as train_model takes them, and
                      registers TraceHook, which prints every call_hook of the first
                      iterations with the hooks it dispatches to
"""
import contextlib
import logging

from config import lookup
from hooks import EvalHook, Hook, Priority
from runner import EpochBasedRunner

logger = logging.getLogger('minicls')


@contextlib.contextmanager
def trace_steps(namespace):
    """While the block runs, train_model (whose module globals are `namespace`) says each
    step as it takes it."""
    loader_calls = []
    real = {name: namespace[name] for name in ('STREAMS', 'build_optimizer', 'EpochBasedRunner')}

    def noted(name):
        def build_loader(dataset, samples_per_gpu, workers_per_gpu, **kwargs):
            loader_calls.append((samples_per_gpu, workers_per_gpu, kwargs.get('seed')))
            build = lookup(real['STREAMS'], name, 'random_streams')
            return build(dataset, samples_per_gpu, workers_per_gpu, **kwargs)
        return build_loader

    def build_optimizer(model, opt):
        batch, workers, seed = loader_calls[0]
        say(f'1. build_dataloader x {len(loader_calls)}: batch {batch}, {workers} workers, '
            f'seed {seed}')
        say(f'2. build_optimizer: {opt.type}(lr={opt.lr}, momentum={opt.momentum}, '
            f'weight_decay={opt.weight_decay})')
        return real['build_optimizer'](model, opt)

    namespace.update(STREAMS={name: noted(name) for name in real['STREAMS']},
                     build_optimizer=build_optimizer, EpochBasedRunner=TracingRunner)
    try:
        yield
    finally:
        namespace.update(real)


def say(step):
    logger.info(f'[trace] {step}')


class TracingRunner(EpochBasedRunner):
    """EpochBasedRunner that says steps 3 to 8 of train_model as they are taken."""

    def __init__(self, model, **kwargs):
        say(f"3. EpochBasedRunner(work_dir={kwargs.get('work_dir')!r}, "
            f"max_epochs={kwargs.get('max_epochs')})")
        super().__init__(model, **kwargs)
        self.register_hook(TraceHook(), 'HIGHEST')
        self.step_7_said = False

    def register_hook(self, hook, priority='NORMAL'):
        super().register_hook(hook, priority)
        if type(hook).__name__ == 'DistSamplerSeedHook':       # the last hook of step 5
            say('4-5. registered: ' + ', '.join(f'{type(h).__name__} ({Priority(h.priority).name})'
                                                for h in self.hooks
                                                if not isinstance(h, TraceHook)))
        elif isinstance(hook, EvalHook):
            say(f'6. {type(hook).__name__} ({Priority(hook.priority).name}) on '
                f'{len(hook.dataloader.dataset)} val images, every {hook.interval} epoch(s)')

    def say_step_7(self, resume_from=None, load_from=None):
        if not self.step_7_said:
            say(f'7. resume_from={resume_from!r}, load_from={load_from!r}')
            self.step_7_said = True

    def resume(self, filename, *args, **kwargs):
        self.say_step_7(resume_from=filename)
        return super().resume(filename, *args, **kwargs)

    def load_checkpoint(self, filename, *args, **kwargs):
        self.say_step_7(load_from=filename)
        return super().load_checkpoint(filename, *args, **kwargs)

    def run(self, data_loaders, workflow, max_epochs=None):
        self.say_step_7()
        say(f'8. runner.run(data_loaders, workflow={workflow})')
        return super().run(data_loaders, workflow, max_epochs)


class TraceHook(Hook):
    """Prints every call_hook of the first `iters` iterations of the first train epoch (and
    of the first val epoch) with the hooks it dispatches to, in order; after that one line
    per epoch. It is itself a hook, at HIGHEST, so it sees each stage before the others;
    it leaves itself out of what it prints. Not registered unless --trace is given."""

    def __init__(self, iters=2):
        self.iters = iters
        self.first_train_epoch = self.val_seen = None
        self.calls = 0

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

    def before_run(self, runner): self._show(runner, 'before_run')
    def after_run(self, runner): self._show(runner, 'after_run')
    def before_train_epoch(self, runner): self._show(runner, 'before_train_epoch')
    def after_train_epoch(self, runner): self._show(runner, 'after_train_epoch')
    def before_val_epoch(self, runner): self._show(runner, 'before_val_epoch')
    def after_val_epoch(self, runner): self._show(runner, 'after_val_epoch')
    def before_train_iter(self, runner): self._show(runner, 'before_train_iter')
    def after_train_iter(self, runner): self._show(runner, 'after_train_iter')
    def before_val_iter(self, runner): self._show(runner, 'before_val_iter')
    def after_val_iter(self, runner): self._show(runner, 'after_val_iter')
