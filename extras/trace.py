"""The trace: the flow, as it happens (`python train.py ... --trace`).

train.py prints the eight steps of train_model as it takes them, and registers this hook,
which prints every call_hook of the first iterations with the hooks it dispatches to.
"""
from hooks import Hook


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
        if stage in ('before_run', 'after_run'):
            show = True
        elif 'val' in stage:
            show = self.val_seen == 1 and ('epoch' in stage or runner.inner_iter < self.iters)
        else:
            show = runner.epoch == self.first_train_epoch and ('epoch' in stage or runner.inner_iter < self.iters)
        if show:
            names = ', '.join(type(h).__name__ for h in runner.stage_hooks(stage) if h is not self) or '-'
            where = ('' if stage.endswith('_run') else f'epoch {runner.epoch + 1}' if 'epoch' in stage
                     else f'epoch {runner.epoch + 1}, iter {runner.inner_iter + 1}')
            runner.logger.info(f'[trace] call_hook({stage!r:21}) {where:20} -> {names}')
        elif stage == 'after_train_epoch':
            runner.logger.info(f'[trace] epoch {runner.epoch + 1}: {runner.inner_iter + 1} iterations, '
                               f'{self.calls} call_hook calls so far')

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
