"""The upstream reference, measured here: mmcv 1.7.2's EpochBasedRunner with mmcls 0.25.0's
train_step, and mmcls's CIFAR train pipeline, timed beside minicls in the same run, on the
same machine, with the same weights, batches and images. Figures quoted from another machine
are not like for like; this is.

    bash benchmarks/mmcv_reference_setup.sh /tmp/mmref        # once: mmcv + mmcls outside the venv
    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcv_reference.py [--iters 400] [--reps 15]
    PYTHONPATH=... python benchmarks/mmcv_reference.py --only mmcv --model null --iters 400   # for a profiler

Runner rows: each framework's overhead over the same bare loop (runner_overhead.py's), on its
own build of the same network (mmcls's ResNet_CIFAR / minicls's copy of it, or the `null`
model) holding the same weights; the four loops alternate, one torch thread, medians of paired
differences. Both runners get the hooks mmcls's train_model registers with validate=False:
step LR, OptimizerHook, CheckpointHook (never saving), IterTimerHook, TextLoggerHook every 100
iterations. mmcv's EpochBasedRunner sleeps 2 s at the start of each epoch and 1 s after the
run ("prevent possible deadlock"); those sleeps (mmcv's runner module's only use of `time`) are
switched off in the timed loop, as they are not a per-iteration cost.
Pipeline rows: mmcls's CIFAR train pipeline as its cifar10 config has it (to_rgb=False), run
mmcls's way (a deep copy of each info, its Compose, mmcv's DataContainer-aware collate of 128,
images held as the strided views its CIFAR10 dataset keeps), against minicls's per_process()
with the same six transforms; medians of max(3, reps // 3) alternating passes.
"""
import argparse
import copy
import logging
import time
import warnings
from types import SimpleNamespace
from unittest import mock

import numpy as np
import torch

from common import median, quiet_logger, report
from config import train_pipeline
from extras.demos.demo_data import SyntheticCIFAR10
from data_pipeline import per_process
from runner_overhead import SIZES, NoBackbone, bare_loop, make, runner_loop

try:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                 # mmcv warns about its missing compiled ops
        import mmcv
        import mmcls
        from mmcls.datasets.pipelines import Compose as MmclsCompose
        from mmcls.models import BACKBONES, build_classifier as mmcls_build_classifier
        from mmcv.parallel import collate as mmcv_collate
        from mmcv.runner import EpochBasedRunner as MmcvEpochBasedRunner, epoch_based_runner
        from mmcv.runner import build_optimizer as mmcv_build_optimizer
        from mmcv.utils import get_logger
except ImportError as e:
    raise SystemExit(f'mmcv_reference.py needs mmcv 1.7.2 and mmcls 0.25.0 on PYTHONPATH ({e}).\n'
                     'Run: bash benchmarks/mmcv_reference_setup.sh /tmp/mmref\n'
                     'then: PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/mmcv_reference.py')

BACKBONES.register_module(name='NullBackbone', module=NoBackbone)   # the null model, in mmcls's registry
NO_SLEEP = SimpleNamespace(sleep=lambda seconds: None)


def make_mmcls(backbone, size, batch, channels, iters):
    """runner_overhead.make's model and batches, and mmcls's build of the same network with its weights."""
    model, batches = make(backbone, size, batch, channels, iters)
    mmcls_model = mmcls_build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='NullBackbone') if backbone is None else dict(
            type='ResNet_CIFAR', **backbone, strides=(1, 2, 2, 2)[:backbone['num_stages']],
            dilations=(1,) * backbone['num_stages']),       # mmcls wants one per stage
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=channels,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0))))
    mmcls_model.load_state_dict(model.state_dict())
    model.eval()
    mmcls_model.eval()                                  # the loops set train mode again
    with torch.no_grad():
        if not np.array_equal(model.simple_test(batches[0]['img']), mmcls_model.simple_test(batches[0]['img'])):
            raise SystemExit('the mmcls and minicls builds of the same network disagree')
    return model, mmcls_model, batches


def mmcv_runner_loop(model, batches, work_dir):
    optimizer = mmcv_build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
    runner = MmcvEpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=quiet_logger('bench-mmcv'),
                                  meta={}, max_epochs=1)
    runner.timestamp = 'bench'
    runner.register_training_hooks(dict(policy='step', step=[100, 150]), dict(grad_clip=None),
                                   dict(interval=10 ** 9, save_last=False),
                                   dict(interval=100, hooks=[dict(type='TextLoggerHook')]))
    with mock.patch.object(epoch_based_runner, 'time', NO_SLEEP):
        start = time.perf_counter()
        runner.run([batches], [('train', 1)])
        return (time.perf_counter() - start) / len(batches)


def mmcls_per_process(data_infos, pipeline, batch=128):
    """What one mmcls loader process does: deep-copy each info, run the pipeline, mmcv collate."""
    start = time.perf_counter()
    for first in range(0, len(data_infos), batch):
        samples = [pipeline(copy.deepcopy(info)) for info in data_infos[first:first + batch]]
        mmcv_collate(samples, samples_per_gpu=batch)
    return len(data_infos) / (time.perf_counter() - start)


def ratio(ours, theirs, noise):
    return f'{ours / theirs:.2f}' if min(ours, theirs) > noise else 'noise'


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
    sizes = {name: size for name, size in SIZES.items() if args.model is None or name.split()[0] in args.model}
    if args.only:
        _, mmcls_model, batches = make_mmcls(*next(iter(sizes.values())), args.iters)
        if args.only == 'bare':
            bare_loop(mmcls_model, batches)
        else:
            mmcv_runner_loop(mmcls_model, batches, args.work_dir)
        return
    versions = f'mmcv {mmcv.__version__}, mmcls {mmcls.__version__}'
    rows = []
    for name, size in sizes.items():
        model, mmcls_model, batches = make_mmcls(*size, args.iters)
        times = {k: [] for k in ('bare', 'minicls', 'bare (mmcls model)', 'mmcv')}
        for _ in range(args.reps):
            times['bare'].append(bare_loop(model, batches))
            times['minicls'].append(runner_loop(model, batches, args.work_dir))
            times['bare (mmcls model)'].append(bare_loop(mmcls_model, batches))
            times['mmcv'].append(mmcv_runner_loop(mmcls_model, batches, args.work_dir))
        over = {k: median([r - b for r, b in zip(times[k], times[base])]) * 1e6
                for k, base in (('minicls', 'bare'), ('mmcv', 'bare (mmcls model)'))}
        bare_us = median(times['bare']) * 1e6
        rows.append({'what': f'runner overhead, {name}', 'bare us/iter': f'{bare_us:.0f}',
                     'minicls': f'{over["minicls"]:.1f} us', versions: f'{over["mmcv"]:.1f} us',
                     # below 1 % of an iteration, a paired difference is within this machine's noise
                     'minicls / mmcv': ratio(over['minicls'], over['mmcv'], noise=0.01 * bare_us),
                     'iters x reps': f'{args.iters} x {args.reps}'})
    pipeline = [dict(t, to_rgb=False) if t['type'] == 'Normalize' else t for t in train_pipeline]
    dataset = SyntheticCIFAR10('/tmp/minicls_bench_data', pipeline)
    # mmcls's CIFAR10 keeps each image as an HWC view of a CHW array (strides 32, 1, 1024)
    chw = np.stack([info['img'] for info in dataset.data_infos]).transpose(0, 3, 1, 2).copy()
    mmcls_infos = [{'img': img, 'gt_label': info['gt_label']}
                   for img, info in zip(chw.transpose(0, 2, 3, 1), dataset.data_infos)]
    mmcls_pipeline = MmclsCompose(copy.deepcopy(pipeline))
    ours, theirs = [], []
    for _ in range(max(3, args.reps // 3)):
        ours.append(per_process(dataset))
        theirs.append(mmcls_per_process(mmcls_infos, mmcls_pipeline))
    rows.append({'what': 'CIFAR train pipeline + collate of 128, one process, images/s',
                 'minicls': f'{median(ours):,.0f}', versions: f'{median(theirs):,.0f}',
                 'minicls / mmcv': f'{median(ours) / median(theirs):.2f}'})
    report('mmcv_reference', rows, ['what', 'bare us/iter', 'minicls', versions, 'minicls / mmcv', 'iters x reps'])


if __name__ == '__main__':
    main()
