"""The upstream reference, measured here: mmcv 1.7.2's EpochBasedRunner with mmcls 0.25.0's
train_step, and mmcls's CIFAR train pipeline, timed beside minicls in the same run, on the
same machine, with the same models, batches and images. The issue's reference figures come
from another machine; this makes the comparison like for like.

    bash benchmarks/mmcv_reference_setup.sh /tmp/mmref        # once: mmcv + mmcls outside the venv
    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcv_reference.py [--iters 400] [--reps 15]
    PYTHONPATH=... python benchmarks/mmcv_reference.py --only mmcv --model null --iters 1010   # for a profiler

Runner rows: each framework's overhead over the same bare loop (runner_overhead.py's), on its
own build of the same network (mmcls's ResNet_CIFAR / minicls's copy of it, or the `null`
model); the four loops alternate, one torch thread, medians of paired differences. Both
runners get mmcls's standard hooks: step LR, OptimizerHook, CheckpointHook (never saving),
IterTimerHook, TextLoggerHook every 100 iterations. mmcv's EpochBasedRunner sleeps 2 s at each
epoch start and 1 s after the run ("prevent possible deadlock"); the sleeps are switched off
here, as they are a per-epoch cost, not a per-iteration one.
Pipeline rows: mmcls's way per sample (deep copy of the info, its Compose of the same six
transforms, mmcv's DataContainer-aware collate of 128) against minicls's per_process().
"""
import argparse
import copy
import logging
import time
import warnings
from unittest import mock

import torch
from torch import nn

from common import median, report
from config import train_pipeline
from data import SyntheticCIFAR10
from data_pipeline import per_process
from runner_overhead import SIZES, bare_loop, make, runner_loop

try:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                 # mmcv warns about its missing compiled ops
        import mmcv
        import mmcls
        from mmcls.datasets.pipelines import Compose as MmclsCompose
        from mmcls.models import BACKBONES, build_classifier as mmcls_build_classifier
        from mmcv.parallel import collate as mmcv_collate
        from mmcv.runner import EpochBasedRunner as MmcvEpochBasedRunner
        from mmcv.runner import build_optimizer as mmcv_build_optimizer
        from mmcv.utils import get_logger
except ImportError as e:
    raise SystemExit(f'mmcv_reference.py needs mmcv 1.7.2 and mmcls 0.25.0 on PYTHONPATH ({e}).\n'
                     'Run: bash benchmarks/mmcv_reference_setup.sh /tmp/mmref\n'
                     'then: PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcv_reference.py')


@BACKBONES.register_module()
class NullBackbone(nn.Module):
    """The `null` model's backbone in mmcls's registry: the image is the feature map."""
    def forward(self, x):
        return (x,)


def make_mmcls(backbone, size, batch, channels, iters):
    """The same network and batches as runner_overhead.make, built by mmcls."""
    model, batches = make(backbone, size, batch, channels, iters)
    torch.manual_seed(0)
    mmcls_model = mmcls_build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='NullBackbone') if backbone is None else dict(
            type='ResNet_CIFAR', **backbone, strides=(1, 2, 2, 2)[:backbone['num_stages']],
            dilations=(1,) * backbone['num_stages']),       # mmcls wants one per stage
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=channels,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0))))
    mmcls_model.init_weights()
    return model, mmcls_model, batches


def mmcv_runner_loop(model, batches, work_dir):
    optimizer = mmcv_build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
    logger = logging.getLogger('bench-mmcv')
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    runner = MmcvEpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logger, meta={},
                                  max_epochs=1)
    runner.timestamp = 'bench'
    runner.register_training_hooks(dict(policy='step', step=[100, 150]), dict(grad_clip=None),
                                   dict(interval=10 ** 9, save_last=False),
                                   dict(interval=100, hooks=[dict(type='TextLoggerHook')]))
    with mock.patch('mmcv.runner.epoch_based_runner.time.sleep'):
        start = time.perf_counter()
        runner.run([batches], [('train', 1)])
        return (time.perf_counter() - start) / len(batches)


def mmcls_per_process(dataset, pipeline, batch=128):
    """What one mmcls loader process does: deep-copy each info, run the pipeline, mmcv collate."""
    start = time.perf_counter()
    for first in range(0, len(dataset.data_infos), batch):
        samples = [pipeline(copy.deepcopy(info)) for info in dataset.data_infos[first:first + batch]]
        mmcv_collate(samples, samples_per_gpu=batch)
    return len(dataset.data_infos) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--iters', type=int, default=400)
    p.add_argument('--reps', type=int, default=15)
    p.add_argument('--work-dir', default='/tmp/minicls_bench')
    p.add_argument('--model', choices=['null', 'tiny', 'small', 'demo'], action='append')
    p.add_argument('--only', choices=['bare', 'mmcv'], help='one loop on the mmcls model, for a profiler')
    args = p.parse_args()
    torch.set_num_threads(1)
    get_logger('mmcv').setLevel(logging.WARNING)        # not init_weights' report of every tensor
    if args.only:
        name = next(n for n in SIZES if args.model is None or n.split()[0] in args.model)
        _, mmcls_model, batches = make_mmcls(*SIZES[name], args.iters)
        if args.only == 'bare':
            bare_loop(mmcls_model, batches)
        else:
            mmcv_runner_loop(mmcls_model, batches, args.work_dir)
        return
    versions = f'mmcv {mmcv.__version__}, mmcls {mmcls.__version__}'
    rows = []
    for name, size in SIZES.items():
        if args.model and name.split()[0] not in args.model:
            continue
        model, mmcls_model, batches = make_mmcls(*size, args.iters)
        times = {k: [] for k in ('bare', 'minicls', 'bare (mmcls model)', 'mmcv')}
        for _ in range(args.reps):
            times['bare'].append(bare_loop(model, batches))
            times['minicls'].append(runner_loop(model, batches, args.work_dir))
            times['bare (mmcls model)'].append(bare_loop(mmcls_model, batches))
            times['mmcv'].append(mmcv_runner_loop(mmcls_model, batches, args.work_dir))
        over = {k: median([r - b for r, b in zip(times[k], times[bare])]) * 1e6
                for k, bare in (('minicls', 'bare'), ('mmcv', 'bare (mmcls model)'))}
        rows.append({'what': f'runner overhead, {name}', 'bare us/iter': f'{median(times["bare"]) * 1e6:.0f}',
                     'minicls': f'{over["minicls"]:.1f} us', f'{versions}': f'{over["mmcv"]:.1f} us',
                     'minicls / mmcv': f'{over["minicls"] / over["mmcv"]:.2f}',
                     'iters x reps': f'{args.iters} x {args.reps}'})
    dataset = SyntheticCIFAR10('/tmp/minicls_bench_data', train_pipeline)
    pipeline = MmclsCompose(copy.deepcopy(train_pipeline))
    ours, theirs = [], []
    for _ in range(max(3, args.reps // 3)):
        ours.append(per_process(dataset))
        theirs.append(mmcls_per_process(dataset, pipeline))
    rows.append({'what': 'CIFAR train pipeline + collate of 128, one process, images/s',
                 'minicls': f'{median(ours):,.0f}', f'{versions}': f'{median(theirs):,.0f}',
                 'minicls / mmcv': f'{median(ours) / median(theirs):.2f}'})
    report('mmcv_reference', rows, ['what', 'bare us/iter', 'minicls', versions, 'minicls / mmcv', 'iters x reps'])


if __name__ == '__main__':
    main()
