"""End to end: the demo (`python train.py --config configs/demo.py`) as a user runs it, from a
cold start, quiet or under load, beside the same compute in a bare PyTorch loop.

    python benchmarks/end_to_end.py [--reps 5] [--load 2] [-- train.py options]

Each run starts in a fresh folder, so it writes the demo data too (data synthesis included),
and counts from the process start to its exit. Reported (medians over --reps runs):
- wall s: the whole run; start-up s: from the start to the runner's "Start running" line
  (imports, data synthesis, model, loaders); epoch s: between consecutive "Saving
  checkpoint" lines (an epoch's training + the previous epoch's evaluation).
- bare s: the same model, optimizer, batches and epochs (and the evaluation of the val set
  after each epoch) in a plain loop over tensors made once, with the same thread count, memory layout and
  OpenMP wait policy;
  demo/bare is the price of everything else (the pipeline and loaders, hooks, logs,
  checkpoints), measured in the same invocation.
--load N starts N busy processes (`python -c "while True: pass"`) for the whole measurement
and kills them afterwards: the machine as it is when something else runs.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import ROOT, median, report


def one_run(extra):
    work = tempfile.mkdtemp(prefix='minicls_e2e_')         # cwd: the demo data is written here, cold
    start, t0 = time.perf_counter(), time.time()
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'train.py'), '--config',
                        os.path.join(ROOT, 'configs', 'demo.py'), '--work-dir', 'w', *extra],
                       cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    lines = r.stdout.splitlines()

    def stamp(line):
        return time.mktime(time.strptime(line[:19], '%Y-%m-%d %H:%M:%S')) + int(line[20:23]) / 1000
    saves = [stamp(line) for line in lines if 'Saving checkpoint' in line]
    running = stamp(next(line for line in lines if 'Start running' in line))
    threads = re.search(r'torch threads: (\d+)', r.stdout).group(1)
    val = [line.rsplit('accuracy_top-1: ', 1)[1].split(',')[0] for line in lines if 'Epoch(val)' in line]
    shutil.rmtree(work)
    return dict(wall=wall, startup=running - t0, epochs=[b - a for a, b in zip(saves, saves[1:])],
                top1=val[-1], threads=threads)


def bare(threads):
    """The demo's compute in a plain loop: run in a child process so that it starts as cold."""
    code = BARE.format(root=ROOT, threads=threads)
    env = dict(os.environ)
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')   # as train.py sets them
    env.setdefault('GOMP_SPINCOUNT', '10000')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    return float(r.stdout.split()[-1])


BARE = '''
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads({threads})
import runpy
cfg = runpy.run_path({root!r} + '/configs/demo.py')['cfg']
from model import build_classifier
torch.manual_seed(0)
model = build_classifier(cfg.model)
model.init_weights()
layout = torch.channels_last if cfg.channels_last else torch.contiguous_format   # as the demo's
model.to(memory_format=layout)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
n_train, n_val, batch = 5000, 1000, cfg.data.samples_per_gpu
x, y = torch.randn(n_train, 3, 32, 32).contiguous(memory_format=layout), torch.randint(0, 10, (n_train,))
xv = torch.randn(n_val, 3, 32, 32).contiguous(memory_format=layout)
for epoch in range(cfg.total_epochs):
    model.train()
    for i in range(0, n_train, batch):
        loss = model.train_step(dict(img=x[i:i + batch], gt_label=y[i:i + batch]))['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for i in range(0, n_val, batch):
            model(img=xv[i:i + batch], return_loss=False)
print(time.perf_counter() - start)
'''


def start_load(n):
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass'], start_new_session=True) for _ in range(n)]


def stop_load(procs):
    for p in procs:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--load', type=int, default=0, help='busy processes running beside the measurement')
    p.add_argument('--no-bare', action='store_true')
    p.add_argument('train_args', nargs='*', help='after --: passed on to train.py')
    args = p.parse_args()
    load = start_load(args.load)
    try:
        runs = [one_run(args.train_args) for _ in range(args.reps)]
        bares = [] if args.no_bare else [bare(runs[0]['threads']) for _ in range(args.reps)]
    finally:
        stop_load(load)
    wall = median([r['wall'] for r in runs])
    row = {'what': 'demo (5 epochs, eval each, cold start) ' + ' '.join(args.train_args),
           'load': args.load, 'wall s': f'{wall:.1f}', 'walls': ' '.join(f'{r["wall"]:.1f}' for r in runs),
           'start-up s': f'{median([r["startup"] for r in runs]):.1f}',
           'epoch s': f'{median([e for r in runs for e in r["epochs"]]):.2f}',
           'torch threads': runs[0]['threads'], 'final top-1 %': ' '.join(r['top1'] for r in runs),
           'runs': args.reps}
    if bares:
        row.update({'bare s': f'{median(bares):.1f}', 'demo/bare': f'{wall / median(bares):.2f}'})
    report(f'end_to_end_load{args.load}', [row], list(row))


if __name__ == '__main__':
    main()
