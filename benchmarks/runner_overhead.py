"""Runner overhead: time per iteration of EpochBasedRunner with the standard hooks
(log interval 100) against a bare PyTorch loop doing the same forward, loss, backward and
step, on the same model and the same in-memory batches, on the CPU.

    python benchmarks/runner_overhead.py [--iters 400] [--reps 15]
    python benchmarks/runner_overhead.py --only runner --model null --iters 1010   # one loop, for a profiler

The two loops alternate, `--reps` times, one torch thread. "overhead" is the median of the
paired differences runner - bare: the runner, its hooks and the model's train_step. The
`null` model (global pooling and a linear head on 1x1 images) costs almost nothing, so its
row is the runner's own cost with the least noise; `tiny`, `small` (about 5 ms an iteration)
and `demo` are small ResNets.
With `--only`, one loop runs once and nothing is printed: run it under
`valgrind --tool=callgrind` at two --iters to count instructions per iteration.
"""
import argparse
import time

import torch
from torch import nn

from common import median, quiet_logger, report
from config import BackboneConfig, CheckpointConfig, HeadConfig, LogConfig, LrConfig, ModelConfig, OptimizerConfig, \
    OptimizerHookConfig
from model import GlobalAveragePooling, ImageClassifier, LinearClsHead, build_classifier
from runner import build_optimizer
from runner import EpochBasedRunner

SIZES = {  # name: (backbone or None for the null model, image size, batch, channels)
    'null (pooling + linear head, 1x1 images, batch 8)': (None, 1, 8, 3),
    'tiny (ResNet, 1 stage, 4 ch, 8x8, batch 8)': (dict(depth=18, num_stages=1, out_indices=(0,), base_channels=4,
                                                        stem_channels=4), 8, 8, 4),
    'small (ResNet, 2 stages, 8 ch, 16x16, batch 8)': (dict(depth=18, num_stages=2, out_indices=(1,), base_channels=8,
                                                            stem_channels=8), 16, 8, 16),
    'demo model (3 stages, 16 ch, 32x32, batch 16)': (dict(depth=18, num_stages=3, out_indices=(2,), base_channels=16,
                                                          stem_channels=16), 32, 16, 64),
}


class NoBackbone(nn.Module):
    def forward(self, x):
        return (x,)


def make(backbone, size, batch, channels, iters):
    torch.manual_seed(0)
    if backbone is None:
        model = ImageClassifier(NoBackbone(), GlobalAveragePooling(), LinearClsHead(10, channels))
    else:
        model_cfg = ModelConfig(backbone=BackboneConfig(**backbone), head=HeadConfig(in_channels=channels))
        model = build_classifier(model_cfg)
        model.init_weights()
    batches = [{'img': torch.randn(batch, 3, size, size), 'gt_label': torch.randint(0, 10, (batch,))}
               for _ in range(iters)]
    return model, batches


def bare_loop(model, batches):
    optimizer = build_optimizer(model, OptimizerConfig(momentum=0.9, weight_decay=0.0001))
    model.train()
    start = time.perf_counter()
    for data in batches:
        loss = model.head.forward_train(model.extract_feat(data['img']), data['gt_label'])['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(batches)


def runner_loop(model, batches, work_dir):
    optimizer = build_optimizer(model, OptimizerConfig(momentum=0.9, weight_decay=0.0001))
    runner = EpochBasedRunner(model, optimizer, work_dir, quiet_logger('bench'), meta={}, max_epochs=1)
    runner.timestamp = 'bench'
    runner.register_training_hooks(LrConfig(policy='step', step=[100, 150]), OptimizerHookConfig(),
                                   CheckpointConfig(interval=10 ** 9, save_last=False), LogConfig(interval=100))
    start = time.perf_counter()
    runner.run([batches], [('train', 1)])
    return (time.perf_counter() - start) / len(batches)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--iters', type=int, default=400)
    p.add_argument('--reps', type=int, default=15)
    p.add_argument('--work-dir', default='/tmp/minicls_bench')
    p.add_argument('--only', choices=['bare', 'runner'])
    p.add_argument('--model', choices=['null', 'tiny', 'small', 'demo'], action='append')
    args = p.parse_args()
    torch.set_num_threads(1)        # less noise; both loops get the same
    sizes = {name: size for name, size in SIZES.items() if args.model is None or name.split()[0] in args.model}
    if args.only:
        model, batches = make(*next(iter(sizes.values())), args.iters)
        bare_loop(model, batches) if args.only == 'bare' else runner_loop(model, batches, args.work_dir)
        return
    rows = []
    for name, size in sizes.items():
        model, batches = make(*size, args.iters)
        bare, run = [], []
        for _ in range(args.reps):
            bare.append(bare_loop(model, batches))
            run.append(runner_loop(model, batches, args.work_dir))
        b, r = median(bare), median(run)
        overhead = median([x - y for x, y in zip(run, bare)])
        rows.append({'model': name, 'bare us/iter': f'{b * 1e6:.0f}', 'runner us/iter': f'{r * 1e6:.0f}',
                     'overhead us/iter': f'{overhead * 1e6:.1f}', 'overhead %': f'{100 * overhead / b:.2f}',
                     'iters x reps': f'{args.iters} x {args.reps}'})
    report('runner_overhead', rows, list(rows[0]))


if __name__ == '__main__':
    main()
