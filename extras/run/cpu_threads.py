"""How many threads torch computes with on the CPU (not in mmcls: torch's default is one
per core, which is too many beside loader workers or other busy programs).

    threads = set_cpu_threads(cfg.num_threads, cfg.data.workers_per_gpu)   # train.py's main

The lines that must run before torch is imported (OMP_WAIT_POLICY, GOMP_SPINCOUNT) stay
at the top of train.py. Measured on 2 cores in docs/benchmarks.md.
"""
import os
import time

import torch


def set_cpu_threads(num_threads, workers):
    """Set torch's threads: OMP_NUM_THREADS or `num_threads` when given, else the usable
    cores less the loader workers and the cores busy elsewhere. Returns the env-info
    line's words: how many cores are usable, how many threads, and why."""
    env = os.environ.get('OMP_NUM_THREADS', '')
    requested = int(env) if env.isdigit() else num_threads
    processes = int(os.environ.get('LOCAL_WORLD_SIZE', 1))   # this job's processes here
    cores = max(usable_cores() // processes, 1)
    busy = 0 if requested else busy_elsewhere(cores, processes)
    torch.set_num_threads(intra_op_threads(cores, workers, requested, busy))
    why = ('OMP_NUM_THREADS / num_threads' if requested
           else f'{cores} cores - {workers} loader workers - {busy} busy elsewhere')
    return f'{usable_cores()} usable, torch threads: {torch.get_num_threads()} ({why})'


def usable_cores():
    """The cores this process may run on (its CPU affinity; macOS has none: all of them)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def intra_op_threads(cores, workers, requested=None, busy=0):
    """`requested` when given, else the cores it may use minus one for each loader
    worker (a worker computes with one thread: torch sets that) and one for each task
    that keeps a core busy elsewhere, never fewer than 1. More threads than free cores
    wait on each other: the demo beside two busy processes on 2 cores took 99.8 s with
    two threads, 62.1 s with one."""
    return requested if requested else max(1, cores - workers - busy)


def busy_elsewhere(cores, processes=1, stat='/proc/stat', looks=5):
    """About how many of this process's `cores` other programs keep busy right now: the
    kernel's count of running tasks (Linux: procs_running in /proc/stat; the median of a
    few looks 10 ms apart), less this job's own `processes`, as a share of all the
    machine's cores. 0 where that count cannot be read."""
    counts = []
    for _ in range(looks):
        try:
            with open(stat) as f:
                counts.append(next(int(line.split()[1]) for line in f
                                   if line.startswith('procs_running ')))
        except (OSError, StopIteration, ValueError, IndexError):
            return 0
        time.sleep(0.01)
    others = max(0, sorted(counts)[len(counts) // 2] - processes)
    return round(others * cores / (os.cpu_count() or cores))
