"""Curves from training logs (mmcls: tools/analysis_tools/analyze_logs.py plot_curve).

    python tools/analyze_logs.py plot_curve work_dirs/demo/*.log.json --keys loss lr accuracy_top-1 \\
        --out curves.png

One panel per key, one line per log; train keys (loss, lr, top-1, ...) against the
iteration, val keys (accuracy_top-1, ...) against the epoch. Needs matplotlib, an optional
extra: `pip install matplotlib` (the training itself does not).
"""
import argparse
import json
import os
import sys


def load_json_log(path):
    """A .log.json -> {'train': [records], 'val': [records]}; the first line (meta) is skipped."""
    records = {'train': [], 'val': []}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if 'mode' in record:
                records[record['mode']].append(record)
    return records


def plot_curve(args):
    try:
        import matplotlib
        matplotlib.use(args.backend or 'Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit('error: plot_curve needs matplotlib, an optional extra: pip install matplotlib')
    logs = [load_json_log(p) for p in args.json_logs]
    legends = args.legend or [os.path.basename(p)[:-len('.log.json')] for p in args.json_logs]
    if len(legends) != len(logs):
        sys.exit(f'error: --legend has {len(legends)} names for {len(logs)} logs')
    fig, axes = plt.subplots(len(args.keys), 1, figsize=(8, 3 * len(args.keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], args.keys):
        for log, name in zip(logs, legends):
            mode = 'train' if any(key in r for r in log['train']) else 'val'
            rows = [r for r in log[mode] if key in r]
            if not rows:
                sys.exit(f'error: {key!r} is in no record of {name}; keys there: '
                         f'{sorted({k for m in log.values() for r in m for k in r})}')
            if mode == 'train':          # a global iteration from (epoch, iter within the epoch)
                per_epoch = max(r['iter'] for r in rows if r['epoch'] == rows[0]['epoch'])
                xs = [(r['epoch'] - 1) * per_epoch + r['iter'] for r in rows] if args.x == 'iter' else \
                    [r['epoch'] - 1 + r['iter'] / per_epoch for r in rows]
            else:
                xs = [r['epoch'] for r in rows]
            ax.plot(xs, [r[key] for r in rows], marker='o' if mode == 'val' else None, label=f'{name} {key}')
        ax.set_xlabel('iteration' if args.x == 'iter' and mode == 'train' else 'epoch')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    if args.out:
        fig.savefig(args.out, dpi=100)
        print(f'saved {args.out}')
    else:
        plt.show()


def main(argv=None):
    parser = argparse.ArgumentParser(description='Analyze minicls / mmcls .log.json files')
    sub = parser.add_subparsers(dest='task', required=True)
    p = sub.add_parser('plot_curve', help='plot curves of keys of one or more logs')
    p.add_argument('json_logs', nargs='+')
    p.add_argument('--keys', nargs='+', default=['loss'])
    p.add_argument('--title')
    p.add_argument('--legend', nargs='+')
    p.add_argument('--backend', help='matplotlib backend (default Agg: files only)')
    p.add_argument('--x', choices=['iter', 'epoch'], default='iter', help='x axis of train keys')
    p.add_argument('--out', help='image file to write (default: show a window)')
    args = parser.parse_args(argv)
    plot_curve(args)


if __name__ == '__main__':
    main()
