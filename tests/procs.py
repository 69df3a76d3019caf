"""Subprocesses for the tests: each one in its own session (process group), and the whole
group killed when the test fails, times out or is interrupted, so that no train.py
grandchild or DataLoader worker outlives its test."""
import os
import signal
import subprocess
import time
from contextlib import contextmanager


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(args, timeout, **kwargs):
    """subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs), in its
    own process group; the group is killed if anything goes wrong, and on the way out."""
    kwargs.pop('text', None)              # always text, always captured
    kwargs.pop('capture_output', None)
    kwargs.setdefault('stdout', subprocess.PIPE)
    kwargs.setdefault('stderr', subprocess.PIPE)
    with subprocess.Popen(args, text=True, start_new_session=True, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            kill_group(proc)          # the group: a finished child may have left workers behind
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@contextmanager
def popen(args, **kwargs):
    """subprocess.Popen in its own process group, killed with the group when the block ends."""
    proc = subprocess.Popen(args, text=True, start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        kill_group(proc)
        proc.wait()


def signal_when_paused(proc, folder, signum, group=False, timeout=300):
    """Wait until the process pauses (tests/tiny.py: PauseAt writes `folder`/paused), send it
    `signum` (to its whole process group with group=True, as a closed terminal or Slurm
    does), then let it go on. False if it ended first or never paused."""
    paused, deadline = os.path.join(folder, 'paused'), time.monotonic() + timeout
    while not os.path.exists(paused):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    open(os.path.join(folder, 'go'), 'w').close()
    return True
