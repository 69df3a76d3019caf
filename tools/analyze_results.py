"""The most confident right and wrong images of a test, each titled with its true and
predicted class (mmcls 0.25: tools/analysis_tools/analyze_results.py; the work:
extras/after_training/results.py).

    python tools/test.py configs/demo_folder.py work_dirs/demo_folder/latest.pth --out result.json
    python tools/analyze_results.py configs/demo_folder.py result.json --out-dir results --topk 8

Writes results/success/ and results/fail/ (a PNG per image and success.json / fail.json, as
mmcls), and results/success.png, results/fail.png (all of them in one picture). RESULT is
the JSON of tools/test.py --out; the true labels and the images are the config's data.test.
Only PIL is needed.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extras.after_training.common import (ToolError, build_test_set, load_cfg,  # noqa: E402
                                          read_results, run_tool)
from extras.after_training.results import pick_results, write_results  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Pictures of the most confident right and '
                                     'wrong predictions of a test')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('result', help='the JSON file of tools/test.py --out')
    parser.add_argument('--out-dir', required=True, help='folder for the pictures')
    parser.add_argument('--topk', type=int, default=20,
                        help='how many images of each kind (default 20)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.topk < 1:
        raise ToolError(f'--topk {args.topk} must be >= 1')
    cfg = load_cfg(args.config, args.cfg_options)
    dataset = build_test_set(cfg)
    results = read_results(args.result, len(dataset))
    picked = pick_results(results, dataset.get_gt_labels(), args.topk, dataset.CLASSES)
    write_results(dataset, picked, args.out_dir)
    print(f'{len(picked["success"])} right and {len(picked["fail"])} wrong images saved in '
          f'{args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
