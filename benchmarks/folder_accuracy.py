"""One mmcls config file of the ImageNet kind, trained by both systems (the check that the ImageNet-kind recipe learns as mmcls's does).

    bash benchmarks/mmcv_reference_setup.sh /tmp/mmref       # once: mmcv 1.7.2, mmcls 0.25.0
    python benchmarks/folder_accuracy.py --mmref /tmp/mmref  # seeds 0-4 (~3 min, 2 vCPUs)
    python benchmarks/folder_accuracy.py --mmref /tmp/mmref --seeds 0-9

The file is configs/demo_folder_mmcls.py (CustomDataset over data/demo_folder, 2,000 training
JPEGs in class folders and 500 validation JPEGs with an ann_file; LoadImageFromFile,
RandomResizedCrop, Resize + CenterCrop; mmcls's ResNet-18 layout at width 16; SGD, 5 epochs),
run as it is, per seed S, each run one process under `nice -n 19` with OMP_NUM_THREADS=1:
   minicls: `train.py --config configs/demo_folder_mmcls.py --work-dir <run> --seed S`
   mmcls:   `real_data.py --mmcls-driver configs/demo_folder_mmcls.py --work-dir <run> --seed S`
            (mmcls's tools/train.py steps, then mmcls.apis.train_model; benchmarks/real_data.py)
both from the repository root (the file's data paths are relative to it), with interop.py's
`train`. The folder is written first if absent (extras/demos/demo_folder.py: write_demo_folder).
Each run's final top-1 (%) on the 500 validation images is the last `"mode": "val"` line of its
<timestamp>.log.json. Printed: top-1 per seed and epoch, mean +- sd (n - 1) per system, and the
difference of the means with Welch's standard error; saved as JSON (--out).
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine  # noqa: E402
from interop import ms, summary, train  # noqa: E402
from real_data import mmcls_available, parse_seeds  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, 'configs', 'demo_folder_mmcls.py')
SYSTEMS = ('minicls', 'mmcls')


def prepare_folder():
    """data/demo_folder, as configs/demo_folder.py's first run writes it; what wrote it."""
    sys.path.insert(0, REPO)
    from extras.demos.demo_folder import DemoFolder, write_demo_folder
    root = os.path.join(REPO, 'data', 'demo_folder')
    write_demo_folder(root, DemoFolder.header())
    return DemoFolder.header().strip()


def opencv_beside_mmcv(pythonpath):
    r = subprocess.run([sys.executable, '-c', 'import cv2; print(cv2.__version__)'],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=pythonpath))
    return r.stdout.strip() or None


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', default='0-4', help="e.g. '0-4' or '0,7' (default 0-4)")
    p.add_argument('--mmref', default=None,
                   help='folder made by mmcv_reference_setup.sh (default: PYTHONPATH)')
    p.add_argument('--work', default='/tmp/minicls_folder_accuracy', help='run folders')
    p.add_argument('--out', default=None, help='results JSON (default <work>/folder_accuracy.json)')
    p.add_argument('--nice', type=int, default=19)
    args = p.parse_args()
    args.work = os.path.abspath(args.work)
    args.out = args.out or os.path.join(args.work, 'folder_accuracy.json')
    args.pythonpath = (f'{args.mmref}/src:{args.mmref}/deps' if args.mmref
                       else os.environ.get('PYTHONPATH', ''))
    version = mmcls_available(args.pythonpath)
    if version is None:
        raise SystemExit('mmcv/mmcls not importable: run benchmarks/mmcv_reference_setup.sh '
                         'and pass --mmref')
    os.makedirs(args.work, exist_ok=True)
    folder = prepare_folder()
    seeds = parse_seeds(args.seeds)
    runs = {}
    for seed in seeds:
        for system in SYSTEMS:
            r = runs[system, seed] = train(f'{system}_seed{seed}', system, CONFIG, seed, args)
            epochs = ' '.join(f'{r["epoch_top1"][e]:5.1f}' for e in sorted(r['epoch_top1']))
            print(f'{system:7s} seed {seed}: top-1 by epoch {epochs}; final {r["top1"]:.2f}  '
                  f'({r["wall_s"]:.0f} s)', flush=True)
    top1 = {s: summary([runs[s, seed]['top1'] for seed in seeds]) for s in SYSTEMS}
    a, b = top1['minicls'], top1['mmcls']
    se = ((a['sd'] or 0) ** 2 / a['n'] + (b['sd'] or 0) ** 2 / b['n']) ** 0.5   # Welch's
    diff = dict(points=round(a['mean'] - b['mean'], 3), se=round(se, 3),
                welch_t=round((a['mean'] - b['mean']) / se, 2) if se else None)
    results = dict(what='configs/demo_folder_mmcls.py in minicls and mmcls 0.25, '
                        'final top-1 (%)',
                   config=os.path.relpath(CONFIG, REPO), folder=folder, seeds=seeds, mmcls=version,
                   opencv_beside_mmcv=opencv_beside_mmcv(args.pythonpath), machine=machine(),
                   nice=args.nice, top1=top1, minicls_minus_mmcls=diff,
                   runs=list(runs.values()))
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print(f'\n| seed | {" | ".join(SYSTEMS)} |\n|---|---|---|')
    for seed in seeds:
        print(f'| {seed} | ' + ' | '.join(f'{runs[s, seed]["top1"]:.2f}' for s in SYSTEMS) + ' |')
    print('| mean +- sd | ' + ' | '.join(ms(top1[s]) for s in SYSTEMS) + ' |')
    print(f'minicls - mmcls: {diff["points"]:+.2f} points (standard error {se:.2f}; Welch t '
          f'{diff["welch_t"]}); results: {args.out}')


if __name__ == '__main__':
    main()
