"""Samples of a dataset before and after its pipeline, one PNG each (mmcls 0.25:
tools/visualizations/vis_pipeline.py; the work: extras/after_training/pipeline_view.py).

    python tools/vis_pipeline.py configs/demo_folder.py --output-dir pipeline --number 4
    python tools/vis_pipeline.py configs/demo.py --output-dir pipeline --number 4 --mode pipeline
    python tools/vis_pipeline.py configs/demo_folder.py --output-dir p --phase test --mode original

--mode: original (the image as read), transformed (after the pipeline), concat (both, side
by side; the default) or pipeline (every step). --skip-type: transforms left out (mmcls's
default: ToTensor Normalize ImageToTensor Collect); one that is kept is undone for display.
Only PIL is needed (no matplotlib, no display).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extras.after_training.common import load_cfg, make_dir, run_tool, save_png  # noqa: E402
from extras.after_training.pipeline_view import (MODES, SKIP_TYPE,  # noqa: E402
                                                 pipeline_pictures)


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Visualize a Dataset Pipeline')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--skip-type', nargs='*', default=list(SKIP_TYPE),
                        help='the transforms to skip (default: %(default)s)')
    parser.add_argument('--output-dir', required=True, help='folder for the pictures')
    parser.add_argument('--phase', default='train', choices=['train', 'test', 'val'],
                        help='which split of data (default train)')
    parser.add_argument('--number', type=int, default=sys.maxsize,
                        help='how many samples (default: all of them)')
    parser.add_argument('--mode', default='concat', choices=MODES,
                        help='what to show (default concat: the original and the result)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_cfg(args.config, args.cfg_options)
    make_dir(args.output_dir)
    count = 0
    for name, picture in pipeline_pictures(cfg, args.phase, args.number, args.mode,
                                           tuple(args.skip_type)):
        save_png(picture, os.path.join(args.output_dir, name))
        count += 1
    print(f'{count} pictures saved in {args.output_dir}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
