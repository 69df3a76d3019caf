"""How much of a busy machine one training process gets, by torch thread count and OpenMP
spin: the demo model's training step (batch 128, channels_last, as configs/demo.py) in a
child process, quiet and beside N busy processes (`python -c "while True: pass"`).

    python benchmarks/cpu_share.py [--load 2] [--reps 3] [--steps 20]

The busy processes run either in sessions of their own (as programs started from other
terminals, and as end_to_end.py --load starts them) or in this one. Linux, with
/proc/sys/kernel/sched_autogroup_enabled = 1, shares the CPU between sessions first and
between the threads of a session second (man 7 sched, "The autogroup feature"): beside N busy
sessions on C cores a session gets C / (N + 1) cores, however many threads it runs.
"cores" is the quiet one-thread time over the row's time: the cores the process effectively had.
"""
import argparse
import os
import subprocess
import sys

from common import ROOT, median, report

STEP = f'''
import sys, time
sys.path.insert(0, {ROOT!r})
import torch
torch.set_num_threads(int(sys.argv[1]))
steps = int(sys.argv[2])
import runpy
cfg = runpy.run_path({ROOT!r} + '/configs/demo.py')['cfg']
from model import build_classifier
torch.manual_seed(0)
model = build_classifier(cfg.model)
model.init_weights()
model.to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
x = torch.randn(steps * 128, 3, 32, 32).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (steps * 128,))

def epoch():
    for i in range(0, steps * 128, 128):
        loss = model.train_step(dict(img=x[i:i + 128], gt_label=y[i:i + 128]))['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()

epoch()                                     # warm-up: allocations, oneDNN's kernels
start = time.perf_counter()
epoch()
print((time.perf_counter() - start) / steps * 1000)
'''


def step_ms(threads, spin, steps):
    env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE', GOMP_SPINCOUNT=str(spin))
    r = subprocess.run([sys.executable, '-c', STEP, str(threads), str(steps)], capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    return float(r.stdout.split()[-1])


def busy(n, own_sessions):
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass'], start_new_session=own_sessions)
            for _ in range(n)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--load', type=int, default=2)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--steps', type=int, default=20, help='timed steps, after as many warm-up steps')
    args = p.parse_args()
    settings = [(1, 0), (2, 0), (2, 10000)]          # (torch threads, GOMP_SPINCOUNT)
    rows, one_thread = [], None
    for where in ('quiet', 'own sessions', 'this session')[:1 if args.load == 0 else 3]:
        procs = [] if where == 'quiet' else busy(args.load, own_sessions=where == 'own sessions')
        try:
            for threads, spin in settings:
                times = [step_ms(threads, spin, args.steps) for _ in range(args.reps)]
                one_thread = one_thread or median(times)      # the first row: quiet, one thread
                rows.append({'busy processes': 0 if where == 'quiet' else f'{args.load}, {where}',
                             'torch threads': threads, 'GOMP_SPINCOUNT': spin,
                             'ms / step': f'{median(times):.1f}', 'runs': ' '.join(f'{t:.1f}' for t in times),
                             'cores': f'{one_thread / median(times):.2f}'})
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    try:
        with open('/proc/sys/kernel/sched_autogroup_enabled') as f:
            autogroup = f.read().strip()
    except OSError:
        autogroup = 'not there'
    report(f'cpu_share_load{args.load}', rows, list(rows[0]))
    print(f'sched_autogroup_enabled: {autogroup}')


if __name__ == '__main__':
    main()
