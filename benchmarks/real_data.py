"""Real-data check: minicls against mmcls 0.25 on real handwritten digits.

    python benchmarks/real_data.py                                  # minicls, seeds 0-9
    python benchmarks/real_data.py --seeds 0-19 --out digits.json   # more seeds, results file
    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python benchmarks/real_data.py   # + mmcls, if found
    python benchmarks/real_data.py --only mmcls --mmref /tmp/mmref --seeds 1000,2000,3000
    python benchmarks/real_data.py --minicls /tmp/other_checkout    # train another minicls tree

What it does, in order:
1. The data: scikit-learn's `load_digits` (1,797 8x8 grey digits, values 0-16), read with the
   standard library from `sklearn/datasets/data/digits.csv.gz` inside a scikit-learn wheel that
   `pip download --no-deps` fetches into the work folder (scikit-learn is never installed, and
   stays out of requirements.txt). Each image is upsampled 4x (nearest) to 32x32, scaled to
   0-255 and copied to R, G and B. Stratified split with a fixed numpy RNG: 1,437 train / 360
   test.
2. The files: CIFAR-10's own python pickle format (`cifar-10-batches-py/data_batch_1`,
   `test_batch`, `batches.meta`), plus `md5sums.txt`. Both readers check md5s against a file
   table; these files are not the official CIFAR-10, so each side gets a small CIFAR10
   subclass whose table is md5sums.txt: for minicls it is defined in the generated config
   file and named as 'module:Class' (`type='minicls_digits:DigitsCIFAR10'`, the way
   configs/own_cifar_format.py shows), for mmcls by the driver below
   (`@DATASETS.register_module()`).
3. The recipe, the same on both sides: ResNet_CIFAR-18 at base/stem width 8, batch
   64, SGD lr 0.05 momentum 0.9 wd 1e-4, 30 epochs, LR steps at 15 and 25, RandomCrop 32 pad 4
   + horizontal flip + CIFAR normalisation (to_rgb=False), 2 loader workers, one CPU process,
   evaluation every epoch, one checkpoint at the end.
4. The runs, one at a time, each under `nice -n 19` with OMP_NUM_THREADS=1:
   minicls: `python train.py --config <work>/minicls_digits.py --work-dir <run> --seed S`;
   mmcls:   this file's `--mmcls-driver`, which does what mmcls 0.25's tools/train.py does
   (that script is not in the wheel): Config.fromfile, setup_multi_processes, seed via
   init_random_seed/set_random_seed, build_classifier + init_weights, build_dataset, then
   mmcls.apis.train_model(validate=True), with mmcv's 2 s / 1 s epoch sleeps patched out as
   benchmarks/mmcv_reference.py does. mmcls runs where mmcv/mmcls import (from PYTHONPATH or
   --mmref, a folder made by benchmarks/mmcv_reference_setup.sh).
5. The figures: each run's final top-1 is the `accuracy_top-1` of the last `"mode": "val"`
   line of its `<timestamp>.log.json` (both systems write that file); also the mean of the
   last five evaluations and the last epoch's mean train loss. Printed as mean +- sd (sample
   sd, n - 1) per system, with every seed, and saved as JSON (--out). The JSON is rewritten
   after every run; runs already in it with the same recipe key are reused, not re-run
   (--fresh re-runs them).
"""
import argparse
import csv
import glob
import gzip
import hashlib
import io
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import time
import zipfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- The recipe ----------------------------------------------------------------------------

RECIPE = dict(depth=18, width=8, batch=64, lr=0.05, momentum=0.9, weight_decay=1e-4, epochs=30, steps=[15, 25],
              workers=2, mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255])
NUM_TEST = 360                  # of 1,797: 1,437 train / 360 test, a 20 % test split
SPLIT_SEED = 0                  # the stratified split's numpy RNG


# ---- 1. The digits, from scikit-learn's wheel ----------------------------------------------

def digits_csv(work):
    """The bytes of sklearn/datasets/data/digits.csv.gz, from a wheel in <work>/wheel."""
    wheel_dir = os.path.join(work, 'wheel')
    wheels = glob.glob(os.path.join(wheel_dir, 'scikit_learn-*.whl'))
    if not wheels:
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:',
                        '-d', wheel_dir, 'scikit-learn'], check=True)
        wheels = glob.glob(os.path.join(wheel_dir, 'scikit_learn-*.whl'))
    with zipfile.ZipFile(sorted(wheels)[-1]) as z:
        return os.path.basename(sorted(wheels)[-1]), z.read('sklearn/datasets/data/digits.csv.gz')


def load_digits(raw):
    """(1797, 8, 8) uint8 values 0-16 and (1797,) labels: what sklearn's load_digits returns."""
    rows = [list(map(float, r)) for r in csv.reader(io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(raw))))
            if r]
    table = np.array(rows)
    return table[:, :64].reshape(-1, 8, 8).astype(np.uint8), table[:, 64].astype(np.int64)


def stratified_split(labels, num_test, seed):
    """Test indices: each class gives its share of num_test (largest remainders), chosen at random."""
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * num_test / len(labels)
    take = np.floor(share).astype(int)
    for i in np.argsort(-(share - take), kind='stable')[:num_test - take.sum()]:
        take[i] += 1
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


# ---- 2. CIFAR-10's file format -------------------------------------------------------------

def to_cifar_rows(imgs8):
    """(N, 8, 8) 0-16 -> (N, 3072) uint8 rows: the red plane, then green, then blue (32x32 each)."""
    big = np.repeat(np.repeat(imgs8, 4, axis=1), 4, axis=2)                 # nearest, 8 -> 32
    grey = np.round(big.astype(np.float64) * 255 / 16).astype(np.uint8)
    return np.ascontiguousarray(np.stack([grey] * 3, axis=1).reshape(len(imgs8), 3 * 32 * 32))


def write_cifar(folder, imgs8, labels, train, test):
    """cifar-10-batches-py/{data_batch_1, test_batch, batches.meta, md5sums.txt}; returns the md5s."""
    os.makedirs(folder, exist_ok=True)
    files = {
        'data_batch_1': dict(batch_label='digits training batch 1 of 1', labels=labels[train].tolist(),
                             data=to_cifar_rows(imgs8[train]),
                             filenames=[f'digit_{i:04d}.png' for i in train.tolist()]),
        'test_batch': dict(batch_label='digits testing batch 1 of 1', labels=labels[test].tolist(),
                           data=to_cifar_rows(imgs8[test]), filenames=[f'digit_{i:04d}.png' for i in test.tolist()]),
        'batches.meta': dict(num_cases_per_batch=len(train), label_names=[str(d) for d in range(10)], num_vis=3072),
    }
    md5s = {}
    for name, content in files.items():
        blob = pickle.dumps(content, protocol=2)
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(blob)
        md5s[name] = hashlib.md5(blob).hexdigest()
    with open(os.path.join(folder, 'md5sums.txt'), 'w') as f:
        f.writelines(f'{md5}  {name}\n' for name, md5 in md5s.items())
    return md5s


def prepare_data(work):
    wheel, raw = digits_csv(work)
    imgs8, labels = load_digits(raw)
    train, test = stratified_split(labels, NUM_TEST, SPLIT_SEED)
    prefix = os.path.join(work, 'digits')
    md5s = write_cifar(os.path.join(prefix, 'cifar-10-batches-py'), imgs8, labels, train, test)
    return dict(source=f'{wheel}: sklearn/datasets/data/digits.csv.gz', images=len(labels), train=len(train),
                test=len(test), split_seed=SPLIT_SEED, md5=md5s), prefix


# ---- 3. The configs ------------------------------------------------------------------------

MINICLS_CONFIG = '''"""The real-data recipe for minicls, written by benchmarks/real_data.py."""
import os

from config import (BackboneConfig, CheckpointConfig, DataConfig, DatasetConfig, EvalConfig, HeadConfig,
                    LogConfig, LrConfig, ModelConfig, OptimizerConfig, cfg, replace)


from data import CIFAR10


class DigitsCIFAR10(CIFAR10):
    """The digits in CIFAR-10's files; the md5 table is md5sums.txt beside them."""
    train_list = [('data_batch_1', None)]
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)
    CLASSES = [str(d) for d in range(10)]

    def expected_md5s(self):
        with open(os.path.join(self.folder, 'md5sums.txt')) as f:
            return {{name: md5 for md5, name in (line.split() for line in f)}}

    def prepare_files(self):        # nothing to download: a missing file is reported by _read
        pass

    def how_to_fix(self):
        return 'Run benchmarks/real_data.py again: it writes these files.'


PREFIX = {prefix!r}
DIGITS = 'minicls_digits:DigitsCIFAR10'   # 'module:Class': train.py puts this file's folder on the path
norm = dict(type='Normalize', mean={mean}, std={std}, to_rgb=False)
train_pipeline = [dict(type='RandomCrop', size=32, padding=4),
                  dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
                  norm, dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['gt_label']),
                  dict(type='Collect', keys=['img', 'gt_label'])]
test_pipeline = [norm, dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]

cfg = replace(
    cfg,
    model=ModelConfig(backbone=BackboneConfig(depth={depth}, num_stages=4, out_indices=(3,), style='pytorch',
                                              base_channels={width}, stem_channels={width}),
                      head=HeadConfig(num_classes=10, in_channels={width} * 8)),
    data=DataConfig(
        samples_per_gpu={batch}, workers_per_gpu={workers},
        train=DatasetConfig(type=DIGITS, data_prefix=PREFIX, pipeline=train_pipeline),
        val=DatasetConfig(type=DIGITS, data_prefix=PREFIX, pipeline=test_pipeline, test_mode=True),
        test=DatasetConfig(type=DIGITS, data_prefix=PREFIX, pipeline=test_pipeline, test_mode=True)),
    optimizer=OptimizerConfig(type='SGD', lr={lr}, momentum={momentum}, weight_decay={weight_decay}),
    lr_config=LrConfig(policy='step', step={steps}),
    total_epochs={epochs},
    checkpoint_config=CheckpointConfig(interval={epochs}),
    log_config=LogConfig(interval=10),
    evaluation=EvalConfig(interval=1, metric='accuracy'),
    device='cpu',
)
'''

MMCLS_CONFIG = '''# The real-data recipe for mmcls 0.25, written by benchmarks/real_data.py.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth={depth}, num_stages=4, out_indices=(3, ), style='pytorch',
                  base_channels={width}, stem_channels={width}),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels={width} * 8,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
dataset_type = 'DigitsCIFAR10'
img_norm_cfg = dict(mean={mean}, std={std}, to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', size=32, padding=4),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label'])
]
test_pipeline = [
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='Collect', keys=['img'])
]
data = dict(
    samples_per_gpu={batch}, workers_per_gpu={workers},
    train=dict(type=dataset_type, data_prefix={prefix!r}, pipeline=train_pipeline),
    val=dict(type=dataset_type, data_prefix={prefix!r}, pipeline=test_pipeline, test_mode=True),
    test=dict(type=dataset_type, data_prefix={prefix!r}, pipeline=test_pipeline, test_mode=True))
evaluation = dict(interval=1, metric='accuracy')
optimizer = dict(type='SGD', lr={lr}, momentum={momentum}, weight_decay={weight_decay})
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step={steps})
runner = dict(type='EpochBasedRunner', max_epochs={epochs})
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
'''


def write_configs(work, prefix, epochs):
    values = dict(RECIPE, epochs=epochs, prefix=os.path.abspath(prefix))
    paths = {}
    for system, text in (('minicls', MINICLS_CONFIG), ('mmcls', MMCLS_CONFIG)):
        paths[system] = os.path.join(work, f'{system}_digits.py')
        with open(paths[system], 'w') as f:
            f.write(text.format(**values))
    return paths


# ---- 4. mmcls's tools/train.py, as a driver ------------------------------------------------

def mmcls_driver(argv):
    """mmcls 0.25's tools/train.py for one non-distributed CPU run (that script is not in the
    wheel): the same calls in the same order, minus the options this check does not use."""
    p = argparse.ArgumentParser(prog='real_data.py --mmcls-driver')
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--seed', type=int, required=True)
    args = p.parse_args(argv)
    import warnings
    from types import SimpleNamespace
    from unittest import mock
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')            # mmcv warns about its missing compiled ops
        import mmcv
        import torch
        from mmcv import Config
        from mmcv.runner import epoch_based_runner
        from mmcls import __version__
        from mmcls.apis import init_random_seed, set_random_seed, train_model
        from mmcls.datasets import CIFAR10, DATASETS, build_dataset
        from mmcls.models import build_classifier
        from mmcls.utils import collect_env, get_root_logger, setup_multi_processes

    @DATASETS.register_module()
    class DigitsCIFAR10(CIFAR10):                  # the md5 table from md5sums.txt, not CIFAR-10's
        CLASSES = [str(d) for d in range(10)]

        def __init__(self, data_prefix, *a, **kw):
            with open(os.path.join(data_prefix, self.base_folder, 'md5sums.txt')) as f:
                md5 = {name: s for s, name in (line.split() for line in f)}
            self.train_list = [['data_batch_1', md5['data_batch_1']]]
            self.test_list = [['test_batch', md5['test_batch']]]
            self.meta = dict(self.meta, md5=md5['batches.meta'])
            super().__init__(data_prefix, *a, **kw)

    cfg = Config.fromfile(args.config)
    setup_multi_processes(cfg)
    cfg.work_dir = args.work_dir
    cfg.gpu_ids = [0]
    cfg.device = 'cpu'
    mmcv.mkdir_or_exist(os.path.abspath(cfg.work_dir))
    cfg.dump(os.path.join(cfg.work_dir, os.path.basename(args.config)))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    logger = get_root_logger(log_file=os.path.join(cfg.work_dir, f'{timestamp}.log'), log_level=cfg.log_level)
    meta = dict()
    env_info = '\n'.join(f'{k}: {v}' for k, v in collect_env().items())
    meta['env_info'] = env_info
    logger.info(f'Distributed training: False')
    seed = init_random_seed(args.seed, device=cfg.device)
    logger.info(f'Set random seed to {seed}, deterministic: False')
    set_random_seed(seed, deterministic=False)
    cfg.seed = seed
    meta['seed'] = seed
    model = build_classifier(cfg.model)
    model.init_weights()
    datasets = [build_dataset(cfg.data.train)]
    cfg.checkpoint_config.meta = dict(mmcls_version=__version__, config=cfg.pretty_text,
                                      CLASSES=datasets[0].CLASSES)
    with mock.patch.object(epoch_based_runner, 'time', SimpleNamespace(sleep=lambda seconds: None)):
        train_model(model, datasets, cfg, distributed=False, validate=True, timestamp=timestamp,
                    device=cfg.device, meta=meta)
    del torch


def mmcls_available(pythonpath):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    r = subprocess.run([sys.executable, '-W', 'ignore', '-c', 'import mmcv, mmcls; print(mmcls.__version__)'],
                       env=env, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


# ---- 5. The runs ---------------------------------------------------------------------------

def read_log_json(work_dir):
    """(final top-1, mean of the last five top-1s, last epoch's mean train loss) from <timestamp>.log.json."""
    paths = sorted(glob.glob(os.path.join(work_dir, '*.log.json')))
    if not paths:
        raise RuntimeError(f'no .log.json in {work_dir}')
    vals, losses = [], {}
    with open(paths[-1]) as f:
        for line in f:
            entry = json.loads(line)
            if entry.get('mode') == 'val' and 'accuracy_top-1' in entry:
                vals.append(float(entry['accuracy_top-1']))
            elif entry.get('mode') == 'train' and 'loss' in entry:
                losses.setdefault(entry['epoch'], []).append(float(entry['loss']))
    last_loss = statistics.mean(losses[max(losses)]) if losses else None
    return vals[-1], statistics.mean(vals[-5:]), last_loss, len(vals)


def run_one(system, seed, args, configs, pythonpath, extra_env):
    run_dir = os.path.join(args.work, 'runs', f'{system}{args.tag}_seed{seed}')
    if os.path.isdir(run_dir):
        subprocess.run(['rm', '-rf', run_dir], check=True)
    if system == 'minicls':
        cmd = [sys.executable, 'train.py', '--config', configs['minicls'], '--work-dir', run_dir, '--seed', str(seed)]
        cwd, env = args.minicls, dict(os.environ)
    else:
        cmd = [sys.executable, '-W', 'ignore', os.path.abspath(__file__), '--mmcls-driver', configs['mmcls'],
               '--work-dir', run_dir, '--seed', str(seed)]
        cwd, env = args.work, dict(os.environ, PYTHONPATH=pythonpath)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', **extra_env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    r = subprocess.run(['nice', '-n', str(args.nice)] + cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f'{system} seed {seed} failed ({r.returncode}):\n{r.stderr[-3000:]}')
    top1, last5, loss, n_evals = read_log_json(run_dir)
    return dict(system=system, seed=seed, top1=top1, last5_top1=round(last5, 3), final_train_loss=loss,
                evaluations=n_evals, wall_s=round(wall, 1),
                cpu_s=round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1), work_dir=run_dir)


def parse_seeds(text):
    seeds = []
    for part in text.split(','):
        a, _, b = part.partition('-')
        seeds.extend(range(int(a), int(b) + 1) if b else [int(a)])
    return seeds


def summary(values):
    return dict(mean=round(statistics.mean(values), 3), sd=round(statistics.stdev(values), 3) if len(values) > 1
                else None, n=len(values))


# ---- 6. Main -------------------------------------------------------------------------------

def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--mmcls-driver':
        return mmcls_driver(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', default='0-9', help="e.g. '0-9' or '1000,2000' (default 0-9)")
    p.add_argument('--epochs', type=int, default=RECIPE['epochs'])
    p.add_argument('--only', choices=['minicls', 'mmcls'])
    p.add_argument('--out', default='real_data.json', help='results JSON (default real_data.json)')
    p.add_argument('--work', default='/tmp/minicls_real_data', help='data, configs and run folders')
    p.add_argument('--mmref', default=None, help='folder made by mmcv_reference_setup.sh (default: PYTHONPATH)')
    p.add_argument('--minicls', default=REPO, help='the minicls checkout to train (default: this one)')
    p.add_argument('--env', action='append', default=[], help='KEY=VALUE for the training processes')
    p.add_argument('--tag', default='', help='suffix of the run folders and the recipe key')
    p.add_argument('--nice', type=int, default=19)
    p.add_argument('--fresh', action='store_true', help='re-run runs already in --out')
    args = p.parse_args()
    args.work = os.path.abspath(args.work)
    args.minicls = os.path.abspath(args.minicls)
    os.makedirs(args.work, exist_ok=True)
    extra_env = dict(kv.split('=', 1) for kv in args.env)

    data_info, prefix = prepare_data(args.work)
    configs = write_configs(args.work, prefix, args.epochs)
    pythonpath = (f'{args.mmref}/src:{args.mmref}/deps' if args.mmref else os.environ.get('PYTHONPATH', ''))
    systems = [args.only] if args.only else ['minicls', 'mmcls']
    mmcls_version = mmcls_available(pythonpath) if 'mmcls' in systems else None
    if 'mmcls' in systems and mmcls_version is None:
        if args.only == 'mmcls':
            raise SystemExit('mmcls not importable: run benchmarks/mmcv_reference_setup.sh and pass --mmref')
        print('mmcv/mmcls not found (PYTHONPATH / --mmref): minicls only', flush=True)
        systems.remove('mmcls')
    key = json.dumps(dict(RECIPE, epochs=args.epochs, minicls=args.minicls, env=extra_env, tag=args.tag,
                          md5=data_info['md5']), sort_keys=True)

    old = {}
    if os.path.isfile(args.out) and not args.fresh:
        with open(args.out) as f:
            previous = json.load(f)
        old = {(r['system'], r['seed']): r for r in previous.get('runs', []) if previous.get('recipe_key') == key}
    results = dict(what='real-data check: final top-1 (%) on 360 held-out digits',
                   data=data_info, recipe=dict(RECIPE, epochs=args.epochs), recipe_key=key,
                   minicls=args.minicls, env=extra_env, mmcls=mmcls_version,
                   machine=f'{platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}',
                   runs=list(old.values()))

    def save():
        results['summary'] = {}
        for system in systems:
            runs = [r for r in results['runs'] if r['system'] == system]
            if runs:
                results['summary'][system] = dict(
                    top1=summary([r['top1'] for r in runs]), last5_top1=summary([r['last5_top1'] for r in runs]),
                    cpu_s_per_epoch=round(statistics.mean(r['cpu_s'] for r in runs) / args.epochs, 2),
                    per_seed={r['seed']: r['top1'] for r in sorted(runs, key=lambda r: r['seed'])})
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)

    for seed in parse_seeds(args.seeds):
        for system in systems:
            if (system, seed) in old:
                continue
            r = run_one(system, seed, args, configs, pythonpath, extra_env)
            results['runs'].append(r)
            print(f'{system:7s} seed {seed:5d}: top-1 {r["top1"]:6.2f}  last-5 {r["last5_top1"]:6.2f}  '
                  f'loss {r["final_train_loss"]:.4f}  {r["wall_s"]:.0f} s wall, {r["cpu_s"]:.0f} s CPU', flush=True)
            save()
    save()
    print(f'\n{data_info["train"]} train / {data_info["test"]} test digits, {args.epochs} epochs; results: {args.out}')
    for system, s in results['summary'].items():
        t = s['top1']
        print(f'{system:7s} top-1 {t["mean"]:.2f} +- {t["sd"] if t["sd"] is not None else float("nan"):.2f} '
              f'(n = {t["n"]}), last-5 mean {s["last5_top1"]["mean"]:.2f}, {s["cpu_s_per_epoch"]} CPU s/epoch')
    if len(results['summary']) == 2:
        (a, sa, na), (b, sb, nb) = ((t['mean'], t['sd'] or 0.0, t['n'])
                                    for t in (results['summary'][s]['top1'] for s in ('minicls', 'mmcls')))
        se = (sa ** 2 / na + sb ** 2 / nb) ** 0.5       # Welch's standard error of the difference
        results['minicls_minus_mmcls'] = dict(points=round(a - b, 3), se=round(se, 3),
                                              welch_t=round((a - b) / se, 2) if se else None)
        save()
        print(f'minicls - mmcls: {a - b:+.2f} points (standard error {se:.2f}; Welch t {(a - b) / se if se else 0:+.2f})')


if __name__ == '__main__':
    main()
