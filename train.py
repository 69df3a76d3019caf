"""Train a classifier: the mmcls 0.x `tools/train.py` + `mmcls/apis/train.py` flow.

    python train.py --config configs/demo.py          # the embedded demo, ~21 s on 2 CPU cores
    python train.py --config config.py                # the article's ResNet-50 / CIFAR-10
    python train.py --config config.py --resume work_dirs/epoch_20.pth
    python train.py --config config.py --cfg-options total_epochs=4 optimizer.lr=0.05

Top-down: `cli()` turns the errors a user can cause into one line and an exit status;
`main()` is mmcls's tools/train.py (config, work dir, logger, env info, seed, model,
datasets); `train_model`, the eight steps of docs/flow.md, and below it the two checks it
makes beside them.
"""
import argparse
import dataclasses
import logging
import os
import platform
import random
import sys
import time
import traceback

# Waiting OpenMP threads (set before torch loads OpenMP): libgomp spins GOMP_SPINCOUNT
# times, then sleeps; others read OMP_WAIT_POLICY. The demo, 2 cores, no spin -> 10,000:
# 24.5 -> 20.6 s quiet, 81.3 -> 69.8 s beside two busy processes (docs/benchmarks.md).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('GOMP_SPINCOUNT', '10000')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from checkpoint import CheckpointError, atomic_write  # noqa: E402
from config import (ConfigError, __version__, check_config, config_changes,  # noqa: E402
                    config_to_json, load_config, lookup)
from data import DatasetError, build_dataloader, build_dataset  # noqa: E402
from hooks import (CUSTOM_HOOKS, LOGGER_HOOKS, LR_POLICIES, MOMENTUM_POLICIES,  # noqa: E402
                   DistSamplerSeedHook, EvalHook, Hook, updater_class)
from model import build_classifier  # noqa: E402
from runner import EpochBasedRunner, build_optimizer, optimizer_args, optimizer_class  # noqa: E402
from extras.run.cpu_threads import set_cpu_threads  # noqa: E402
from extras.run.device import resolve_device  # noqa: E402
from extras.run.guards import (CheckInvalidLossHook, StopSignalHook, TrainingStopped,  # noqa: E402
                               check_open_files)
from extras.run.logger import escape, setup_console, setup_logger  # noqa: E402
from extras.bridge.mmcls_config import to_mmcls_text  # noqa: E402
from extras.run.work_dir import (find_latest_checkpoint, is_finished,  # noqa: E402
                             lock_work_dir, move_later_checkpoints_aside, remove_temp_files,
                             resolve_work_dir, unique_timestamp)

logger = logging.getLogger('minicls')


# ---- cli: the errors a user can cause, as one line and an exit status ---------------------

def cli(argv=None):
    """Run main(); end with one line and an exit status: 2 for a ConfigError (usage and
    config), 1 for the runtime failures of USER_ERRORS, the stop's own status for a
    TrainingStopped, 128+N after signal N. Any other error is a bug: its whole traceback.
    --debug also prints the traceback of a user's error."""
    setup_console()                    # stdout closed or a path not UTF-8: no failure
    try:
        main(argv)
        return
    except KeyboardInterrupt as e:     # Ctrl-C before training, or a signal sent twice
        error, code = e, getattr(e, 'exit_code', 130)
        message = f'interrupted ({str(e) or "Ctrl-C"}); nothing was saved after the last checkpoint'
    except Exception as e:
        error, (code, message) = e, user_error(e)
        if code is None:               # a bug, not the user's input: the whole traceback
            raise
    if '--debug' in (sys.argv if argv is None else argv):
        traceback.print_exception(error)
    print(f'error: {escape(message)}', file=sys.stderr)   # a file's bytes: never raw
    sys.exit(code)


ADVICE = {  # words in a runtime error -> what to change
    "can't allocate memory": 'out of memory: lower data.samples_per_gpu (the batch size)',
    'out of memory': 'out of memory: lower data.samples_per_gpu (the batch size)',
    'Too many open files': 'too many open files for the loader workers: raise ulimit -n, '
                           'or lower data.workers_per_gpu'}
# the runtime failures a user can cause (exit 1): bad data or checkpoint files, the machine
USER_ERRORS = (DatasetError, CheckpointError, OSError, MemoryError)


def user_error(error):
    """(exit status, one line) for an error the user can cause; (None, None) for a bug."""
    text = str(error).strip() or type(error).__name__
    if 'Original Traceback' in text:   # raised in a worker: its last line's message, no type
        text = text.splitlines()[-1].split(': ', 1)[-1]
        text += ' (in a DataLoader worker; --debug shows where)'
    if isinstance(error, TrainingStopped):
        return error.exit_code, text
    if isinstance(error, ConfigError):
        return 2, text
    for words, advice in ADVICE.items():
        if words in text:
            return 1, f'{advice} ({text.splitlines()[0][:100]})'
    if isinstance(error, USER_ERRORS):
        return 1, text
    return None, None


# ---- main: mmcls's tools/train.py ---------------------------------------------------------

def main(argv=None):
    args = parse_args(argv)
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    notes = []                         # logged once the log file is open
    cfg = build_cfg(args, timestamp, notes)
    device, distributed, rank = select_device(cfg, args.launcher)
    threads = set_cpu_threads(cfg.num_threads, cfg.data.workers_per_gpu) if device == 'cpu' else ''
    check_open_files(cfg.data.workers_per_gpu)     # each batch of a worker: file descriptors
    # the work dir (extras/run/work_dir.py): one run at a time, nothing in it lost or overwritten
    with lock_work_dir(cfg, rank, distributed):
        remove_temp_files(cfg, notes, rank)
        if cfg.resume_from == 'auto':
            cfg = dataclasses.replace(cfg, resume_from=find_latest_checkpoint(cfg, notes))
            if is_finished(cfg):       # a requeued job that is done
                print(f'{cfg.resume_from} is at epoch {cfg.total_epochs} of '
                      f'{cfg.total_epochs}: the run is finished, nothing to do')
                return
        move_later_checkpoints_aside(cfg, timestamp, notes, rank)
        timestamp = unique_timestamp(cfg.work_dir, timestamp) if rank == 0 else timestamp
        setup_logger(logger, os.path.join(cfg.work_dir, f'{timestamp}.log'), cfg.log_level, rank)
        for note in notes:
            logger.info(note)
        env_info = collect_env(threads)
        logger.info('Environment info:\n' + '-' * 60 + '\n' + env_info + '\n' + '-' * 60)
        config_text = config_to_json(cfg)
        if rank == 0:
            atomic_write(os.path.join(cfg.work_dir, f'{timestamp}_config.json'),
                         (config_text + '\n').encode())
        logger.info(f'Config {args.config}, as it differs from config.py (all of it: '
                    f'{timestamp}_config.json):\n' + '\n'.join(config_changes(cfg)))
        seed = init_random_seed(cfg.seed, distributed)
        logger.info(f'Set random seed to {seed}, deterministic: {cfg.deterministic}')
        set_random_seed(seed, cfg.deterministic)
        cfg = dataclasses.replace(cfg, seed=seed)
        # meta['config']: mmcls's config text, which mmcv's resume reads; ours, as JSON, beside
        world_size = torch.distributed.get_world_size() if distributed else 1
        meta = dict(env_info=env_info, config=to_mmcls_text(cfg, world_size), seed=seed,
                    minicls_config=config_text, exp_name=os.path.basename(args.config))

        model = build_classifier(cfg.model)
        model.init_weights()
        layout = torch.channels_last if cfg.channels_last else torch.preserve_format
        model.to(device, memory_format=layout)
        torch.backends.cudnn.benchmark = cfg.cudnn_benchmark and not cfg.deterministic
        if cfg.compile:
            model.compile()            # in place: the state_dict keys stay mmcls's
        datasets = [build_dataset(cfg.data.train)]
        if len(cfg.workflow) == 2:     # ('val', n): val data, train pipeline (as mmcls)
            train_like = dict(pipeline=cfg.data.train.pipeline, batched=cfg.data.train.batched)
            datasets.append(build_dataset(dataclasses.replace(cfg.data.val, **train_like)))
        check_num_classes(cfg, datasets[0])
        model.CLASSES = None if datasets[0].CLASSES is None else list(datasets[0].CLASSES)
        train_model(model, datasets, cfg, distributed=distributed,
                    validate=not args.no_validate, timestamp=timestamp, meta=meta,
                    trust_checkpoint=args.trust_checkpoint)
        if distributed:  # not in mmcv: at exit, gloo's threads can abort (pytorch#190489)
            torch.distributed.destroy_process_group()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a classifier (mmcls 0.x flow).')
    p.add_argument('--config', default='config.py', help='a config file (minicls or mmcls 0.x)')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default: cfg.work_dir)')
    p.add_argument('--resume', '--resume-from', dest='resume_from',
                   help="a checkpoint to resume from, or 'auto': the newest in the work dir")
    p.add_argument('--load-from', help='a checkpoint to load weights from (a fresh run)')
    p.add_argument('--no-validate', action='store_true', help='do not evaluate during training')
    p.add_argument('--seed', type=int, help='random seed (default: cfg.seed, else drawn)')
    p.add_argument('--deterministic', action='store_true', help='deterministic cuDNN algorithms')
    p.add_argument('--device', help="auto, cpu, cuda, cuda:N or mps (default: cfg.device)")
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='override config fields, e.g. optimizer.lr=0.05 total_epochs=4')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow arbitrary unpickling (it can run code: trusted files only)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help="'pytorch': one process of torchrun --nproc_per_node=N train.py ...")
    p.add_argument('--trace', action='store_true',
                   help='print the steps and every call_hook of the first iterations')
    p.add_argument('--debug', action='store_true',
                   help='1 epoch, 256/128 images, no workers, a log line per iteration, tracebacks')
    return p.parse_args(argv)


def select_device(cfg, launcher):
    """(device, distributed, rank): 'auto' is cuda when torch sees one; a device this
    machine lacks is an error naming those it has (extras/run/device.py)."""
    device = resolve_device(cfg.device)
    if launcher != 'pytorch':
        return device, False, 0
    from extras.options.distributed import init_dist    # one process per device: cuda:<local rank>
    rank, device = init_dist(cfg.dist_params.get('backend'), device.split(':')[0])
    return device, True, rank


def collect_env(threads=''):
    """mmcls: collect_env. `threads`: the CPU thread policy's words, if it ran."""
    cpu = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
    gpu = [f'GPU 0: {torch.cuda.get_device_name(0)}'] if torch.cuda.is_available() else []
    omp = ', '.join(f'{k}: {os.environ.get(k)}' for k in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'))
    return '\n'.join([f'sys.platform: {sys.platform}', f'Python: {sys.version.split()[0]}',
                      f'CUDA available: {torch.cuda.is_available()}', *gpu,
                      f'PyTorch: {torch.__version__}', f'NumPy: {np.__version__}',
                      f'CPU: {cpu}' + (f', {threads}' if threads else '') + f', {omp}',
                      f'minicls: {__version__}'])


def init_random_seed(seed, distributed):
    """mmcls: init_random_seed. cfg.seed, else a drawn one; every rank takes rank 0's."""
    seed = random.SystemRandom().randrange(2 ** 31) if seed is None else seed
    if distributed:
        shared = [seed]
        torch.distributed.broadcast_object_list(shared, src=0)
        seed = shared[0]
    return seed


def set_random_seed(seed, deterministic=False):
    """mmcls: set_random_seed (PYTHONHASHSEED reaches only processes started after this)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)            # also seeds every CUDA device
    os.environ['PYTHONHASHSEED'] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def build_cfg(args, timestamp, notes):
    """The config file, then --cfg-options, then the other flags; checked once."""
    check_flags(args)
    cfg = load_config(args.config, notes)
    if args.cfg_options:
        from extras.options.cfg_options import apply_cfg_options
        cfg = apply_cfg_options(cfg, args.cfg_options)
    flags = dict(work_dir=args.work_dir, resume_from=args.resume_from,
                 load_from=args.load_from, seed=args.seed, device=args.device,
                 deterministic=args.deterministic or None)
    cfg = dataclasses.replace(cfg, **{k: v for k, v in flags.items() if v is not None})
    if args.trace:         # a custom hook the runner registers (extras/run/trace.py)
        trace = dict(type='TraceHook', priority='HIGHEST')
        cfg = dataclasses.replace(cfg, custom_hooks=cfg.custom_hooks + [trace])
    if args.debug:         # small, one process, its own work dir, a log line per iteration
        data = dataclasses.replace(cfg.data, workers_per_gpu=0,
                                   train=dataclasses.replace(cfg.data.train, num_samples=256),
                                   val=dataclasses.replace(cfg.data.val, num_samples=128))
        cfg = dataclasses.replace(cfg, total_epochs=1, data=data,
                                  log_config=dataclasses.replace(cfg.log_config, interval=1),
                                  work_dir=os.path.join(cfg.work_dir, 'debug', timestamp))
    check_config(cfg)                  # every field's type and range
    check_names(cfg)                   # the classes it names exist, and take its arguments
    return dataclasses.replace(cfg, work_dir=resolve_work_dir(cfg.work_dir))


def check_flags(args):
    if args.resume_from and args.load_from:
        raise ConfigError('--resume and --load-from conflict: --resume continues a run '
                          '(weights, optimizer, epoch), --load-from starts a new one from '
                          'weights; give one')


def check_names(cfg):
    """The classes a config names, looked up (not built) before any data is read: a typo
    in the optimizer or its arguments, a policy, a custom hook's or a logger's type fails in a
    second (the builders look them up again when train_model builds them)."""
    optimizer_class(cfg.optimizer.type, optimizer_args(cfg.optimizer))
    for item in cfg.log_config.hooks if cfg.log_config is not None else []:
        lookup(LOGGER_HOOKS, item.get('type'), 'log_config.hooks: type', Hook)
    for config, policies, field in ((cfg.lr_config, LR_POLICIES, 'lr_config'),
                                    (cfg.momentum_config, MOMENTUM_POLICIES, 'momentum_config')):
        if config is not None:
            updater_class(config, policies, field)
    for item in cfg.custom_hooks:
        lookup(CUSTOM_HOOKS, item['type'], 'custom_hooks: type', Hook)


# ---- train_model: the eight steps  (mmcls: mmcls/apis/train.py) ---------------------------

def train_model(model, datasets, cfg, distributed=False, validate=False, timestamp=None,
                meta=None, trust_checkpoint=False):
    """Train a model (mmcls: train_model): build the data loaders, wrap the model when
    distributed, build the optimizer and a runner with its hooks, resume or load, run.

    Args:
        model (nn.Module): the model to train.
        datasets (list[Dataset]): one per workflow entry.
        cfg (Config): the checked config of the run.
        distributed (bool): one process of several (torchrun). Defaults to False.
        validate (bool): evaluate with an EvalHook. Defaults to False.
        timestamp (str): names the log files <timestamp>.log and .log.json.
        meta (dict): env info, seed, config; logged first, saved in every checkpoint.
        trust_checkpoint (bool): allow arbitrary unpickling of cfg.resume_from/load_from.
    """
    # 1. data loaders: one per workflow entry
    data = cfg.data
    if cfg.random_streams == 'mmcls':  # mmcls 0.25's random draws (an extra)
        from extras.bridge.mmcls_streams import build_dataloader as build_loader
    else:
        build_loader = build_dataloader
    loader_args = dict(pin_memory=data.pin_memory)
    if data.workers_per_gpu > 0:
        loader_args['persistent_workers'] = data.persistent_workers
    data_loaders = [build_loader(ds, data.samples_per_gpu, data.workers_per_gpu,
                                 num_gpus=1, dist=distributed, round_up=True,
                                 seed=cfg.seed, **loader_args)
                    for ds in datasets]
    if distributed:                    # one model per process; DDP averages the gradients
        from extras.options.distributed import wrap_model
        model = wrap_model(model, cfg.sync_bn)
    # 2. optimizer
    optimizer = build_optimizer(model, cfg.optimizer)
    # 3. runner
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=cfg.work_dir,
                              logger=logger, meta=meta, max_epochs=cfg.total_epochs)
    runner.timestamp = timestamp       # <timestamp>.log and <timestamp>.log.json share a name
    if cfg.channels_last:
        runner.memory_format = torch.channels_last
    # 4. the standard hooks, and the guards (extras/run/guards.py, not in mmcv): a NaN/inf loss
    #    stops before the optimizer steps on it; Ctrl-C / SIGTERM / SIGHUP saves iter_N.pth
    runner.register_training_hooks(cfg.lr_config, cfg.optimizer_config,
                                   cfg.checkpoint_config, cfg.log_config,
                                   cfg.momentum_config, cfg.fp16, cfg.custom_hooks)
    runner.register_hook(CheckInvalidLossHook(), 'HIGH')
    if distributed:                    # the processes agree on a stop, or they would wait
        from extras.options.distributed import DistStopSignalHook
        runner.register_hook(DistStopSignalHook(), 'LOWEST')
    else:
        runner.register_hook(StopSignalHook(), 'LOWEST')
    # 5. a sampler-seed hook: epoch e's order comes from (seed, e), the same on every rank
    #    (mmcls: only when distributed; here always, so a resumed run sees the same order)
    runner.register_hook(DistSamplerSeedHook())
    # 6. evaluation on the val set, after the timer
    if validate:
        val_dataset = build_dataset(cfg.data.val)
        check_num_classes(cfg, val_dataset, 'val')
        val_loader = build_loader(val_dataset, data.val_samples_per_gpu or data.samples_per_gpu,
                                  data.workers_per_gpu, dist=distributed, shuffle=False,
                                  round_up=True, **loader_args)
        if distributed:
            from extras.options.distributed import DistEvalHook as eval_hook
        else:
            eval_hook = EvalHook
        runner.register_hook(eval_hook(val_loader, **dataclasses.asdict(cfg.evaluation)),
                             priority='LOW')
    # 7. resume everything, or load weights only
    if cfg.resume_from:
        runner.resume(cfg.resume_from, trusted=trust_checkpoint)
        check_resume_point(cfg, runner.epoch, runner.resume_batches, len(data_loaders[0]))
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from, trusted=trust_checkpoint)
    # 8. run
    runner.run(data_loaders, cfg.workflow)
    return runner



# ---- the checks train_model makes beside its steps ------------------------------------------

def check_num_classes(cfg, dataset, split='train'):
    """Every label is a class of the head: a val label past it (an ann_file without classes
    takes any) would be counted wrong in a run that ends well."""
    labels = dataset.get_gt_labels()
    num_classes, data = cfg.model.head.num_classes, getattr(cfg.data, split)
    where = f'{data.type} at {data.data_prefix!r}'
    if len(labels) and labels.max() >= num_classes:
        raise ConfigError(f'model.head.num_classes={num_classes}, but '
                          f'{where if split == "train" else f"data.{split} ({where})"} '
                          f'has labels up to {labels.max()}; '
                          f'set num_classes to {labels.max() + 1} or more'
                          + (f' (or remove the class folders that hold no image: '   # as mmcls,
                             f'{", ".join(map(repr, dataset.empty_classes))})'     # classes too
                             if getattr(dataset, 'empty_classes', None) else ''))


def check_resume_point(cfg, epoch, batches_done, epoch_length):
    """Epochs left to train, and a mid-epoch point inside this run's epochs. batches_done ==
    the epoch's length is a point too (a stop in its last iteration): the epoch's iterations
    are done, its end (checkpoint, evaluation) is not, and the resume runs it."""
    if epoch >= cfg.total_epochs:
        raise ConfigError(f'{cfg.resume_from} is at epoch {epoch} and total_epochs='
                          f'{cfg.total_epochs}: nothing is left to train; raise total_epochs '
                          'to train on')
    if batches_done > epoch_length:
        raise CheckpointError(f'{cfg.resume_from}: meta batches_done={batches_done}, but an '
                              f'epoch of this run has {epoch_length} batches (was the data or '
                              'data.samples_per_gpu changed?)')


if __name__ == '__main__':
    cli()
