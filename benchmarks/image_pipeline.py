"""Image files, minicls beside the real mmcls 0.25 (reading image files and the ImageNet transforms):

- speed: decode + augment (mmcls's ImageNet train pipeline: LoadImageFromFile,
  RandomResizedCrop 224, RandomFlip, Normalize, ImageToTensor, ToTensor, Collect) in images per
  CPU second of one process (time.process_time, so threads count), on the same folder of
  JPEGs; then minicls's loader at 0, 1 and 2 workers (images per wall second, batch 32);
- decoders: PIL and torchvision.io.decode_jpeg beside cv2.imdecode, ms per JPEG; resizing:
  torch's bilinear on uint8 and on float beside cv2.resize, grey levels apart and ms;
- parity: the test pipeline (Resize (256, -1), CenterCrop 224, Normalize, ImageToTensor) on
  PNGs that Resize enlarges and that it shrinks, and the train pipeline with the same seeds:
  |minicls - mmcls| in grey levels (the difference times std), mean and max;
- memory: bytes per file of a CustomDataset's list (tracemalloc), the images not read.

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/image_pipeline.py [--reps 3]

mmcls runs in a child process with OpenCV at one thread (mmcls's tools/train.py:
setup_multi_processes, opencv_num_threads=0), torch at one thread in both. Data is written to
/tmp/minicls_bench_images on first use: 375x500 JPEGs (quality 90) of smooth patterns and noise.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
DATA = '/tmp/minicls_bench_images'
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
TRAIN = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=224),
         dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
         dict(type='Normalize', **NORM), dict(type='ImageToTensor', keys=['img']),
         dict(type='ToTensor', keys=['gt_label']), dict(type='Collect', keys=['img', 'gt_label'])]
TEST = [dict(type='LoadImageFromFile'), dict(type='Resize', size=(256, -1)),
        dict(type='CenterCrop', crop_size=224), dict(type='Normalize', **NORM),
        dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]


def write_data(n):
    from PIL import Image
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:375, 0:500]
    for kind, count in (('jpegs', n), ('pngs', 8)):
        for i in range(count):
            folder = os.path.join(DATA, kind, f'class_{i % 4}')
            os.makedirs(folder, exist_ok=True)
            planes = [np.sin(x / (7 + i % 13) + c + y / (11 + i % 5)) * 80 + 128 for c in range(3)]
            img = np.stack(planes, -1) + rng.normal(0, 12, (375, 500, 3))
            img = Image.fromarray(img.clip(0, 255).astype(np.uint8))
            if kind == 'pngs':                     # half enlarged by Resize, half shrunk
                img = img.resize((150, 113) if i % 2 else (800, 600), Image.BILINEAR)
                img.save(os.path.join(folder, f'{i:04d}.png'))
            else:
                img.save(os.path.join(folder, f'{i:04d}.jpg'), quality=90)


def build(side, pipeline, folder):
    if side == 'mmcls':
        from mmcls.datasets import build_dataset
        return build_dataset(dict(type='CustomDataset', data_prefix=folder, pipeline=pipeline))
    from extras.images.image_folder import CustomDataset
    return CustomDataset(folder, pipeline)


def speed(side, n):
    dataset = build(side, TRAIN, os.path.join(DATA, 'jpegs'))
    for i in range(10):
        dataset[i]
    best = 0
    for _ in range(3):
        start = time.process_time()
        for i in range(n):
            dataset[i % len(dataset)]
        best = max(best, n / (time.process_time() - start))
    return best


def parity_outputs(side):
    """{name: array}: the test pipeline's tensors, and the train pipeline's with seeds."""
    out = {}
    for name, pipeline in (('test', TEST), ('train', TRAIN)):
        dataset = build(side, pipeline, os.path.join(DATA, 'pngs'))
        for i in range(len(dataset)):
            random.seed(i)
            np.random.seed(i)
            out[f'{name}_{i}'] = dataset[i]['img'].numpy()
    return out


def child():
    import cv2
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    args = json.loads(sys.argv[2])
    if args['parity']:
        np.savez(args['npz'], **parity_outputs('mmcls'))
    print(json.dumps({'mmcls': speed('mmcls', args['n']), 'cv2_decode_ms': decode_ms('cv2'),
                      'resize': resize_choice() if args['parity'] else None}))


def resize_choice(reps=300):
    """cv2.resize (mmcv.imresize) beside torch's bilinear on uint8 (what imresize uses) and on
    float rounded: mean |difference| in grey levels and ms, 375x500 -> 224x224 and 60x80 ->
    224x224 (random pixels)."""
    import cv2
    import torch.nn.functional as F
    rows = {}
    for shape in ((375, 500), (60, 80)):
        img = np.random.default_rng(0).integers(0, 256, shape + (3,), np.uint8)
        x = torch.from_numpy(img).permute(2, 0, 1)[None]
        ways = {'cv2': lambda: cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR),
                'torch uint8': lambda: F.interpolate(x, (224, 224), mode='bilinear')[0]
                .permute(1, 2, 0).contiguous().numpy(),
                'torch float, rounded': lambda: F.interpolate(x.float(), (224, 224),
                                                              mode='bilinear')[0]
                .round().clamp(0, 255).permute(1, 2, 0).contiguous().numpy()}
        ref = ways['cv2']().astype(np.float32)
        for name, way in ways.items():
            start = time.process_time()
            for _ in range(reps):
                out = way()
            rows[f'{shape} {name}'] = (float(np.abs(out - ref).mean()),
                                       (time.process_time() - start) / reps * 1e3)
    return rows


def mmcls_side(n, npz, parity):
    """mmcls's numbers, from a child process with mmcv and mmcls on its path."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    run = subprocess.run([sys.executable, __file__, '--child',
                          json.dumps(dict(n=n, npz=npz, parity=parity))],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def decode_ms(decoder, reps=200):
    """ms of CPU per file: read + decode (+ BGR for PIL, as LoadImageFromFile does)."""
    folder = os.path.join(DATA, 'jpegs', 'class_0')
    paths = [os.path.join(folder, f) for f in sorted(os.listdir(folder))[:20]]
    read = lambda path: open(path, 'rb').read()  # noqa
    if decoder == 'cv2':
        import cv2
        decode = lambda p: cv2.imdecode(np.frombuffer(read(p), np.uint8), cv2.IMREAD_COLOR)  # noqa
    elif decoder == 'pil':
        from extras.images.image_pipeline import imread as decode
    else:
        from torchvision.io import decode_jpeg
        decode = lambda p: decode_jpeg(torch.frombuffer(read(p), dtype=torch.uint8))  # noqa
    start = time.process_time()
    for i in range(reps):
        decode(paths[i % len(paths)])
    return (time.process_time() - start) / reps * 1e3


def loader_speed(workers, n):
    """Images per wall second through minicls's loader (batch 32), workers started before."""
    from data import build_dataloader
    dataset = build('minicls', TRAIN, os.path.join(DATA, 'jpegs'))
    loader = build_dataloader(dataset, 32, workers, seed=0)       # persistent workers
    for _ in loader:
        pass
    start, seen = time.perf_counter(), 0
    while seen < n:
        for batch in loader:
            seen += len(batch['img'])
    return seen / (time.perf_counter() - start)


def memory_per_file(count=100_000):
    from extras.images.image_folder import CustomDataset
    ann = os.path.join(DATA, 'many.txt')
    first = os.path.join('class_0', '0000.jpg')
    with open(ann, 'w') as f:
        f.writelines(f'{first} {i % 4}\n' for i in range(count))
    tracemalloc.start()
    dataset = CustomDataset(os.path.join(DATA, 'jpegs'), [], ann_file=ann)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size / len(dataset)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        return child()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=200, help='JPEGs in the folder, and per pass')
    parser.add_argument('--reps', type=int, default=3, help='passes of each side, alternated')
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(DATA, 'jpegs')):
        write_data(args.n)
    torch.set_num_threads(1)
    npz = os.path.join(DATA, 'mmcls_outputs.npz')
    mine, theirs, ref, first = [], [], {}, {}
    for rep in range(args.reps):        # alternated: a busy machine slows both alike
        ref = mmcls_side(args.n, npz, parity=rep == 0)
        first = first if rep else ref
        theirs.append(ref['mmcls'])
        mine.append(speed('minicls', args.n))
    mine, theirs = max(mine), max(theirs)
    from common import machine
    print(f'machine: {machine()}, load average {os.getloadavg()[0]:.1f}')
    print(f'train pipeline, one process, images per CPU second (best of {args.reps}): '
          f'minicls {mine:.0f}, mmcls {theirs:.0f} ({mine / theirs:.2f}x)')
    print(f'decode one 375x500 JPEG, ms of CPU: cv2.imdecode {ref["cv2_decode_ms"]:.2f}, '
          f'PIL (extras/images/image_pipeline.imread) {decode_ms("pil"):.2f}, '
          f'torchvision.io.decode_jpeg {decode_ms("torchvision"):.2f}')
    for name, (diff, ms) in first['resize'].items():
        print(f'resize {name} -> 224x224: |x - cv2| mean {diff:.3f} grey levels, {ms:.3f} ms')
    for workers in (0, 1, 2):
        print(f'minicls loader, {workers} workers: {loader_speed(workers, 2 * args.n):.0f} '
              'images per second (wall)')
    ref_out, our_out = np.load(npz), parity_outputs('minicls')
    std = np.array(NORM['std'], np.float32)[:, None, None]
    for name, title in (('test', 'test pipeline'), ('train', 'train pipeline, same seeds')):
        for kind, idx in (('enlarged (113x150)', [1, 3, 5, 7]), ('shrunk (600x800)', [0, 2, 4, 6])):
            diffs = [np.abs(our_out[f'{name}_{i}'] - ref_out[f'{name}_{i}']) * std for i in idx]
            print(f'{title}, PNGs {kind}: |minicls - mmcls| mean '
                  f'{np.mean(diffs):.3f}, max {np.max(diffs):.3f} grey levels')
    print(f'CustomDataset list: {memory_per_file():.0f} bytes per file (ann_file of 100,000 lines)')


if __name__ == '__main__':
    main()
