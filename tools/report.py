"""One self-contained HTML page of a training run (beyond mmcls; the work:
extras/after_training/report.py): the loss, LR and accuracy curves, the LR of every iteration,
the confusion matrix and the most confident wrong images of the newest checkpoint on
data.test, and the hooks. The pictures are inside the page: it opens from a file, loads
nothing, and is one file to hand in.

    python tools/report.py work_dirs/demo_folder --out report.html
    python tools/report.py work_dirs/demo_folder --checkpoint work_dirs/demo_folder/epoch_3.pth

Run it from the folder the training ran in: data.test's paths are the config's, relative to
it. A part that cannot be made says why on the page and in a `note:` line. Needs matplotlib
(an optional extra) for the curves and the matrix.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from checkpoint import atomic_write  # noqa: E402
from extras.after_training.common import ToolError, run_tool  # noqa: E402
from extras.after_training.report import build_report  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='One HTML page of a training run')
    parser.add_argument('work_dir', help='the --work-dir of a train.py run')
    parser.add_argument('--checkpoint', help='the checkpoint to test (default: the newest of '
                        'the work dir)')
    parser.add_argument('--out', default='report.html', help='the page (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.checkpoint is not None and not os.path.isfile(args.checkpoint):
        raise ToolError(f'--checkpoint {args.checkpoint!r} is not a file')
    page, notes = build_report(args.work_dir, args.checkpoint)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    atomic_write(args.out, page.encode('utf-8'))
    print(f'saved {args.out} ({len(page) // 1024} KB)')


if __name__ == '__main__':
    sys.exit(run_tool(main))
