"""Train a classifier: the mmcls 0.x `tools/train.py` + `mmcls/apis/train.py` flow.

    python train.py --config configs/demo.py                 # the embedded demo, ~22 s on 2 quiet CPU cores
    python train.py --config config.py                       # the article's ResNet-50 / CIFAR-10
    python train.py --config config.py --resume work_dirs/epoch_20.pth
    python train.py --config config.py --cfg-options total_epochs=4 optimizer.lr=0.05

`main()` does what mmcls's tools/train.py does: read the config, make the work dir and the
logger, collect env info into `meta`, set the seed, build the model and the datasets, and
call `train_model`, which takes the eight steps of docs/flow.md in order.
"""
import argparse
import dataclasses
import fcntl
import json
import logging
import os
import platform
import random
import re
import runpy
import sys
import tempfile
import time
import traceback
import typing
import warnings

# OpenMP threads that wait for work (set before torch loads OpenMP): libgomp, torch's OpenMP on
# Linux, spins GOMP_SPINCOUNT times, then sleeps; other runtimes read OMP_WAIT_POLICY. The demo
# on 2 cores, 2 threads, no spin -> 10,000: quiet 24.5 -> 20.6 s, beside two busy processes
# 81.3 -> 69.8 s; libgomp's default (300,000) took ~200 s there in session 5 (docs/benchmarks.md).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('GOMP_SPINCOUNT', '10000')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from config import ConfigError, __version__, check_config, config_changes, config_to_json, load_config
from data import Compose, DatasetError, build_dataloader, build_dataset, dataset_class
from hooks import (LR_POLICIES, MOMENTUM_POLICIES, CheckInvalidLossHook, DistSamplerSeedHook, EvalHook, Priority,
                   StopSignalHook, TrainingStopped, build_custom_hook, build_updater_hook)
from model import build_classifier
from runner import CheckpointError, EpochBasedRunner, atomic_write, build_optimizer

logger = logging.getLogger('minicls')


# ---------------------------------------------------------------------------------------
# train_model: the eight steps  (mmcls: mmcls/apis/train.py)
# ---------------------------------------------------------------------------------------


def train_model(model, datasets, cfg, distributed=False, validate=False, timestamp=None, meta=None,
                trust_checkpoint=False, trace=False):
    def say(step):                     # --trace: the steps, as they happen
        if trace:
            logger.info(f'[trace] {step}')
    # 1. data loaders: one per workflow entry
    say(f'1. build_dataloader x {len(datasets)}: batch {cfg.data.samples_per_gpu}, '
        f'{cfg.data.workers_per_gpu} workers, seed {cfg.seed}')
    loader_args = dict(pin_memory=cfg.data.pin_memory)
    if cfg.data.workers_per_gpu > 0:
        loader_args['persistent_workers'] = cfg.data.persistent_workers
    data_loaders = [build_dataloader(ds, cfg.data.samples_per_gpu, cfg.data.workers_per_gpu, num_gpus=1,
                                     dist=distributed, round_up=True, seed=cfg.seed, **loader_args)
                    for ds in datasets]
    if distributed:                    # one model per process; DDP averages the gradients in backward()
        from extras.distributed import wrap_model
        model = wrap_model(model, cfg.sync_bn)
    # 2. optimizer
    say(f'2. build_optimizer: {cfg.optimizer.type}(lr={cfg.optimizer.lr}, momentum={cfg.optimizer.momentum}, '
        f'weight_decay={cfg.optimizer.weight_decay})')
    optimizer = build_optimizer(model, cfg.optimizer)
    # 3. runner
    say(f'3. EpochBasedRunner(work_dir={cfg.work_dir!r}, max_epochs={cfg.total_epochs})')
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=cfg.work_dir, logger=logger,
                              meta=meta, max_epochs=cfg.total_epochs)
    runner.timestamp = timestamp       # <timestamp>.log and <timestamp>.log.json share a name
    if cfg.channels_last:
        runner.memory_format = torch.channels_last
    if trace:
        from extras.trace import TraceHook
        runner.register_hook(TraceHook(), 'HIGHEST')
    # 4. the standard hooks, and the guards (not in mmcv): a NaN/inf loss stops before the
    #    optimizer steps on it; Ctrl-C / SIGTERM saves iter_N.pth and stops
    runner.register_training_hooks(cfg.lr_config, cfg.optimizer_config, cfg.checkpoint_config,
                                   cfg.log_config, cfg.momentum_config, cfg.fp16, cfg.custom_hooks)
    runner.register_hook(CheckInvalidLossHook(), 'HIGH')
    if distributed:                    # the processes agree on a stop, or they would wait forever
        from extras.distributed import DistStopSignalHook
        runner.register_hook(DistStopSignalHook(), 'LOWEST')
    else:
        runner.register_hook(StopSignalHook(), 'LOWEST')
    # 5. a sampler-seed hook: epoch e's order comes from (seed, e), the same on every rank
    #    (mmcv: only when distributed; here always, so a resumed run sees the same order)
    runner.register_hook(DistSamplerSeedHook())
    say('4-5. registered: ' + ', '.join(f'{type(h).__name__} ({Priority(h.priority).name})' for h in runner.hooks
                                        if type(h).__name__ != 'TraceHook'))
    # 6. evaluation on the val set, after the timer
    if validate:
        val_dataset = build_dataset(cfg.data.val)
        val_loader = build_dataloader(val_dataset, cfg.data.val_samples_per_gpu or cfg.data.samples_per_gpu,
                                      cfg.data.workers_per_gpu,
                                      dist=distributed, shuffle=False, round_up=True, **loader_args)
        if distributed:
            from extras.distributed import DistEvalHook as eval_hook
        else:
            eval_hook = EvalHook
        runner.register_hook(eval_hook(val_loader, **dataclasses.asdict(cfg.evaluation)), priority='LOW')
        say(f'6. {eval_hook.__name__} (LOW) on {len(val_dataset)} val images, every {cfg.evaluation.interval} epoch(s)')
    # 7. resume everything, or load weights only
    say(f'7. resume_from={cfg.resume_from!r}, load_from={cfg.load_from!r}')
    if cfg.resume_from:
        runner.resume(cfg.resume_from, trusted=trust_checkpoint)
        if runner.epoch >= cfg.total_epochs:
            raise ConfigError(f'{cfg.resume_from} is at epoch {runner.epoch} and total_epochs={cfg.total_epochs}: '
                              'nothing is left to train; raise total_epochs to train on')
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from, trusted=trust_checkpoint)
    # 8. run
    say(f'8. runner.run(data_loaders, workflow={cfg.workflow})')
    runner.run(data_loaders, cfg.workflow)
    return runner


# ---------------------------------------------------------------------------------------
# main: mmcls's tools/train.py
# ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a classifier (mmcls 0.x flow).')
    p.add_argument('--config', default='config.py', help='a Python file that defines cfg')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default: cfg.work_dir)')
    p.add_argument('--resume', '--resume-from', dest='resume_from',
                   help="checkpoint to resume from, or 'auto': the newest in the work dir, if any")
    p.add_argument('--load-from', help='checkpoint to load weights from (a fresh run otherwise)')
    p.add_argument('--no-validate', action='store_true', help='do not evaluate during training')
    p.add_argument('--seed', type=int, help='random seed (default: cfg.seed, else drawn and logged)')
    p.add_argument('--deterministic', action='store_true', help='deterministic cuDNN algorithms')
    p.add_argument('--device', choices=['auto', 'cpu', 'cuda'], help='default: cfg.device')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='override config fields, e.g. optimizer.lr=0.05 total_epochs=4')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow a checkpoint that needs arbitrary unpickling (can run code: trusted files only)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help="'pytorch': one process of a torchrun job (torchrun --nproc_per_node=N train.py ...)")
    p.add_argument('--trace', action='store_true',
                   help='print the steps and every call_hook of the first iterations as they happen')
    p.add_argument('--debug', action='store_true',
                   help='one epoch on 256 train / 128 val images, no worker processes (breakpoints are hit), '
                        'a log line every iteration, full tracebacks')
    return p.parse_args(argv)


def build_cfg(args):
    if args.resume_from and args.load_from:
        raise ConfigError('--resume and --load-from conflict: --resume continues a run (weights, optimizer, '
                          'epoch), --load-from starts a new one from weights; give one')
    cfg = load_config(args.config)
    if args.cfg_options:
        from extras.cfg_options import apply_cfg_options
        cfg = apply_cfg_options(cfg, args.cfg_options)
    overrides = dict(work_dir=args.work_dir, resume_from=args.resume_from, load_from=args.load_from,
                     seed=args.seed, device=args.device)
    cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    if args.deterministic:
        cfg = dataclasses.replace(cfg, deterministic=True)
    if args.debug:                     # small, single-process, in its own work dir, a log line per iteration
        data = dataclasses.replace(cfg.data, workers_per_gpu=0,
                                   train=dataclasses.replace(cfg.data.train, num_samples=256),
                                   val=dataclasses.replace(cfg.data.val, num_samples=128))
        cfg = dataclasses.replace(cfg, total_epochs=1, data=data,
                                  log_config=dataclasses.replace(cfg.log_config, interval=1),
                                  work_dir=os.path.join(cfg.work_dir, 'debug', time.strftime('%Y%m%d_%H%M%S')))
    check_config(cfg)
    return cfg


# ---------------------------------------------------------------------------------------
# The work dir: nothing in it is ever lost or overwritten
# ---------------------------------------------------------------------------------------

CHECKPOINT_NAME = re.compile(r'(epoch|iter)_\d+\.pth')


def checkpoint_dirs(cfg):
    """Where this run writes checkpoints: the work dir, and checkpoint_config.out_dir/<work
    dir's name> when that is set (mmcv's CheckpointHook rule)."""
    dirs = [os.path.abspath(cfg.work_dir)]
    out_dir = cfg.checkpoint_config.out_dir if cfg.checkpoint_config is not None else None
    if out_dir and os.path.abspath(out_dir) != dirs[0]:
        dirs.append(os.path.join(os.path.abspath(out_dir), os.path.basename(dirs[0].rstrip(os.sep))))
    return dirs


def lock(folder):
    """Hold an advisory lock on `folder` for as long as this process lives (the open file
    keeps it); a second run in the same folder is refused, naming the holder."""
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, '.lock'), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise ConfigError(f'{folder!r} cannot be written: {e.strerror}') from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 20).decode(errors='replace').strip() or 'unknown'
        raise ConfigError(f'{folder} is in use by another run (pid {holder}); wait for it to end, '
                          'or pick another --work-dir') from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def checkpoint_position(path):
    """(iter, epoch) from a checkpoint's meta, or None when it does not load. Its tensors
    are mapped, not read (mmap): a look at the meta of a large file is quick."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            meta = torch.load(path, map_location='cpu', weights_only=True, mmap=True)['meta']
        return meta['iter'], meta['epoch']
    except Exception:
        return None


def find_latest(folder, notes):
    """The checkpoint that `last_checkpoint` names, if it is a checkpoint file of this folder
    that loads; otherwise the newest one (by the epoch/iter in its meta) that loads."""
    pointer = os.path.join(folder, 'last_checkpoint')
    if os.path.isfile(pointer):
        with open(pointer, 'rb') as f:
            name = f.read(200).decode(errors='replace').strip()
        path = os.path.join(folder, name)
        if CHECKPOINT_NAME.fullmatch(name) and not os.path.islink(path) and checkpoint_position(path):
            return path
        notes.append(f'last_checkpoint in {folder} names {name[:60]!r}, not a checkpoint of this folder '
                     'that loads: ignored')
    found = [(checkpoint_position(os.path.join(folder, f)), f) for f in os.listdir(folder) if CHECKPOINT_NAME.fullmatch(f)]
    found = sorted((pos, f) for pos, f in found if pos is not None)
    return os.path.join(folder, found[-1][1]) if found else None


def resolve_resume(cfg, timestamp, notes, move_aside=True):
    """--resume auto -> the newest checkpoint that loads, or a fresh start. Never overwrite
    an earlier run's checkpoints: a fresh run refuses a folder that has some, and a resume
    moves those past its starting point (by the epoch/iter in their meta, never by file
    time) into a new `superseded_<timestamp>_*` folder."""
    if cfg.resume_from == 'auto':
        latest = find_latest(cfg.work_dir, notes)
        cfg = dataclasses.replace(cfg, resume_from=latest)
        notes.append(f'--resume auto: resuming from {latest}' if latest
                     else f'--resume auto: no checkpoint in {cfg.work_dir}, starting fresh')
    for folder in checkpoint_dirs(cfg):
        ckpts = sorted(f for f in os.listdir(folder) if CHECKPOINT_NAME.fullmatch(f)) if os.path.isdir(folder) else []
        if not cfg.resume_from:
            if ckpts:
                raise ConfigError(f'{folder} already holds checkpoints of an earlier run ({", ".join(ckpts[:3])}'
                                  f'{", ..." if len(ckpts) > 3 else ""}); resume with --resume auto, or pick '
                                  'another --work-dir')
            continue
        start, start_path = checkpoint_position(cfg.resume_from), os.path.realpath(cfg.resume_from)

        def is_later(path):                # a checkpoint that does not load counts as later: moved, not lost
            position = checkpoint_position(path)
            return os.path.realpath(path) != start_path and (position is None or start is None or position > start)
        later = [f for f in ckpts if is_later(os.path.join(folder, f))]
        if later and move_aside:
            aside = tempfile.mkdtemp(prefix=f'superseded_{timestamp}_', dir=folder)
            for f in later:
                os.replace(os.path.join(folder, f), os.path.join(aside, f))
            notes.append(f'moved {len(later)} checkpoints from {folder} that a resume from {cfg.resume_from} '
                         f'would overwrite to {aside} (nothing is deleted)')
    return cfg


def collect_env(threads_why=''):
    return '\n'.join([f'sys.platform: {sys.platform}', f'Python: {sys.version.split()[0]}',
                      f'CUDA available: {torch.cuda.is_available()}',
                      *([f'GPU 0: {torch.cuda.get_device_name(0)}'] if torch.cuda.is_available() else []),
                      f'PyTorch: {torch.__version__}', f'NumPy: {np.__version__}',
                      f'CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
                      f'{usable_cores()} usable, torch threads: {torch.get_num_threads()}{threads_why}, '
                      f'OMP_WAIT_POLICY: {os.environ.get("OMP_WAIT_POLICY")}, '
                      f'GOMP_SPINCOUNT: {os.environ.get("GOMP_SPINCOUNT")}',
                      f'minicls: {__version__}'])


def usable_cores():
    """The cores this process may run on (its CPU affinity; macOS has none: all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1


def intra_op_threads(cores, workers, requested=None, busy=0):
    """torch's threads for this process's math: `requested` (OMP_NUM_THREADS or cfg.num_threads)
    when given, else the cores it may use minus one for each loader worker (a worker
    computes with one thread: torch sets that) and one for each task that keeps a core busy
    elsewhere, never fewer than 1. More threads than free cores wait on each other: the demo
    beside two busy processes on 2 cores took 99.8 s with two threads, 62.1 s with one."""
    return requested if requested else max(1, cores - workers - busy)


def busy_elsewhere(cores, processes=1, stat='/proc/stat', looks=5):
    """About how many of this process's `cores` other programs keep busy right now: the
    kernel's count of running tasks (Linux: procs_running in /proc/stat; the median of a few
    looks 10 ms apart), less this job's own `processes`, as a share of all the machine's
    cores. 0 where that count cannot be read."""
    counts = []
    for _ in range(looks):
        try:
            with open(stat) as f:
                counts.append(next(int(line.split()[1]) for line in f if line.startswith('procs_running ')))
        except (OSError, StopIteration, ValueError, IndexError):
            return 0
        time.sleep(0.01)
    others = max(0, sorted(counts)[len(counts) // 2] - processes)
    return round(others * cores / (os.cpu_count() or cores))


def set_random_seed(seed, deterministic=False):
    """mmcls: set_random_seed (PYTHONHASHSEED reaches only processes started after this)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)         # also seeds every CUDA device
    os.environ['PYTHONHASHSEED'] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


class NoFollowFileHandler(logging.FileHandler):
    def _open(self):                   # O_NOFOLLOW: a link planted at the log's name is not followed
        return os.fdopen(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644),
                         'a', encoding=self.encoding)


def setup_logger(log_file, level, rank=0):
    """Console + <timestamp>.log on rank 0; the other ranks only print errors."""
    logger.setLevel(level if rank == 0 else 'ERROR')
    for handler in logger.handlers:    # an earlier run in this process (a notebook, the tests)
        handler.close()
    logger.handlers.clear()
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    handlers = [logging.StreamHandler(sys.stdout)] + ([NoFollowFileHandler(log_file)] if rank == 0 else [])
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    device = cfg.device if cfg.device != 'auto' else ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ConfigError('device=cuda was asked for, but torch sees no CUDA device; use --device cpu')
    distributed, rank = args.launcher == 'pytorch', 0
    if distributed:
        from extras.distributed import init_dist
        rank, device = init_dist(cfg.dist_params.get('backend'), device)

    threads_why = ''
    if device == 'cpu':
        env = os.environ.get('OMP_NUM_THREADS', '')
        requested = int(env) if env.isdigit() else cfg.num_threads
        processes = int(os.environ.get('LOCAL_WORLD_SIZE', 1))      # this job's processes on this machine
        cores = max(usable_cores() // processes, 1)
        busy = 0 if requested else busy_elsewhere(cores, processes)
        torch.set_num_threads(intra_op_threads(cores, cfg.data.workers_per_gpu, requested, busy))
        threads_why = (' (OMP_NUM_THREADS / num_threads)' if requested else
                       f' ({cores} cores - {cfg.data.workers_per_gpu} loader workers - {busy} busy elsewhere)')
    locks = [lock(folder) for folder in checkpoint_dirs(cfg)] if rank == 0 else []   # one run per folder
    try:
        timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        notes = []
        if distributed:                    # rank 0 made the work dir; the others wait for it
            torch.distributed.barrier()
        cfg = resolve_resume(cfg, timestamp, notes, move_aside=rank == 0)
        if distributed:
            torch.distributed.barrier()    # rank 0 has moved old checkpoints aside
        setup_logger(os.path.join(cfg.work_dir, f'{timestamp}.log'), cfg.log_level, rank)
        for note in notes:
            logger.info(note)
        config_text = config_to_json(cfg)
        if rank == 0:
            atomic_write(os.path.join(cfg.work_dir, f'{timestamp}_config.json'), (config_text + '\n').encode())

        env_info = collect_env(threads_why)
        logger.info('Environment info:\n' + '-' * 60 + '\n' + env_info + '\n' + '-' * 60)
        logger.info(f'Config {args.config}, as it differs from config.py (all of it: {timestamp}_config.json):\n'
                    + '\n'.join(config_changes(cfg)))
        seed = cfg.seed if cfg.seed is not None else random.SystemRandom().randrange(2 ** 31)
        if distributed:                    # every rank takes rank 0's seed: the same shuffle everywhere
            shared = [seed]
            torch.distributed.broadcast_object_list(shared, src=0)
            seed = shared[0]
        logger.info(f'Set random seed to {seed}, deterministic: {cfg.deterministic}')
        set_random_seed(seed, cfg.deterministic)
        cfg = dataclasses.replace(cfg, seed=seed)
        meta = dict(env_info=env_info, config=config_text, seed=seed, exp_name=os.path.basename(args.config))

        model = build_classifier(cfg.model)
        model.init_weights()
        model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.preserve_format)
        torch.backends.cudnn.benchmark = cfg.cudnn_benchmark and not cfg.deterministic
        if cfg.compile:
            model.compile()                # in place: the state_dict keys stay mmcls's
        datasets = [build_dataset(cfg.data.train)]
        if len(cfg.workflow) == 2:         # a ('val', n) workflow entry: val data, train pipeline (as mmcls)
            train_like = dict(pipeline=cfg.data.train.pipeline, batched=cfg.data.train.batched)
            datasets.append(build_dataset(dataclasses.replace(cfg.data.val, **train_like)))
        labels = datasets[0].get_gt_labels()
        if len(labels) and labels.max() >= cfg.model.head.num_classes:
            raise ConfigError(f'model.head.num_classes={cfg.model.head.num_classes}, but {cfg.data.train.type} at '
                              f'{cfg.data.train.data_prefix!r} has labels up to {labels.max()}; set num_classes to '
                              f'{labels.max() + 1} or more')
        meta['CLASSES'] = list(datasets[0].CLASSES)
        train_model(model, datasets, cfg, distributed=distributed, validate=not args.no_validate,
                    timestamp=timestamp, meta=meta, trust_checkpoint=args.trust_checkpoint, trace=args.trace)
        if distributed:     # not in mmcv: left to interpreter exit, gloo's threads can abort it (pytorch#190489)
            torch.distributed.destroy_process_group()
    finally:
        for fd in locks:               # the lock ends with the run
            os.close(fd)


def cli(argv=None):
    """Run main(); turn the errors a user can cause into a short message and an exit status:
    2 for usage and config errors, 1 for runtime failures, 128+N after signal N."""
    debug = '--debug' in (sys.argv if argv is None else argv)
    try:
        main(argv)
        return
    except TrainingStopped as e:
        error, code = e, e.exit_code
    except (ConfigError, ValueError, TypeError) as e:
        error, code = e, 2
    except (DatasetError, CheckpointError, OSError) as e:
        error, code = e, 1
    except KeyboardInterrupt as e:     # Ctrl-C before training started, or a second one
        error, code = e, 130
    message = str(error)
    if isinstance(error, KeyboardInterrupt):
        message = 'interrupted (Ctrl-C); nothing was saved after the last checkpoint'
    if debug:
        traceback.print_exception(error)
    elif 'Original Traceback' in message:   # raised in a DataLoader worker: keep its last line
        message = message.strip().splitlines()[-1] + ' (in a DataLoader worker; --debug shows where)'
    print(f'error: {message}', file=sys.stderr)
    sys.exit(code)


if __name__ == '__main__':
    cli()
