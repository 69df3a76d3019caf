"""The LR (and momentum) of every iteration of a config's schedule, as a picture and as numbers,
computed by the project's own LR and momentum hooks without training (mmcls 0.25:
tools/visualizations/vis_lr.py; the work: extras/after_training/lr_curve.py).

    python tools/vis_lr.py configs/demo.py --save-path lr.png --out lr.json
    python tools/vis_lr.py config.py --dataset-size 50000 --ngpus 8 --save-path lr.png

--dataset-size skips building data.train; iterations per epoch are
ceil(dataset_size / (samples_per_gpu * ngpus)), as mmcls's tool counts them.
The picture needs matplotlib (an optional extra); --out alone does not.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extras.after_training.common import ToolError, load_cfg, run_tool, save_json  # noqa: E402
from extras.after_training.lr_curve import default_title, plot_curve, simulate  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Draw the LR of every iteration of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--dataset-size', type=int, help='the size of the training set; if '
                        'given, data.train is not built')
    parser.add_argument('--ngpus', type=int, default=1,
                        help='the number of GPUs used in training (default 1)')
    parser.add_argument('--title', help='title of the figure')
    parser.add_argument('--save-path', help='the PNG to write')
    parser.add_argument('--out', help='a JSON file for the numbers: lr and momentum per '
                        'iteration (one value per param group)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not (args.save_path or args.out):
        raise ToolError('nothing to write: give --save-path (a PNG) and/or --out (a JSON)')
    for name, value in (('--dataset-size', args.dataset_size), ('--ngpus', args.ngpus)):
        if value is not None and value < 1:
            raise ToolError(f'{name} {value} must be >= 1')
    cfg = load_cfg(args.config, args.cfg_options)
    curve = simulate(cfg, args.dataset_size, args.ngpus)
    print(f'dataset size {curve["dataset_size"]}, {args.ngpus} GPU(s) x '
          f'{cfg.data.samples_per_gpu} samples: {curve["iters_per_epoch"]} iterations per '
          f'epoch, {len(curve["lr"])} in {curve["max_epochs"]} epochs')
    if args.out:
        save_json(dict(curve, config=args.config), args.out)
        print(f'saved {args.out}')
    if args.save_path:
        plot_curve(curve, args.save_path, args.title or default_title(args.config),
                   momentum=cfg.momentum_config is not None)
        print(f'The learning rate graph is saved at {args.save_path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
