"""GPU training speed: images/s of ResNet-18 and ResNet-50 CIFAR training at batch 128,
a bare PyTorch loop against the runner (standard hooks, log interval 100), in float32 and
with each fast path on; then real three-epoch runs through train.py (DataLoader, 8 workers),
with the per-image and the batched pipeline, to check that the pipeline keeps the GPU fed,
how much of an epoch is not training, and the 200-epoch projection.

    python benchmarks/gpu.py [--budget 330]

Compute rows use 20 distinct random batches already on the GPU (so they measure the model,
the loop and the hooks, not the data); each row: 15 warm-up iterations, then 60 timed ones
between two cuda.synchronize() calls (60 warm-up iterations with torch.compile, so that
compiling is not timed). Results go to $OUT/gpu.json after every row, so a
run cut short keeps what it measured. Rows are skipped once --budget seconds have passed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import torch

from common import ROOT, machine, quiet_logger
from config import (BackboneConfig, CheckpointConfig, Fp16Config, HeadConfig, LogConfig, LrConfig, ModelConfig,
                    OptimizerConfig, OptimizerHookConfig)
from hooks import Hook
from model import build_classifier
from runner import build_optimizer
from runner import EpochBasedRunner

WARMUP, TIMED, BATCH = 15, 60, 128
WIDTH = 64                 # ResNet's; the dry run checks the script on a 4-wide one
COMPILE_WARMUP = 60        # torch.compile: compiling (and any recompile) stays out of the timed window
DEVICE = 'cuda'
START = time.time()
RESULTS = {'machine': machine(), 'command': ' '.join(sys.argv), 'rows': []}
OUT = os.environ.get('OUT', '/tmp')
SCRATCH = tempfile.mkdtemp(prefix='minicls_gpu_')      # the runner rows' work dir (a log file each)


def sync():
    if DEVICE == 'cuda':
        torch.cuda.synchronize()


def save(row):
    RESULTS['rows'].append(row)
    print(json.dumps(row), flush=True)
    with open(os.path.join(OUT, 'gpu.json'), 'w') as f:
        json.dump(RESULTS, f, indent=1)


def make_model(depth, channels_last, compile_):
    torch.manual_seed(0)
    expansion = 1 if depth == 18 else 4
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=depth, base_channels=WIDTH, stem_channels=WIDTH),
                                         head=HeadConfig(in_channels=WIDTH * 8 * expansion)))
    model.init_weights()
    model.to(DEVICE)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile_:
        model.compile()
    return model


def batches(n=20):
    g = torch.Generator(device=DEVICE).manual_seed(0)
    return [{'img': torch.randn(BATCH, 3, 32, 32, device=DEVICE, generator=g),
             'gt_label': torch.randint(0, 10, (BATCH,), device=DEVICE, generator=g)} for _ in range(n)]


def bare(model, data, bf16, channels_last, warmup=WARMUP):
    optimizer = build_optimizer(model, OptimizerConfig(momentum=0.9, weight_decay=0.0001))
    model.train()
    fmt = torch.channels_last if channels_last else torch.preserve_format
    for i in range(warmup + TIMED):
        if i == warmup:
            sync()
            start = time.perf_counter()
        d = data[i % len(data)]
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=bf16):
            loss = model.head.forward_train(model.extract_feat(d['img'].to(memory_format=fmt)), d['gt_label'])['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sync()
    return TIMED * BATCH / (time.perf_counter() - start)


class Stopwatch(Hook):
    def __init__(self, warmup):
        self.warmup = warmup

    def after_train_iter(self, runner):
        if runner.iter == self.warmup - 1:
            sync()
            self.start = time.perf_counter()
        elif runner.iter == self.warmup + TIMED - 1:
            sync()
            self.seconds = time.perf_counter() - self.start


def with_runner(model, data, fp16, channels_last, warmup=WARMUP):
    optimizer = build_optimizer(model, OptimizerConfig(momentum=0.9, weight_decay=0.0001))
    runner = EpochBasedRunner(model, optimizer, SCRATCH, quiet_logger('bench'),
                              meta={}, max_epochs=1)
    runner.timestamp = 'bench'
    if channels_last:
        runner.memory_format = torch.channels_last
    runner.register_training_hooks(LrConfig(policy='step', step=[100, 150]), OptimizerHookConfig(),
                                   CheckpointConfig(interval=10 ** 9, save_last=False), LogConfig(interval=100),
                                   fp16_config=fp16)
    watch = Stopwatch(warmup)
    runner.register_hook(watch, 'LOWEST')
    runner.run([[data[i % len(data)] for i in range(warmup + TIMED)]], [('train', 1)])
    return TIMED * BATCH / watch.seconds


def compute_rows(budget):
    data = batches()
    bf16, fp16 = Fp16Config(dtype='bfloat16'), Fp16Config(loss_scale='dynamic')
    plan = [  # (depth, loop, amp, channels_last, cudnn.benchmark, compile)
        (18, 'bare', None, False, False, False), (18, 'runner', None, False, False, False),
        (18, 'runner', bf16, False, False, False), (18, 'runner', fp16, False, False, False),
        (18, 'runner', bf16, True, False, False), (18, 'runner', bf16, True, True, False),
        (18, 'bare', bf16, True, True, False),
        (50, 'bare', None, False, False, False), (50, 'runner', None, False, False, False),
        (50, 'runner', bf16, True, True, False), (50, 'bare', bf16, True, True, False),
        (18, 'runner', bf16, True, True, True),
    ]
    for depth, loop, amp, cl, bench, comp in plan:
        if DEVICE != 'cuda' and (comp or amp is fp16):
            save({'skipped': f'ResNet-{depth} {loop}, {"compile" if comp else "fp16"}: dry run (slow on a CPU)'})
            continue
        if time.time() - START > budget:
            save({'skipped': f'ResNet-{depth} {loop}: out of time budget'})
            continue
        torch.backends.cudnn.benchmark = bench
        t0 = time.time()
        model = make_model(depth, cl, comp)
        warmup = COMPILE_WARMUP if comp else WARMUP
        if loop == 'bare':
            ips = bare(model, data, amp is not None, cl, warmup)
        else:
            ips = with_runner(model, data, amp, cl, warmup)
        paths = [n for n, on in (('bf16' if amp is bf16 else 'fp16+GradScaler', amp is not None),
                                 ('channels_last', cl), ('cudnn.benchmark', bench), ('compile', comp)) if on]
        save({'model': f'ResNet-{depth}', 'loop': loop, 'fast paths': ' + '.join(paths) or 'fp32',
              'images/s': float(f'{ips:.3g}'), 'ms/iter': round(1000 * BATCH / ips, 2),
              'compute-only 200 epochs (min)': round(200 * 50000 / ips / 60, 1),
              'row seconds': round(time.time() - t0, 1)})
        del model
        if DEVICE == 'cuda':
            torch.cuda.empty_cache()


END_TO_END = '''
import sys; sys.path.insert(0, {root!r}); sys.argv = ['train.py'] + {args!r}
from extras.demos import demo_data
demo_data.SyntheticCIFAR10.batch_size = {size}     # 5 x 10,000 train + 10,000 test: CIFAR-10's size
demo_data.SyntheticCIFAR10.num_test = {size}
import train; train.cli()
'''


def end_to_end(budget, batched):
    """Three epochs through train.py. Epoch 3, from epoch 2's checkpoint to epoch 3's, is the
    steady state; epoch 2's span also holds the first evaluation's one-off costs (val workers
    starting, cudnn.benchmark trying the eval shapes). Epoch 3 is split into the checkpoint write +
    evaluation of epoch 2 (from "Saving checkpoint at 2 epochs" to the "Epoch(val) [2]" line), the
    training iterations (the JSON log's mean `time` x iterations, an estimate) and the rest."""
    name = 'batched pipeline' if batched else 'per-image pipeline'
    if time.time() - START > budget:
        save({'skipped': f'end-to-end run, {name}: out of time budget'})
        return
    work = tempfile.mkdtemp(prefix='minicls_e2e_')     # train.py refuses a used work dir
    args = ['--config', os.path.join(ROOT, 'configs', 'resnet18_cifar10.py'), '--work-dir', work, '--cfg-options',
            'total_epochs=3', "data.train.type='SyntheticCIFAR10'", "data.val.type='SyntheticCIFAR10'",
            "data.test.type='SyntheticCIFAR10'", "data.train.data_prefix='/tmp/minicls_e2e_data'",
            "data.val.data_prefix='/tmp/minicls_e2e_data'", "data.test.data_prefix='/tmp/minicls_e2e_data'",
            'data.workers_per_gpu=8', 'data.pin_memory=True', "fp16.dtype='bfloat16'", 'channels_last=True',
            'cudnn_benchmark=True', 'seed=0', f'device={DEVICE!r}', f'data.train.batched={batched}',
            f'data.val.batched={batched}']
    t0 = time.time()
    size = 10000 if DEVICE == 'cuda' else 40           # images per file: 5 train files, 1 test file
    if DEVICE != 'cuda':                                  # the dry run: 2 iterations an epoch, a 4-wide ResNet
        args += ['log_config.interval=1', f'model.backbone.base_channels={WIDTH}',
                 f'model.backbone.stem_channels={WIDTH}', f'model.head.in_channels={WIDTH * 8}']
    script = END_TO_END.format(root=ROOT, args=args, size=size)
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                       timeout=max(30, budget + 200 - (time.time() - START)))
    lines = [line for line in r.stdout.splitlines() if 'Epoch' in line or 'Saving' in line]

    def stamp(line):
        return time.mktime(time.strptime(line[:19], '%Y-%m-%d %H:%M:%S')) + int(line[20:23]) / 1000
    saves = {int(m.group(1)): stamp(line) for line in lines if (m := re.search(r'Saving checkpoint at (\d+)', line))}
    vals = {int(m.group(1)): stamp(line) for line in lines if (m := re.search(r'Epoch\(val\) \[(\d+)\]', line))}
    epoch2 = saves[2] - saves[1] if {1, 2} <= saves.keys() else None
    epoch3 = saves[3] - saves[2] if {2, 3} <= saves.keys() else None
    ckpt_eval = vals[2] - saves[2] if 2 in vals and 2 in saves else None
    train_s = None
    logs = [f for f in os.listdir(work) if f.endswith('.log.json')]
    if logs:
        with open(os.path.join(work, sorted(logs)[-1])) as f:
            records = [json.loads(line) for line in f][1:]
        times = [rec['time'] for rec in records if rec.get('mode') == 'train' and rec.get('epoch') == 3]
        iters = -(-5 * size // 128)                       # the config's batch of 128
        train_s = sum(times) / len(times) * iters if times else None
    shutil.rmtree(work, ignore_errors=True)               # three 89 MB checkpoints

    def sec(x):
        return round(x, 2) if x is not None else None
    save({'end-to-end': f'train.py, ResNet-18, 50k synthetic CIFAR images, {name}, 8 workers, pin_memory, bf16, '
                        'channels_last, cudnn.benchmark, eval and checkpoint every epoch', 'returncode': r.returncode,
          'epoch 3 seconds (checkpoint + eval of epoch 2, then train)': sec(epoch3),
          'of which checkpoint + evaluation (s)': sec(ckpt_eval),
          'of which training iterations (s)': sec(train_s),
          'epoch 2 seconds (with the first evaluation)': sec(epoch2),
          'projected 200 epochs at the epoch-3 pace (min)': round(200 * epoch3 / 60, 1) if epoch3 else None,
          'wall seconds': round(time.time() - t0, 1), 'last lines': lines[-3:], 'stderr': r.stderr[-600:]})


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--budget', type=float, default=330)
    p.add_argument('--dry-run', action='store_true', help='a few tiny CPU iterations, to check the script')
    args = p.parse_args()
    if args.dry_run:
        global WARMUP, TIMED, BATCH, DEVICE, WIDTH
        WARMUP, TIMED, BATCH, DEVICE, WIDTH = 1, 2, 4, 'cpu', 4
    compute_rows(args.budget - 150)
    end_to_end(args.budget - 60, batched=False)
    end_to_end(args.budget, batched=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == '__main__':
    main()
