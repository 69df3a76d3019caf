"""Runner overhead: time per iteration of EpochBasedRunner with the standard hooks
(log interval 100) against a bare PyTorch loop doing the same forward, loss, backward and
step, on the same model and the same in-memory batches, on the CPU.

    python benchmarks/runner_overhead.py [--iters 400] [--reps 7]

The two loops alternate, `--reps` times; the table gives medians. "overhead" is
runner - bare per iteration: the runner, its hooks and the model's train_step (which
copies the logged loss to the CPU once per iteration).
"""
import argparse
import logging
import time

import torch

from common import median, report
from config import BackboneConfig, CheckpointConfig, HeadConfig, LogConfig, LrConfig, ModelConfig, OptimizerConfig, \
    OptimizerHookConfig
from model import build_classifier
from optimizer import build_optimizer
from runner import EpochBasedRunner

SIZES = {  # name: (backbone, image size, batch)
    'tiny (1 stage, 4 ch, 8x8, batch 8)': (dict(depth=18, num_stages=1, out_indices=(0,), base_channels=4,
                                               stem_channels=4), 8, 8, 4),
    'demo model (3 stages, 16 ch, 32x32, batch 16)': (dict(depth=18, num_stages=3, out_indices=(2,), base_channels=16,
                                                          stem_channels=16), 32, 16, 64),
}


def make(backbone, size, batch, channels, iters):
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(**backbone), head=HeadConfig(in_channels=channels)))
    model.init_weights()
    batches = [{'img': torch.randn(batch, 3, size, size), 'gt_label': torch.randint(0, 10, (batch,))}
               for _ in range(iters)]
    return model, batches


def bare_loop(model, batches):
    optimizer = build_optimizer(model, OptimizerConfig())
    model.train()
    start = time.perf_counter()
    for data in batches:
        loss = model.head.forward_train(model.extract_feat(data['img']), data['gt_label'])['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(batches)


def runner_loop(model, batches, work_dir):
    optimizer = build_optimizer(model, OptimizerConfig())
    logger = logging.getLogger('bench')
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    runner = EpochBasedRunner(model, optimizer, work_dir, logger, meta={}, max_epochs=1)
    runner.timestamp = 'bench'
    runner.register_training_hooks(LrConfig(policy='step', step=[100, 150]), OptimizerHookConfig(),
                                   CheckpointConfig(interval=10 ** 9, save_last=False), LogConfig(interval=100))
    start = time.perf_counter()
    runner.run([batches], [('train', 1)])
    return (time.perf_counter() - start) / len(batches)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--iters', type=int, default=400)
    p.add_argument('--reps', type=int, default=7)
    p.add_argument('--work-dir', default='/tmp/minicls_bench')
    args = p.parse_args()
    torch.set_num_threads(1)        # less noise; both loops get the same
    rows = []
    for name, (backbone, size, batch, channels) in SIZES.items():
        model, batches = make(backbone, size, batch, channels, args.iters)
        bare, run = [], []
        for _ in range(args.reps):
            bare.append(bare_loop(model, batches))
            run.append(runner_loop(model, batches, args.work_dir))
        b, r = median(bare), median(run)
        rows.append({'model': name, 'bare us/iter': f'{b * 1e6:.0f}', 'runner us/iter': f'{r * 1e6:.0f}',
                     'overhead us/iter': f'{(r - b) * 1e6:.1f}', 'overhead %': f'{100 * (r - b) / b:.2f}',
                     'iters x reps': f'{args.iters} x {args.reps}'})
    report('runner_overhead', rows, list(rows[0]))


if __name__ == '__main__':
    main()
