"""Data pipeline speed: images/s of the CIFAR train pipeline (RandomCrop 32 pad 4,
RandomFlip, Normalize, ImageToTensor, ToTensor, Collect) per process, with collate of 128,
per image (mmcls's way) and batched (`DatasetConfig.batched=True`: the same transforms once
per batch, in collate), through the DataLoader at 0, 1 and 2 workers, and of the equivalent
torchvision.transforms.v2 pipeline on the same uint8 images.

    python benchmarks/data_pipeline.py [--reps 5]

Data: the demo's SyntheticCIFAR10 train split (5,000 images, 32x32), written to
/tmp/minicls_bench_data on first use. Medians over --reps passes.
"""
import argparse
import time

import numpy as np
import torch

from common import median, report
from config import train_pipeline
from data import build_dataloader, collate
from extras.demos.demo_data import SyntheticCIFAR10


def per_process(dataset, batch=128):
    """What one loader process does: fetch each sample, collate (which runs a batched pipeline)."""
    pipeline = dataset.pipeline if dataset.batched else None
    start = time.perf_counter()
    for first in range(0, len(dataset), batch):
        collate([dataset[i] for i in range(first, min(first + batch, len(dataset)))], pipeline)
    return len(dataset) / (time.perf_counter() - start)


def transforms_only(dataset, batch=128):
    """The batched transforms alone, on batches already stacked: the whole-batch figure."""
    stacked = [{'img': np.stack([info['img'] for info in dataset.data_infos[first:first + batch]]),
                'gt_label': np.stack([info['gt_label'] for info in dataset.data_infos[first:first + batch]])}
               for first in range(0, len(dataset), batch)]
    start = time.perf_counter()
    for results in stacked:
        dataset.pipeline(dict(results))       # the transforms replace the dict's entries: a fresh dict each time
    return len(dataset) / (time.perf_counter() - start)


def through_loader(dataset, workers, batch=128):
    loader = build_dataloader(dataset, batch, workers, seed=0, persistent_workers=False) if workers else \
        build_dataloader(dataset, batch, 0, seed=0)
    start = time.perf_counter()
    for _ in loader:
        pass
    return len(dataset) / (time.perf_counter() - start)


def numpy_whole_batch(images, batch=128):
    """A reference with no framework: the same work on whole batches in as few numpy calls as
    I could find (crop by a window gather, flip by a reversed take, normalise channels-first)."""
    mean, inv_std = np.array([125.307, 122.961, 113.8575], np.float32), 1 / np.array([51.5865, 50.847, 51.255],
                                                                                          np.float32)
    start = time.perf_counter()
    for first in range(0, len(images), batch):
        imgs = images[first:first + batch]
        n = len(imgs)
        padded = np.zeros((n, 40, 40, 3), np.uint8)
        padded[:, 4:36, 4:36] = imgs
        windows = np.lib.stride_tricks.sliding_window_view(padded, (32, 32), axis=(1, 2))
        out = windows[np.arange(n), np.random.randint(0, 9, n), np.random.randint(0, 9, n)]   # (n, 3, 32, 32)
        flip = np.flatnonzero(np.random.rand(n) < 0.5)
        out[flip] = np.take(out[flip], np.arange(31, -1, -1), axis=3)
        out = np.ascontiguousarray(out[:, ::-1]).astype(np.float32)                         # to_rgb
        out -= mean[:, None, None]
        out *= inv_std[:, None, None]
        torch.from_numpy(out)
    return len(images) / (time.perf_counter() - start)


def torchvision_v2(images, batch=128):
    from torchvision.transforms import v2
    norm = dict(mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255])
    t = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(0.5), v2.ToDtype(torch.float32),
                    v2.Normalize(**norm)])
    chw = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    start = time.perf_counter()
    for first in range(0, len(chw), batch):
        torch.stack([t(img) for img in chw[first:first + batch]])
    return len(chw) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--reps', type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    dataset = SyntheticCIFAR10('/tmp/minicls_bench_data', train_pipeline)
    images = np.stack([info['img'] for info in dataset.data_infos])
    batched = SyntheticCIFAR10('/tmp/minicls_bench_data', train_pipeline, batched=True)
    rows = [{'what': 'minicls pipeline + collate, one process',
             'images/s': f'{median([per_process(dataset) for _ in range(args.reps)]):,.0f}'},
            {'what': 'minicls batched pipeline (fetch + collate + transforms), one process',
             'images/s': f'{median([per_process(batched) for _ in range(args.reps)]):,.0f}'},
            {'what': 'minicls batched transforms alone, on stacked uint8 batches',
             'images/s': f'{median([transforms_only(batched) for _ in range(args.reps)]):,.0f}'}]
    for workers in (0, 1, 2):
        rows.append({'what': f'minicls DataLoader, {workers} workers, batch 128',
                     'images/s': f'{median([through_loader(dataset, workers) for _ in range(args.reps)]):,.0f}'})
    rows.append({'what': 'minicls DataLoader, batched, 2 workers, batch 128',
                 'images/s': f'{median([through_loader(batched, 2) for _ in range(args.reps)]):,.0f}'})
    rows.append({'what': 'reference: minimal whole-batch numpy, same work, one process',
                 'images/s': f'{median([numpy_whole_batch(images) for _ in range(args.reps)]):,.0f}'})
    rows.append({'what': 'torchvision.transforms.v2 per sample + stack, one process',
                 'images/s': f'{median([torchvision_v2(images) for _ in range(args.reps)]):,.0f}'})
    report('data_pipeline', rows, ['what', 'images/s'])


if __name__ == '__main__':
    main()
