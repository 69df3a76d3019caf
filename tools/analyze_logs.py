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


class LogError(ValueError):
    """A file that is not a .log.json: one line naming the file, the line and what is wrong."""


def quote(text, limit=60):
    return repr(text[:limit]) + ('...' if len(text) > limit else '')


def load_json_log(path, notes=None):
    """A .log.json -> {'train': [records], 'val': [records]}; the first line (meta) is skipped.
    A last line cut short (a run killed while writing it) is left out, with a note appended
    to `notes`; any other line that is not a JSON record is a LogError."""
    records = {'train': [], 'val': []}
    try:
        f = open(path, 'rb')
    except OSError as e:
        raise LogError(f'{path}: cannot be read ({e.strerror})') from None
    with f:
        for number, raw in enumerate(f, 1):
            where = f'{path}, line {number}'
            try:
                line = raw.decode('utf-8')
            except UnicodeDecodeError:
                raise LogError(f'{where} is not text (UTF-8): {quote(raw)}; '
                               'is this a .log.json?') from None
            try:
                record = json.loads(line) if line.strip() else {}
            except (ValueError, RecursionError):
                if not raw.endswith(b'\n'):       # the last line, cut short
                    if notes is not None:
                        notes.append(f'{where}: the last line is cut short (a killed run?): '
                                     f'left out: {quote(line)}')
                    break
                raise LogError(f'{where} is not a JSON record: {quote(line)}') from None
            if not isinstance(record, dict):
                raise LogError(f'{where} is not a JSON record (a dict): {quote(line)}')
            mode = record.get('mode')
            if mode is None:
                continue
            if mode not in records or not all(isinstance(record.get(k), int) for k in (
                    ('epoch', 'iter') if mode == 'train' else ('epoch',))):
                raise LogError(f"{where}: a record needs mode 'train' (with int epoch, iter) or "
                               f"'val' (with int epoch): {quote(line)}")
            records[mode].append(record)
    return records


def plot_curve(args):
    notes = []                           # the logs are read (and checked) before the plotting
    try:
        logs = [load_json_log(p, notes) for p in args.json_logs]
    except LogError as e:
        sys.exit(f'error: {e}')
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    legends = args.legend or [os.path.basename(p)[:-len('.log.json')] for p in args.json_logs]
    if len(legends) != len(logs):
        sys.exit(f'error: --legend has {len(legends)} names for {len(logs)} logs')
    try:
        import matplotlib
        matplotlib.use(args.backend or 'Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit('error: plot_curve needs matplotlib, an optional extra: pip install matplotlib')
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
                if args.x == 'iter':
                    xs = [(r['epoch'] - 1) * per_epoch + r['iter'] for r in rows]
                else:
                    xs = [r['epoch'] - 1 + r['iter'] / per_epoch for r in rows]
            else:
                xs = [r['epoch'] for r in rows]
            ax.plot(xs, [r[key] for r in rows], marker='o' if mode == 'val' else None,
                    label=f'{name} {key}')
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
