"""Checkpoints across minicls and mmcls 0.25 (they load both ways), and the same run in both
(the same random streams).

    bash benchmarks/mmcv_reference_setup.sh /tmp/mmref                 # once: mmcv 1.7.2, mmcls 0.25.0
    python benchmarks/interop.py --mmref /tmp/mmref                    # resume both ways (~13 min, 2 vCPUs)
    python benchmarks/interop.py --mmref /tmp/mmref --same-streams     # random_streams='mmcls' (~2 min)
    python benchmarks/interop.py --mmref /tmp/mmref --same-streams --workers 0 --seeds 3

The data, the config templates, the mmcls driver and the log reader are benchmarks/real_data.py's
(benchmarks/real_data.py's recipe: ResNet_CIFAR-18 at width 8 on scikit-learn's digits in CIFAR-10's files,
batch 64, SGD lr 0.05 momentum 0.9 wd 1e-4, 2 loader workers, evaluation every epoch), with a
shorter schedule: N = 20 epochs, LR x0.1 after epochs 10 and 16, a checkpoint every
k = 10 epochs (and at the end). (N = 10 with steps at 5 and 8 ends near 33 % top-1, still
climbing: too early to compare final accuracies.) Every run is one process under `nice -n 19` with OMP_NUM_THREADS=1.

Resume (default):
1. The uninterrupted runs, seeds 0-4 (--seeds), each system:
   minicls: `train.py --config <work>/w2/minicls_digits.py --work-dir <run> --seed S`
   mmcls:   `real_data.py --mmcls-driver <work>/w2/mmcls_digits.py --work-dir <run> --seed S`
2. Both directions, from each seed's uninterrupted run at epoch k (its first k epochs are the k
   epochs of the first system; its checkpoint epoch_10.pth):
   mmcls -> minicls: `train.py --config <work>/w2/minicls_digits.py --work-dir <run> --seed S
                      --resume <mmcls run>/epoch_10.pth`
   minicls -> mmcls: the driver on <work>/w2/mmcls_resume_S.py, which is `_base_ = 'mmcls_digits.py'`
                     and `resume_from = '<minicls run>/epoch_10.pth'` (mmcls's own way to resume)
3. Per run, from its <timestamp>.log.json: the LR of each epoch (its first train line), each
   epoch's top-1, the final top-1; from its .log: the `resumed epoch k, iter i` line. The
   resumed runs' final top-1 is set against each system's uninterrupted mean +- sd (n - 1).

Same streams (--same-streams): per seed (default 0), mmcls's driver and `train.py ...
--cfg-options random_streams=mmcls` on the same data and config for N epochs; the number of
state_dict tensors of the two epoch_N.pth that differ (torch.equal), and whether the two
.log.json files' train losses, LRs and val top-1s are identical. A control: the minicls run
with its default streams ('minicls') against the same mmcls run.

Results: the JSON (--out; each mode rewrites its own section) and a table.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine  # noqa: E402
from real_data import (MINICLS_CONFIG, MMCLS_CONFIG, RECIPE, mmcls_available,  # noqa: E402
                       prepare_data, read_log_json)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_DATA = os.path.join(REPO, 'benchmarks', 'real_data.py')
EPOCHS, STEPS, RESUME_AT = 20, [10, 16], 10   # resumed epoch 11 is the first at 5e-3


# ---- The configs: real_data.py's, a shorter schedule ------------------------------------

def write_configs(folder, prefix, workers, epochs=EPOCHS, steps=STEPS, every=RESUME_AT, **recipe):
    """<folder>/{minicls,mmcls}_digits.py: real_data.py's, N epochs, steps at STEPS, a checkpoint
    every k epochs (`recipe`: other RECIPE values). minicls's file keeps real_data.py's name: its
    dataset type is 'minicls_digits:DigitsCIFAR10', a class in that file."""
    os.makedirs(folder, exist_ok=True)
    values = dict(RECIPE, epochs=epochs, steps=steps, workers=workers, prefix=os.path.abspath(prefix))
    values.update(recipe)
    extra = {'minicls': f'\n# benchmarks/interop.py: a checkpoint every {every} epochs\n'
                        f'cfg = replace(cfg, checkpoint_config=CheckpointConfig(interval={every}))\n',
             'mmcls': f'\n# benchmarks/interop.py: a checkpoint every {every} epochs\n'
                      f'checkpoint_config = dict(interval={every})\n'
                      # torch refuses persistent workers without workers (mmcls passes True)
                      + ('data.update(persistent_workers=False)\n' if workers == 0 else '')}
    paths = {}
    for system, text in (('minicls', MINICLS_CONFIG), ('mmcls', MMCLS_CONFIG)):
        paths[system] = os.path.join(folder, f'{system}_digits.py')
        with open(paths[system], 'w') as f:
            f.write(text.format(**values) + extra[system])
    return paths


def mmcls_resume_config(configs, seed, checkpoint):
    path = os.path.join(os.path.dirname(configs['mmcls']), f'mmcls_resume_{seed}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = 'mmcls_digits.py'\nresume_from = {os.path.abspath(checkpoint)!r}\n")
    return path


# ---- The runs ----------------------------------------------------------------------------

def train(name, system, config, seed, args, more=()):
    """One run in <work>/runs/<name>: minicls's train.py or real_data.py's mmcls driver."""
    run_dir = os.path.join(args.work, 'runs', name)
    subprocess.run(['rm', '-rf', run_dir], check=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    if system == 'minicls':
        cmd = [sys.executable, 'train.py', '--config', config, '--work-dir', run_dir, '--seed', str(seed)]
        env.pop('PYTHONPATH', None)
    else:
        cmd = [sys.executable, '-W', 'ignore', REAL_DATA, '--mmcls-driver', config, '--work-dir', run_dir,
               '--seed', str(seed)]
        env['PYTHONPATH'] = args.pythonpath
    cmd += list(more)
    start = time.time()
    r = subprocess.run(['nice', '-n', str(args.nice)] + cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'{name} failed ({r.returncode}): {" ".join(cmd)}\n{r.stderr[-3000:]}')
    result = dict(name=name, system=system, seed=seed, command=' '.join(cmd[1:]), wall_s=round(time.time() - start, 1),
                  work_dir=run_dir, **read_epochs(run_dir))
    result['top1'] = read_log_json(run_dir)[0]
    return result


def read_epochs(run_dir):
    """Each epoch's LR (its first train line), train losses and top-1; the 'resumed' line."""
    lrs, losses, top1 = {}, {}, {}
    with open(sorted(glob.glob(os.path.join(run_dir, '*.log.json')))[-1]) as f:
        for entry in map(json.loads, f):
            if entry.get('mode') == 'train':
                lrs.setdefault(entry['epoch'], entry['lr'])
                losses.setdefault(entry['epoch'], []).append(entry['loss'])
            elif entry.get('mode') == 'val':
                top1[entry['epoch']] = entry['accuracy_top-1']
    resumed = None
    with open(sorted(glob.glob(os.path.join(run_dir, '*.log')))[-1], errors='replace') as f:
        for line in f:
            if 'resumed epoch' in line:
                resumed = line.split(' - ')[-1].strip()
    return dict(lr=lrs, losses=losses, epoch_top1=top1, resumed=resumed)


def schedule_lr(epoch):
    """mmcv's step policy: lr * 0.1 ** (steps passed), epoch e (1-based) at progress e - 1."""
    return RECIPE['lr'] * 0.1 ** sum(epoch - 1 >= s for s in STEPS)


def lr_ok(run):
    return all(abs(lr - schedule_lr(e)) <= 1e-12 for e, lr in run['lr'].items())


def lr_text(run):
    """'1-5: 5e-02, 6-8: 5e-03, 9-10: 5e-04': the LR of every epoch the run trained."""
    groups = []
    for e, lr in sorted(run['lr'].items()):
        if groups and groups[-1][2] == lr and groups[-1][1] == e - 1:
            groups[-1][1] = e
        else:
            groups.append([e, e, lr])
    return ', '.join(f'{a}-{b}: {lr:.0e}' if a != b else f'{a}: {lr:.0e}' for a, b, lr in groups)


def ms(s):
    return f'{s["mean"]:.2f} +- {s["sd"]:.2f}' if s['sd'] is not None else f'{s["mean"]:.2f}'


def summary(values):
    return dict(mean=round(statistics.mean(values), 3),
                sd=round(statistics.stdev(values), 3) if len(values) > 1 else None, n=len(values))


# ---- Resume both ways -------------------------------------------------------------------

def resume_both_ways(args, configs):
    runs = {}
    for seed in args.seeds:
        for system in ('minicls', 'mmcls'):
            runs[system, seed] = train(f'{system}_seed{seed}', system, configs[system], seed, args)
            print(row(runs[system, seed]), flush=True)
    for seed in args.seeds:
        ckpt = {s: os.path.join(runs[s, seed]['work_dir'], f'epoch_{RESUME_AT}.pth') for s in ('minicls', 'mmcls')}
        runs['mmcls->minicls', seed] = train(f'mmcls{RESUME_AT}_to_minicls_seed{seed}', 'minicls', configs['minicls'],
                                             seed, args, ['--resume', ckpt['mmcls']])
        print(row(runs['mmcls->minicls', seed]), flush=True)
        runs['minicls->mmcls', seed] = train(f'minicls{RESUME_AT}_to_mmcls_seed{seed}', 'mmcls',
                                             mmcls_resume_config(configs, seed, ckpt['minicls']), seed, args)
        print(row(runs['minicls->mmcls', seed]), flush=True)
    base = {s: summary([runs[s, seed]['top1'] for seed in args.seeds]) for s in ('minicls', 'mmcls')}
    out = dict(epochs=EPOCHS, steps=STEPS, resume_at=RESUME_AT, seeds=args.seeds, uninterrupted_top1=base,
               runs=[dict(kind=k[0], **r) for k, r in runs.items()])
    for kind in ('mmcls->minicls', 'minicls->mmcls'):
        resumed = [runs[kind, seed] for seed in args.seeds]
        out[kind] = dict(
            top1=summary([r['top1'] for r in resumed]),
            resumed_lines=sorted({r['resumed'] for r in resumed}),
            first_epoch=sorted({min(r['lr']) for r in resumed}), lr_as_schedule=all(map(lr_ok, resumed)),
            # each resumed run against each system's uninterrupted runs: (top-1 - mean) / sd
            z={s: [round((r['top1'] - base[s]['mean']) / base[s]['sd'], 2) if base[s]['sd'] else None
                   for r in resumed] for s in base})
    out['uninterrupted_lr_as_schedule'] = all(lr_ok(runs[s, seed]) for s in ('minicls', 'mmcls')
                                              for seed in args.seeds)
    return out


def row(run):
    return (f'{run["name"]:28s} LR by epoch {lr_text(run):34s} top-1 {run["top1"]:6.2f}  '
            f'{run["resumed"] or "":24s} {run["wall_s"]:5.0f} s')


# ---- The same streams -------------------------------------------------------------------

def same_streams(args, configs):
    out = dict(epochs=EPOCHS, workers=args.workers, pairs=[])
    for seed in args.seeds:
        mm = train(f'same_streams_w{args.workers}_mmcls_seed{seed}', 'mmcls', configs['mmcls'], seed, args)
        pair = dict(seed=seed, mmcls=mm)
        for streams in ('mmcls', 'minicls'):           # the second: the control
            mini = train(f'same_streams_w{args.workers}_minicls_{streams}_seed{seed}', 'minicls', configs['minicls'],
                         seed, args, ['--cfg-options', f'random_streams={streams}'])
            pair[f'minicls_{streams}_streams'] = dict(compare(mini, mm), run=mini)
            c = pair[f'minicls_{streams}_streams']
            print(f"seed {seed}, workers {args.workers}, minicls random_streams={streams!r} vs mmcls: "
                  f"{c['tensors_differ']} of {c['tensors']} state_dict tensors differ; identical train losses: "
                  f"{c['losses_identical']}, LRs: {c['lr_identical']}, val top-1: {c['top1_identical']} "
                  f"(top-1 {mini['top1']:.2f} / {mm['top1']:.2f})", flush=True)
        out['pairs'].append(pair)
    return out


def compare(a, b):
    sa, sb = (torch.load(os.path.join(r['work_dir'], f'epoch_{EPOCHS}.pth'), map_location='cpu',
                         weights_only=False)['state_dict'] for r in (a, b))
    return dict(tensors=len(sb), keys_equal=list(sa) == list(sb),
                tensors_differ=sum(k not in sa or not torch.equal(sa[k], sb[k]) for k in sb),
                losses_identical=a['losses'] == b['losses'], lr_identical=a['lr'] == b['lr'],
                top1_identical=a['epoch_top1'] == b['epoch_top1'],
                log_lines=sum(map(len, b['losses'].values())) + len(b['epoch_top1']))


# ---- Main ---------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--same-streams', action='store_true', help="random_streams='mmcls' against mmcls")
    p.add_argument('--seeds', default=None, help="e.g. '0-4' or '0,7' (default 0-4; --same-streams: 0)")
    p.add_argument('--workers', type=int, default=RECIPE['workers'], help='loader workers (default 2)')
    p.add_argument('--mmref', default=None, help='folder made by mmcv_reference_setup.sh (default: PYTHONPATH)')
    p.add_argument('--work', default='/tmp/minicls_interop', help='data, configs, runs')
    p.add_argument('--out', default=None, help='results JSON (default <work>/interop.json)')
    p.add_argument('--nice', type=int, default=19)
    args = p.parse_args()
    args.work = os.path.abspath(args.work)
    args.out = args.out or os.path.join(args.work, 'interop.json')
    text = args.seeds or ('0' if args.same_streams else '0-4')
    args.seeds = [s for part in text.split(',') for s in (
        range(int(part.split('-')[0]), int(part.split('-')[1]) + 1) if '-' in part else [int(part)])]
    args.pythonpath = f'{args.mmref}/src:{args.mmref}/deps' if args.mmref else os.environ.get('PYTHONPATH', '')
    version = mmcls_available(args.pythonpath)
    if version is None:
        raise SystemExit('mmcv/mmcls not importable: run benchmarks/mmcv_reference_setup.sh and pass --mmref')
    os.makedirs(args.work, exist_ok=True)
    data_info, prefix = prepare_data(args.work)
    configs = write_configs(os.path.join(args.work, f'w{args.workers}'), prefix, args.workers)
    results = {}
    if os.path.isfile(args.out):
        with open(args.out) as f:
            results = json.load(f)
    results.update(what='checkpoints across minicls and mmcls 0.25; the same streams', data=data_info,
                   recipe=dict(RECIPE, epochs=EPOCHS, steps=STEPS, checkpoint_interval=RESUME_AT),
                   machine=machine(), mmcls=version, nice=args.nice)
    if args.same_streams:
        results[f'same_streams_w{args.workers}'] = same_streams(args, configs)
    else:
        results[f'resume_w{args.workers}'] = r = resume_both_ways(args, configs)
        b = r['uninterrupted_top1']
        print(f'\nuninterrupted, {EPOCHS} epochs, seeds {text}: minicls {ms(b["minicls"])}, '
              f'mmcls {ms(b["mmcls"])} (mean +- sd)')
        for kind in ('mmcls->minicls', 'minicls->mmcls'):
            k = r[kind]
            print(f'{kind} at epoch {RESUME_AT}: {k["resumed_lines"]}, first epoch {k["first_epoch"]}, LR as the '
                  f'schedule: {k["lr_as_schedule"]}; top-1 {ms(k["top1"])}; '
                  f'z vs minicls {k["z"]["minicls"]}, vs mmcls {k["z"]["mmcls"]}')
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print(f'results: {args.out}')


if __name__ == '__main__':
    main()
