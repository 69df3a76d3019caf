"""End to end: wall time, time per epoch and peak memory of the demo
(`python train.py --config configs/demo.py`), run as a user runs it, in a fresh work dir.

    python benchmarks/end_to_end.py [--reps 3] [-- train.py options, e.g. --cfg-options data.train.batched=True]

Time per epoch: between consecutive "Saving checkpoint" lines of the log (train + the
previous epoch's evaluation). Peak memory: the largest resident set of the training
process and its DataLoader workers (getrusage of the children). Medians over --reps runs;
the first run also writes the demo data (about a second).
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from common import ROOT, median, report


def one_run(extra):
    work = tempfile.mkdtemp(prefix='minicls_e2e_')
    start = time.perf_counter()
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'train.py'), '--config',
                        os.path.join(ROOT, 'configs', 'demo.py'), '--work-dir', os.path.join(work, 'w'), *extra],
                       cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    stamps = [time.mktime(time.strptime(line[:19], '%Y-%m-%d %H:%M:%S')) + int(line[20:23]) / 1000
              for line in r.stdout.splitlines() if 'Saving checkpoint' in line]
    val = [line.rsplit('accuracy_top-1: ', 1)[1].split(',')[0] for line in r.stdout.splitlines()
           if 'Epoch(val)' in line]
    shutil.rmtree(work)
    return wall, [b - a for a, b in zip(stamps, stamps[1:])], val[-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('train_args', nargs='*', help='after --: passed on to train.py')
    args = p.parse_args()
    runs = [one_run(args.train_args) for _ in range(args.reps)]
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    what = 'demo: python train.py --config configs/demo.py (5 epochs, eval each) ' + ' '.join(args.train_args)
    rows = [{'what': what,
             'wall s': f'{median([w for w, _, _ in runs]):.1f}',
             'epoch s': f'{median([e for _, es, _ in runs for e in es]):.2f}',
             'peak RSS MiB': f'{peak_mib:.0f}', 'final top-1 %': runs[-1][2], 'runs': args.reps}]
    report('end_to_end', rows, list(rows[0]))


if __name__ == '__main__':
    main()
