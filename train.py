"""Train a classifier: the mmcls 0.x `tools/train.py` + `mmcls/apis/train.py` flow.

    python train.py --config configs/demo.py                 # the embedded demo, ~1 min on a CPU
    python train.py --config config.py                       # the article's ResNet-50 / CIFAR-10
    python train.py --config config.py --resume work_dirs/epoch_20.pth
    python train.py --config config.py --cfg-options total_epochs=4 optimizer.lr=0.05

`main()` does what mmcls's tools/train.py does: read the config, make the work dir and the
logger, collect env info into `meta`, set the seed, build the model and the datasets, and
call `train_model`, which takes the eight steps of docs/flow.md in order.
"""
import argparse
import dataclasses
import json
import logging
import os
import platform
import random
import re
import runpy
import sys
import time
import traceback

import numpy as np
import torch

import config as config_module
from config import ConfigError
from data import DATASETS, Compose, DatasetError, build_dataloader, build_dataset
from hooks import (LR_POLICIES, MOMENTUM_POLICIES, CheckInvalidLossHook, DistSamplerSeedHook, EvalHook, Priority,
                   StopSignalHook, TrainingStopped, build_updater_hook)
from model import build_classifier
from runner import CheckpointError, EpochBasedRunner, build_optimizer

__version__ = '0.1.0'
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
        val_loader = build_dataloader(val_dataset, cfg.data.samples_per_gpu, cfg.data.workers_per_gpu,
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
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from, trusted=trust_checkpoint)
    # 8. run
    say(f'8. runner.run(data_loaders, workflow={cfg.workflow})')
    runner.run(data_loaders, cfg.workflow)
    return runner


# ---------------------------------------------------------------------------------------
# The config: read a file, check it  (mmcv: Config.fromfile)
# ---------------------------------------------------------------------------------------


def load_config(path):
    """Run a config file and return its `cfg` (a config.Config)."""
    if not os.path.isfile(path):
        raise ConfigError(f'--config: file {path!r} does not exist')
    if os.path.samefile(path, config_module.__file__):
        return config_module.cfg           # config.py itself: already imported
    # `from config import ...` works, and so does `policy='my_policy:MyLrUpdaterHook'` next to the file
    for folder in (os.path.dirname(os.path.abspath(path)), os.path.dirname(os.path.abspath(__file__))):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(path)
    except Exception as e:
        raise ConfigError(f'--config: {path} failed to run: {type(e).__name__}: {e}') from e
    cfg = namespace.get('cfg')
    if not isinstance(cfg, config_module.Config):
        raise ConfigError(f'--config: {path} must define `cfg = Config(...)` (from config.py), '
                          f'found {type(cfg).__name__}')
    return cfg


def check_config(cfg):
    """Values that type checks cannot catch, named as the user wrote them; then the cheap
    parts are built, so that a typo fails in a second, not after the data is read."""
    checks = [('total_epochs', cfg.total_epochs >= 1, '>= 1'),
              ('optimizer.lr', cfg.optimizer.lr >= 0, '>= 0'),
              ('data.samples_per_gpu', cfg.data.samples_per_gpu >= 1, '>= 1'),
              ('data.workers_per_gpu', cfg.data.workers_per_gpu >= 0, '>= 0'),
              ('log_config.interval', cfg.log_config.interval >= 1, '>= 1'),
              ('device', cfg.device in ('auto', 'cpu', 'cuda'), "one of 'auto', 'cpu', 'cuda'")]
    for name, ok, allowed in checks:
        if not ok:
            value = eval(f'cfg.{name}', {'cfg': cfg})  # noqa: S307 (our own field names)
            raise ConfigError(f'{name}={value!r} is out of range; allowed: {allowed}')
    build_updater_hook(cfg.lr_config, LR_POLICIES, 'lr_config')
    if cfg.momentum_config is not None:
        build_updater_hook(cfg.momentum_config, MOMENTUM_POLICIES, 'momentum_config')
    build_optimizer(torch.nn.Linear(1, 1), cfg.optimizer)
    for split in ('train', 'val', 'test'):
        dataset_cfg = getattr(cfg.data, split)
        if dataset_cfg.type not in DATASETS:
            raise ConfigError(f'data.{split}.type={dataset_cfg.type!r} is not known; valid: {", ".join(DATASETS)}')
        Compose(dataset_cfg.pipeline, batched=dataset_cfg.batched)
    for entry in cfg.workflow:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] in ('train', 'val')
                and isinstance(entry[1], int) and entry[1] >= 1):
            raise ConfigError(f"workflow entry {entry!r} is not valid; expected ('train' or 'val', epochs >= 1)")


def config_to_json(cfg):
    return json.dumps(dataclasses.asdict(cfg), indent=2)


def config_changes(cfg, base=config_module.cfg, prefix=''):
    """`key: value` lines for the fields where cfg differs from `base` (config.py's cfg)."""
    lines = []
    for f in dataclasses.fields(cfg):
        value, default = getattr(cfg, f.name), getattr(base, f.name, None)
        if dataclasses.is_dataclass(value) and dataclasses.is_dataclass(default):
            lines += config_changes(value, default, f'{prefix}{f.name}.')
        elif value != default:
            lines.append(f'{prefix}{f.name}: {value!r}')
    return lines


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


def resolve_resume(cfg, timestamp, notes, move_aside=True):
    """--resume auto -> the newest complete checkpoint (named by `last_checkpoint`) or a
    fresh start. Never overwrite the checkpoints of an earlier run: a fresh run refuses a
    work dir that has some, and a resume moves those past its starting point aside."""
    work_dir = cfg.work_dir
    if cfg.resume_from == 'auto':
        pointer = os.path.join(work_dir, 'last_checkpoint')
        name = open(pointer).read().strip() if os.path.isfile(pointer) else None
        if name and os.path.isfile(os.path.join(work_dir, name)):
            cfg = dataclasses.replace(cfg, resume_from=os.path.join(work_dir, name))
            notes.append(f'--resume auto: resuming from {cfg.resume_from}')
        else:
            cfg = dataclasses.replace(cfg, resume_from=None)
            notes.append(f'--resume auto: no checkpoint in {work_dir}, starting fresh')
    ckpts = sorted(f for f in os.listdir(work_dir) if re.fullmatch(r'(epoch|iter)_\d+\.pth', f))
    if not cfg.resume_from:
        if ckpts:
            raise ConfigError(f'work dir {work_dir} already holds checkpoints of an earlier run '
                              f'({", ".join(ckpts[:3])}{", ..." if len(ckpts) > 3 else ""}); resume with '
                              f'--resume auto, or pick another --work-dir')
        return cfg
    if os.path.dirname(os.path.abspath(cfg.resume_from)) == os.path.abspath(work_dir):
        start = os.path.basename(cfg.resume_from)
        later = [f for f in ckpts if f != start and os.path.getmtime(os.path.join(work_dir, f))
                 > os.path.getmtime(cfg.resume_from)]
        if later and move_aside:
            aside = os.path.join(work_dir, f'superseded_{timestamp}')
            os.makedirs(aside)
            for f in later:
                os.replace(os.path.join(work_dir, f), os.path.join(aside, f))
            notes.append(f'moved {len(later)} checkpoints written after {start} to {aside} (nothing is deleted)')
    return cfg


def collect_env():
    return '\n'.join([f'sys.platform: {sys.platform}', f'Python: {sys.version.split()[0]}',
                      f'CUDA available: {torch.cuda.is_available()}',
                      *([f'GPU 0: {torch.cuda.get_device_name(0)}'] if torch.cuda.is_available() else []),
                      f'PyTorch: {torch.__version__}', f'NumPy: {np.__version__}',
                      f'CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores',
                      f'minicls: {__version__}'])


def set_random_seed(seed, deterministic=False):
    """mmcls: set_random_seed (PYTHONHASHSEED reaches only processes started after this)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)         # also seeds every CUDA device
    os.environ['PYTHONHASHSEED'] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def setup_logger(log_file, level, rank=0):
    """Console + <timestamp>.log on rank 0; the other ranks only print errors."""
    logger.setLevel(level if rank == 0 else 'ERROR')
    logger.handlers.clear()
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    handlers = [logging.StreamHandler(sys.stdout)] + ([logging.FileHandler(log_file)] if rank == 0 else [])
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

    try:
        os.makedirs(cfg.work_dir, exist_ok=True)
        probe = os.path.join(cfg.work_dir, f'.write_test{os.getpid()}')
        open(probe, 'w').close()
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f'work_dir={cfg.work_dir!r} cannot be written: {e.strerror}') from None
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    notes = []
    cfg = resolve_resume(cfg, timestamp, notes, move_aside=rank == 0)
    if distributed:
        torch.distributed.barrier()    # rank 0 has moved old checkpoints aside
    setup_logger(os.path.join(cfg.work_dir, f'{timestamp}.log'), cfg.log_level, rank)
    for note in notes:
        logger.info(note)
    config_text = config_to_json(cfg)
    if rank == 0:
        with open(os.path.join(cfg.work_dir, f'{timestamp}_config.json'), 'w') as f:
            f.write(config_text + '\n')

    env_info = collect_env()
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
    meta['CLASSES'] = list(datasets[0].CLASSES)
    train_model(model, datasets, cfg, distributed=distributed, validate=not args.no_validate,
                timestamp=timestamp, meta=meta, trust_checkpoint=args.trust_checkpoint, trace=args.trace)
    if distributed:     # not in mmcv: left to interpreter exit, gloo's threads can abort it (pytorch#190489)
        torch.distributed.destroy_process_group()


def cli():
    """Run main(); turn the errors a user can cause into a short message and an exit status:
    2 for usage and config errors, 1 for runtime failures, 128+N after signal N."""
    debug = '--debug' in sys.argv
    try:
        main()
        return
    except TrainingStopped as e:
        error, code = e, e.exit_code
    except (ConfigError, ValueError, TypeError) as e:
        error, code = e, 2
    except (DatasetError, CheckpointError, OSError) as e:
        error, code = e, 1
    message = str(error)
    if debug:
        traceback.print_exception(error)
    elif 'Original Traceback' in message:   # raised in a DataLoader worker: keep its last line
        message = message.strip().splitlines()[-1] + ' (in a DataLoader worker; --debug shows where)'
    print(f'error: {message}', file=sys.stderr)
    sys.exit(code)


if __name__ == '__main__':
    cli()
