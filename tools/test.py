"""Test a checkpoint on the config's data.test: mmcls 0.25's tools/test.py, its arguments,
its printed lines and its --out layout.

    python tools/test.py configs/demo.py work_dirs/demo/epoch_5.pth --metrics accuracy
    python tools/test.py configs/demo_folder.py work_dirs/demo_folder/epoch_5.pth \\
        --metrics accuracy precision recall f1_score support --metric-options topk=(1,5) \\
        --out results.json --out-items all
    torchrun --nproc_per_node=2 tools/test.py CONFIG CKPT --metrics accuracy --launcher pytorch

CONFIG is a minicls config or an mmcls 0.x config file. --out writes JSON only: a dict of the
metrics and the per-image items (class_scores N x C, pred_score, pred_label, pred_class), as
mmcls's `mmcv.dump` writes a .json. A .pkl is refused: reading one back can run code.
The work is extras/after_training/testing.py's.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import ConfigError, check_config, load_config  # noqa: E402
from extras.after_training.testing import (OUT_ITEMS, check_metric_args, dump_json,  # noqa: E402
                                           metric_lines, out_items, parse_metric_options,
                                           test_checkpoint)
from extras.run.device import resolve_device  # noqa: E402
from extras.after_training.common import run_tool  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test a checkpoint on data.test (mmcls: tools/test.py)')
    p.add_argument('config', help='test config file path (minicls or mmcls 0.x)')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--out', help='output result file (.json)')
    p.add_argument('--out-items', nargs='+', default=['all'], metavar='',
                   choices=[*OUT_ITEMS, 'none', 'all'],
                   help=f'besides the metrics, what --out holds: some of {", ".join(OUT_ITEMS)}, '
                        "'all' (the default) or 'none'")
    p.add_argument('--metrics', nargs='+',
                   help='accuracy, precision, recall, f1_score, support')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='override config fields, e.g. data.samples_per_gpu=64')
    p.add_argument('--metric-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='options of dataset.evaluate: topk=(1,5) thrs=0.5 average_mode=none')
    p.add_argument('--device', help='auto, cpu, cuda, cuda:N or mps (default: cfg.device)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help="'pytorch': one process of torchrun --nproc_per_node=N tools/test.py ...")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not (args.metrics or args.out):
        raise ConfigError('give --metrics, --out or both (mmcls: at least one of them)')
    if args.out and os.path.splitext(args.out)[1].lower() != '.json':
        raise ConfigError(f'--out {args.out!r}: only .json is written (a .pkl, as mmcls can '
                          'write, would run code when read back)')
    cfg = load_config(args.config)
    if args.cfg_options:
        from extras.options.cfg_options import apply_cfg_options
        cfg = apply_cfg_options(cfg, args.cfg_options)
    check_config(cfg)
    options = check_metric_args(args.metrics or [], parse_metric_options(args.metric_options),
                                cfg.model.head.num_classes)
    device = resolve_device(args.device or cfg.device)
    distributed = args.launcher == 'pytorch'
    if distributed:
        from extras.options.distributed import init_dist
        _, device = init_dist(cfg.dist_params.get('backend'), device.split(':')[0])
    dataset, outputs, classes = test_checkpoint(cfg, args.checkpoint, device, distributed)
    if distributed:    # not in mmcv: at exit, gloo's threads can abort (pytorch#190489)
        import torch
        torch.distributed.destroy_process_group()
    if outputs is None:                       # a rank other than 0
        return
    results = {}
    if args.metrics:
        metrics = dataset.evaluate(outputs, args.metrics, options)
        results.update(metrics)
        for line in metric_lines(metrics):
            print(line)
    if args.out:
        results.update(out_items(outputs, classes, args.out_items))
        print(f'\ndumping results to {args.out}')
        dump_json(results, args.out)


def cli(argv=None):
    """main(); a user's error is one line: exit 2 for a ConfigError, 1 for bad files."""
    sys.exit(run_tool(main, argv))


if __name__ == '__main__':
    cli()
