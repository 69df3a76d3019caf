"""The two guards every run registers (train.py, step 4), not in mmcv's default set:

    CheckInvalidLossHook   HIGH     a NaN/inf loss stops before the optimizer steps on it
    StopSignalHook         LOWEST   Ctrl-C, SIGTERM, SIGHUP: save iter_N.pth, then stop

and one check before the run, `check_open_files` (train.py's main, beside the thread policy).
Both hooks stop by raising TrainingStopped, which train.py's cli turns into one line and its exit
status. They are hooks, so the loop stays mmcv's (extras/options/distributed.py: DistStopSignalHook,
the same stop agreed between processes).
"""
import math
import resource
import signal
import sys
import threading

import torch

from config import ConfigError
from hooks import Hook


class TrainingStopped(Exception):
    """A stop on purpose (a signal) or one the user must see (a NaN loss): exit `exit_code`."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


class SecondSignal(KeyboardInterrupt):
    """A stop signal sent again: stop at once. train.py's cli names it and exits with
    128 + its number (a KeyboardInterrupt, so that no `except Exception` swallows it)."""

    def __init__(self, signum):
        super().__init__(f'{signal.Signals(signum).name} received twice')
        self.exit_code = 128 + signum


class CheckInvalidLossHook(Hook):
    """Stop at a NaN/inf loss before the optimizer steps on it (HIGH, ahead of the
    OptimizerHook) and before any epoch-end checkpoint (mmdet has a hook of this name). A
    look at a loss on the GPU waits for the GPU, so there it happens every `interval`
    iterations (50; on the CPU 1, for free)."""

    def __init__(self, interval=None):
        self.interval = interval
        self.pending = []                     # (epoch, iter, loss) not looked at yet

    def after_train_iter(self, runner):
        if self.interval is None:
            self.interval = 1 if runner.device.type == 'cpu' else 50
        loss = runner.outputs['loss']
        loss = loss.detach() if torch.is_tensor(loss) else loss
        self.pending.append((runner.epoch, runner.iter, loss))
        if len(self.pending) >= self.interval:
            self.check()

    def after_train_epoch(self, runner):
        self.check()

    def check(self):
        losses = [v for _, _, v in self.pending]
        if all(not torch.is_tensor(v) or (v.numel() == 1 and v.device.type == 'cpu')
               for v in losses):                # on the CPU: no tensor ops
            bad = [not math.isfinite(float(v)) for v in losses]
        else:                                  # on the GPU: one copy to the CPU for the window
            values = [torch.as_tensor(v, dtype=torch.float32).reshape(-1).cpu() for v in losses]
            bad = (~torch.stack([torch.isfinite(v).all() for v in values])).tolist()
        if any(bad):
            epoch, it, value = self.pending[bad.index(True)]
            value = value.item() if torch.is_tensor(value) and value.numel() == 1 else value
            raise TrainingStopped(f'the loss is {value} at epoch {epoch + 1}, iter {it + 1}; '
                                  'training stopped, the last good checkpoint is kept', 1)
        self.pending.clear()


class StopSignalHook(Hook):
    """Ctrl-C, SIGTERM or SIGHUP (a closed ssh session): finish the iteration, save
    `iter_<N>.pth` (a resume continues inside the epoch), stop with 128 + the signal number.
    A second signal stops at once. Priority LOWEST: the iteration is complete by then.
    (Not `runner.should_stop`, which ends the run quietly after the epoch.)"""

    def __init__(self):
        self.signum, self.previous = None, {}

    def before_run(self, runner):
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self.on_signal)
                             for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def on_signal(self, signum, frame):
        if self.signum is not None:           # the second one: stop now
            raise SecondSignal(signum)
        self.signum = signum
        print(f'{signal.Signals(signum).name} received: finishing this iteration, then saving '
              '(send it again to stop at once)', file=sys.stderr, flush=True)

    def signal_received(self, runner):
        return self.signum is not None

    def after_train_iter(self, runner):
        if self.signal_received(runner):
            path = runner.save_checkpoint(runner.work_dir, 'iter_{}.pth', mid_epoch=True)
            self.restore_signal_handlers()
            raise TrainingStopped(f'{signal.Signals(self.signum).name} received: stopped at '
                                  f'epoch {runner.epoch + 1}, iter {runner.iter + 1}; '
                                  f'resume with --resume {path}', 128 + self.signum)

    def after_run(self, runner):
        self.restore_signal_handlers()

    def restore_signal_handlers(self):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        self.previous = {}


def check_open_files(workers):
    """Enough open files for the loader workers: they hand every batch's tensors to the main
    process as file descriptors (torch's file_descriptor sharing), and with too few allowed,
    multiprocessing's threads fail in thousands of lines of tracebacks. Measured with the demo
    on this project's 2-core machine (torch 2.14): 2 workers ran at ulimit -n 32, 4 at 48, 8 at
    64; asked for: 32 + 8 a worker."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    wanted = 32 + 8 * workers
    if workers and soft != resource.RLIM_INFINITY and soft < wanted:
        raise ConfigError(f'data.workers_per_gpu={workers} wants {wanted} open files or more, but '
                          f'ulimit -n allows {soft}: the loader workers pass every batch as file '
                          'descriptors; raise ulimit -n, or lower data.workers_per_gpu')
