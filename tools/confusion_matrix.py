"""The confusion matrix of a test on data.test, as a picture with the class names and as numbers
(mmpretrain: tools/analysis_tools/confusion_matrix.py, its names and arguments; mmcls 0.25 has
no such tool. The work: extras/after_training/confusion.py).

    python tools/confusion_matrix.py configs/demo_folder.py work_dirs/demo_folder/latest.pth \\
        --show-path cm.png --out cm.json --include-values
    python tools/confusion_matrix.py configs/demo_folder.py result.json --out cm.json

CHECKPOINT_OR_RESULT: a checkpoint (.pth: the model is run on data.test) or the JSON of
tools/test.py --out. --out writes {"classes": [...], "matrix": [[...]]}, matrix[true][predicted].
The picture needs matplotlib (an optional extra); --out alone does not.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extras.after_training.common import (ToolError, load_cfg, run_tool, save_json,  # noqa: E402
                                          save_png)
from extras.after_training.confusion import matrix_of, plot_confusion_matrix  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Eval a checkpoint and draw the confusion '
                                     'matrix.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('ckpt_or_result', help='a checkpoint (.pth) or the JSON of '
                        'tools/test.py --out')
    parser.add_argument('--out', help='the JSON file to save the confusion matrix in')
    parser.add_argument('--show-path', '--save-path', dest='show_path',
                        help='the PNG to save the picture in (--save-path: the same)')
    parser.add_argument('--include-values', action='store_true',
                        help='write the counts in the cells')
    parser.add_argument('--cmap', default='viridis', help='matplotlib colour map (default '
                        'viridis)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not (args.out or args.show_path):
        raise ToolError('nothing to write: give --show-path (a PNG) and/or --out (a JSON)')
    cfg = load_cfg(args.config, args.cfg_options)
    matrix, classes = matrix_of(cfg, args.ckpt_or_result)
    correct, total = int(matrix.trace()), int(matrix.sum())
    print(f'{correct} of {total} images on the diagonal ({100 * correct / total:.2f} %)')
    if args.out:
        save_json(dict(classes=classes, matrix=matrix.tolist()), args.out)
        print(f'saved {args.out}')
    if args.show_path:
        fig = plot_confusion_matrix(matrix, classes, args.include_values, args.cmap)
        save_png(fig, args.show_path)
        print(f'The confusion matrix is saved at {args.show_path}.')


if __name__ == '__main__':
    sys.exit(run_tool(main))
