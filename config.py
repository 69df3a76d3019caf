"""The configuration: plain dataclasses, `cfg` (the article's ResNet-50 / CIFAR-10 config),
and at the end, reading and checking a config file (mmcv: Config.fromfile).

A config is data, not behaviour. Every field is a plain value (number, string, bool,
list, dict of plain values, or another of these dataclasses), so a config round-trips
to JSON and is stored as text in every checkpoint. Objects (the model, the optimizer,
the hooks) are made from it by the builders: `build_classifier` in model.py,
`build_dataset`/`build_dataloader` in data.py, `build_optimizer` and
`register_training_hooks` in runner.py.

The names are mmcls 0.x's. Where mmcls writes

    optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001)

this file writes `optimizer=OptimizerConfig(type='SGD', lr=0.1, momentum=0.9,
weight_decay=0.0001)`, and `--cfg-options optimizer.lr=0.05` reaches the same field.

A config file is any Python file that defines `cfg`, usually by importing this module
and deriving with `dataclasses.replace` (see configs/resnet18_cifar10.py); an mmcls 0.x
config file (module-level dicts, `_base_`) is translated by extras/bridge/mmcls_config.py:

    python train.py --config config.py --resume work_dirs/epoch_20.pth
"""
import dataclasses
import difflib
import importlib
import inspect
import json
import math
import os
import runpy
import sys
import typing
from dataclasses import dataclass, field, replace
from typing import Optional, Union


__version__ = '0.1.0'           # minicls's; checkpoints record it as `minicls_version`


class ConfigError(ValueError):
    """A bad config file, field, value or command line: train.py exits with status 2."""


# ---- Model  (mmcls: configs/_base_/models/resnet50_cifar.py) ------------------------------

@dataclass
class LossConfig:
    type: str = 'CrossEntropyLoss'       # or 'LabelSmoothLoss' (extras/models/losses.py)
    loss_weight: float = 1.0
    reduction: str = 'mean'              # 'mean' (over the batch) or 'none' (one per sample)
    use_soft: bool = False               # CrossEntropyLoss: labels are (N, classes) rows (Mixup)
    use_sigmoid: bool = False            # CrossEntropyLoss: a binary cross-entropy per class
    class_weight: Optional[list] = None  # CrossEntropyLoss: one weight per class
    # LabelSmoothLoss: label_smooth_val (required) in [0, 1); mode None ('original'),
    # 'classy_vision' or 'multi_label'; num_classes, if given, must be the head's
    label_smooth_val: Optional[float] = None
    mode: Optional[str] = None
    num_classes: Optional[int] = None


@dataclass
class BackboneConfig:
    type: str = 'ResNet_CIFAR'           # or 'ResNet' (ImageNet stem); ResNetV1c, ResNetV1d,
                                         # ResNeXt, SEResNet, SEResNeXt (extras/models/)
    depth: int = 50                      # 18, 34, 50, 101 or 152
    num_stages: int = 4
    out_indices: tuple = (3,)
    style: str = 'pytorch'               # 'pytorch': stride on the 3x3 conv; 'caffe': on the 1x1
    base_channels: int = 64              # width of the first stage (doubles each stage)
    stem_channels: int = 64              # width of the 3x3 stem conv
    zero_init_residual: bool = True      # mmcls's ResNet default: last BN of each block starts at 0
    frozen_stages: int = -1              # the stem and the first k stages: eval mode, no gradients
    norm_eval: bool = False              # BN layers keep their running statistics while training
    # type='ResNet' only: dict(type='Pretrained', checkpoint='a local .pth', prefix='backbone')
    # loads that checkpoint's backbone instead of the random init (mmcls's fine-tuning recipe)
    init_cfg: Optional[dict] = None
    # mmcls's variants (extras/models/); None: the class's own default
    expansion: Optional[int] = None      # Bottleneck's widening (wide ResNets: 2, base 128)
    groups: Optional[int] = None         # ResNeXt, SEResNeXt: 3x3 conv groups (32)
    width_per_group: Optional[int] = None  # ResNeXt, SEResNeXt: channels per group (4)
    se_ratio: Optional[int] = None       # SEResNet, SEResNeXt: SE squeeze ratio (16)
    drop_path_rate: float = 0.0          # each block's residual dropped with this probability


@dataclass
class NeckConfig:
    type: str = 'GlobalAveragePooling'   # or 'GeneralizedMeanPooling' (extras/models/necks.py)
    p: Optional[float] = None            # GeneralizedMeanPooling: its initial p (3.0), eps
    eps: Optional[float] = None          # (1e-6) and clamp (True); None: mmcls's default
    clamp: Optional[bool] = None


@dataclass
class HeadConfig:
    type: str = 'LinearClsHead'          # or 'MultiLabelLinearClsHead' (extras/models/heads.py)
    num_classes: int = 10
    in_channels: int = 2048
    loss: LossConfig = field(default_factory=LossConfig)
    topk: tuple = (1,)                   # the training accuracy's (cal_acc); mmcls's default
    cal_acc: bool = False                # also log the training accuracy (top-k) of each batch


@dataclass
class ModelConfig:
    type: str = 'ImageClassifier'
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    neck: NeckConfig = field(default_factory=NeckConfig)
    head: HeadConfig = field(default_factory=HeadConfig)


# ---------------------------------------------------------------------------------------
# Data  (mmcls 0.25: configs/_base_/datasets/cifar10_bs16.py; the article's: cifar10.py, batch 128)
# A pipeline is a list of transform dicts, as in mmcls: dict(type=<name>, **arguments).
# ---------------------------------------------------------------------------------------

# The article's normalisation. `to_rgb=True` swaps the channel order of every image
# (mmcv's imnormalize converts BGR -> RGB). CIFAR's arrays are already RGB, so this
# config feeds BGR images to the network; it trains just as well, because the network
# learns from whatever order it sees, but mmcls's own later CIFAR configs use
# `to_rgb=False`. We keep the article's value, value for value.
img_norm_cfg = dict(mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255], to_rgb=True)

train_pipeline = [
    dict(type='RandomCrop', size=32, padding=4),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label']),
]
test_pipeline = [
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label']),
]


@dataclass
class DatasetConfig:
    type: str = 'CIFAR10'                # CIFAR10, CIFAR100 or SyntheticCIFAR10 (the demo's)
    data_prefix: str = 'data/cifar10'
    pipeline: list = field(default_factory=list)
    test_mode: bool = False              # False: the training batches; True: the test batch
    num_samples: Optional[int] = None    # only the first N samples (--debug, classroom runs)
    batched: bool = False                # the pipeline once per batch (extras/options/)
    ann_file: Optional[str] = None       # CustomDataset/ImageNet: `relative/path label` lines
    classes: Optional[Union[str, list]] = None   # class names: a list, a file of them, or None


@dataclass
class DataConfig:
    samples_per_gpu: int = 128           # batch size of one process
    val_samples_per_gpu: Optional[int] = None   # the evaluation's batch; None: samples_per_gpu
    workers_per_gpu: int = 2             # DataLoader worker processes of one process
    pin_memory: bool = False             # page-locked batches: asynchronous copies to the GPU
    persistent_workers: bool = True      # keep the workers between epochs (mmcls's default)
    train: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(pipeline=list(train_pipeline)))
    val: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(pipeline=list(test_pipeline), test_mode=True))
    test: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(pipeline=list(test_pipeline), test_mode=True))


# ---- Schedule  (mmcls: configs/_base_/schedules/cifar10_bs128.py) -------------------------

@dataclass
class ParamwiseConfig:
    """Per-parameter multipliers (mmcv: DefaultOptimizerConstructor's paramwise_cfg). None means
    "not given", as a key missing from mmcv's dict: ParamwiseConfig() with every field None is
    mmcls's `paramwise_cfg=dict()`, one param group; any field set gives one group per
    parameter, the fields left None taking mmcv's defaults (mult 1.0, custom_keys {},
    bypass_duplicate False). A decay mult needs optimizer.weight_decay (mmcv: base_wd)."""
    bias_lr_mult: Optional[float] = None
    bias_decay_mult: Optional[float] = None
    norm_decay_mult: Optional[float] = None
    dwconv_decay_mult: Optional[float] = None
    custom_keys: Optional[dict] = None   # {'backbone': dict(lr_mult=0.1, decay_mult=1.0)}
    bypass_duplicate: Optional[bool] = None


@dataclass
class OptimizerConfig:
    type: str = 'SGD'                    # any class name in torch.optim
    lr: float = 0.1
    # None: "not given", the optimizer's own default (torch: SGD momentum 0, weight_decay 0;
    # AdamW weight_decay 0.01), as a key missing from mmcls's dict(type='SGD', lr=0.1).
    # Optimizers that take neither (Rprop, LBFGS) need both None.
    momentum: Optional[float] = None
    weight_decay: Optional[float] = None
    options: dict = field(default_factory=dict)       # further arguments, e.g. {'nesterov': True}
    paramwise_cfg: Optional[ParamwiseConfig] = None


@dataclass
class GradClipConfig:
    max_norm: float = 35.0
    norm_type: float = 2.0


@dataclass
class OptimizerHookConfig:
    grad_clip: Optional[GradClipConfig] = None
    cumulative_iters: int = 1            # > 1: accumulate gradients, step every N iterations


@dataclass
class Fp16Config:
    """Mixed precision (mmcls: `fp16 = dict(loss_scale=512.)`)."""
    loss_scale: Union[str, float, dict] = 'dynamic'  # 'dynamic', a fixed number, or GradScaler args
    dtype: str = 'float16'               # 'float16' (with loss scaling) or 'bfloat16'


@dataclass
class LrConfig:
    """mmcv's lr_config: `policy` picks the LrUpdaterHook (hooks.py: LR_POLICIES); the
    other fields are its arguments. None means "not given: the policy's own default"; a
    field the policy does not take must stay None (the builder names it otherwise)."""
    policy: str = 'step'                 # fixed, step, exp, poly, inv, CosineAnnealing, ...
    by_epoch: Optional[bool] = None      # True: change once per epoch; False: every iteration
    warmup: Optional[str] = None         # None, 'constant', 'linear' or 'exp'
    warmup_iters: Optional[int] = None
    warmup_ratio: Optional[float] = None
    warmup_by_epoch: Optional[bool] = None   # warmup_iters counts epochs
    step: Union[int, list, None] = None  # step: a period or a list of milestone epochs
    gamma: Optional[float] = None        # step, exp, inv, Cyclic
    power: Optional[float] = None        # poly, inv
    min_lr: Optional[float] = None       # step, poly, *Annealing, CosineRestart
    min_lr_ratio: Optional[float] = None  # *Annealing, CosineRestart
    start_percent: Optional[float] = None    # FlatCosineAnnealing
    periods: Optional[list] = None       # CosineRestart
    restart_weights: Optional[list] = None   # CosineRestart
    target_ratio: Union[float, list, None] = None   # Cyclic
    cyclic_times: Optional[int] = None   # Cyclic
    step_ratio_up: Optional[float] = None    # Cyclic
    anneal_strategy: Optional[str] = None    # Cyclic, OneCycle: 'cos' or 'linear'
    max_lr: Union[float, list, None] = None  # OneCycle
    total_steps: Optional[int] = None    # OneCycle
    pct_start: Optional[float] = None    # OneCycle
    div_factor: Optional[float] = None   # OneCycle
    final_div_factor: Optional[float] = None  # OneCycle
    three_phase: Optional[bool] = None   # OneCycle
    cool_down_time: Optional[int] = None     # CosineAnnealingCooldown
    cool_down_ratio: Optional[float] = None  # CosineAnnealingCooldown


@dataclass
class MomentumConfig:
    """mmcv's momentum_config: `policy` picks the MomentumUpdaterHook (step,
    CosineAnnealing, LinearAnnealing, Cyclic, OneCycle); None fields take the policy's default."""
    policy: str = 'CosineAnnealing'
    by_epoch: Optional[bool] = None
    warmup: Optional[str] = None
    warmup_iters: Optional[int] = None
    warmup_ratio: Optional[float] = None
    step: Union[int, list, None] = None  # step
    gamma: Optional[float] = None        # step
    min_momentum: Optional[float] = None  # step, *Annealing
    min_momentum_ratio: Optional[float] = None  # *Annealing
    target_ratio: Union[float, list, None] = None   # Cyclic
    cyclic_times: Optional[int] = None   # Cyclic
    step_ratio_up: Optional[float] = None    # Cyclic
    anneal_strategy: Optional[str] = None    # Cyclic, OneCycle
    base_momentum: Union[float, list, None] = None  # OneCycle
    max_momentum: Union[float, list, None] = None   # OneCycle
    pct_start: Optional[float] = None    # OneCycle
    three_phase: Optional[bool] = None   # OneCycle


# ---- Runtime  (mmcls: configs/_base_/default_runtime.py) ----------------------------------

@dataclass
class CheckpointConfig:
    interval: int = 1                    # save every `interval` epochs (or iterations)
    by_epoch: bool = True
    save_optimizer: bool = True
    max_keep_ckpts: int = -1             # -1 keeps them all
    save_last: bool = True               # also save at the end when not on an interval
    out_dir: Optional[str] = None        # default: the work dir
    sync_buffer: bool = False            # distributed: average BN statistics over processes first


@dataclass
class LogConfig:
    interval: int = 100                  # a log line every `interval` iterations
    hooks: list = field(default_factory=lambda: [dict(type='TextLoggerHook')])


@dataclass
class EvalConfig:
    """mmcls's `evaluation = dict(interval=1, metric='accuracy')`."""
    interval: int = 1
    metric: Union[str, list] = 'accuracy'   # one name or a list of them
    metric_options: dict = field(default_factory=lambda: dict(topk=(1, 5)))
    save_best: Optional[str] = None      # None, 'auto' or a metric key such as 'accuracy_top-1'
    rule: Optional[str] = None           # 'greater' or 'less'; None infers it from the key
    start: Optional[int] = None          # first epoch to evaluate (then every `interval`)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    optimizer_config: Optional[OptimizerHookConfig] = field(default_factory=OptimizerHookConfig)
    lr_config: LrConfig = field(default_factory=LrConfig)
    momentum_config: Optional[MomentumConfig] = None
    fp16: Optional[Fp16Config] = None
    total_epochs: int = 200
    checkpoint_config: Optional[CheckpointConfig] = field(default_factory=CheckpointConfig)
    log_config: Optional[LogConfig] = field(default_factory=LogConfig)   # None: no log lines
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    custom_hooks: list = field(default_factory=list)  # [dict(type='EMAHook', priority=...), ...]
    workflow: list = field(default_factory=lambda: [('train', 1)])
    work_dir: str = 'work_dirs'
    load_from: Optional[str] = None
    resume_from: Optional[str] = None
    seed: Optional[int] = None
    deterministic: bool = False
    # 'minicls': each epoch's order and each batch's augmentation from (seed, epoch, batch),
    # so a resume is exact; 'mmcls': drawn as mmcls 0.25 draws them (extras/bridge/mmcls_streams.py)
    random_streams: str = 'minicls'
    device: str = 'auto'                 # 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (cuda if any)
    # Fast paths, off by default (mixed precision is `fp16` above):
    cudnn_benchmark: bool = False        # let cuDNN time its algorithms for each input shape
    channels_last: bool = False          # NHWC memory layout for the model and its input
    compile: bool = False                # torch.compile the model in place
    num_threads: Optional[int] = None    # CPU: torch's threads; None: extras/run/cpu_threads.py
    log_level: str = 'INFO'
    # Distributed (torchrun ... train.py --launcher pytorch). The article's config says
    # dist_params=dict(backend='nccl'); empty here means nccl on GPUs, gloo on CPUs.
    dist_params: dict = field(default_factory=dict)
    sync_bn: bool = False                # SyncBatchNorm: BN statistics over all processes


# The article's config, value for value (ResNet-50 on CIFAR-10, batch 128, SGD 0.1,
# steps at 100 and 150, 200 epochs), every value written out: not every one is its default.
cfg = Config(
    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet_CIFAR', depth=50, num_stages=4, out_indices=(3,),
                                style='pytorch'),
        neck=NeckConfig(type='GlobalAveragePooling'),
        head=HeadConfig(type='LinearClsHead', num_classes=10, in_channels=2048,
                        loss=LossConfig(type='CrossEntropyLoss', loss_weight=1.0))),
    data=DataConfig(
        samples_per_gpu=128, workers_per_gpu=2,
        train=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=train_pipeline),
        val=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline,
                          test_mode=True),
        test=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline,
                           test_mode=True)),
    optimizer=OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001),
    optimizer_config=OptimizerHookConfig(grad_clip=None),
    lr_config=LrConfig(policy='step', step=[100, 150]), total_epochs=200,
    checkpoint_config=CheckpointConfig(interval=1),
    log_config=LogConfig(interval=100, hooks=[dict(type='TextLoggerHook')]),
    workflow=[('train', 1)],
    work_dir='work_dirs',
    load_from=None, resume_from=None, seed=None,
)


# ---------------------------------------------------------------------------------------
# Reading and checking a config  (mmcv: Config.fromfile)
# Here, before anything is built: every field's type (check_fields) and the ranges of the
# run's settings (check_ranges: epochs, batch, LR, seed, warmup, evaluation, ...). Where a
# value only means something to what it builds, it is checked there, before that is built:
# a name that picks a class by `lookup` (train.py's check_names looks them all up before any
# data is read), a transform's arguments by data.py's Compose, a policy's by hooks.py's
# build_updater_hook, the model's depth and widths by model.py's build_classifier
# (extras/checks/model_checks.py). Builders that code calls directly check their own
# arguments again (e.g. StepLrUpdaterHook).
# ---------------------------------------------------------------------------------------

# mmcls config files (module-level dicts, no `cfg`) are read by an extra
CONFIG_READERS = {'mmcls': 'extras.bridge.mmcls_config:read_mmcls_config'}


def load_config(path, notes=None):
    """Run a config file and return its `cfg`. A file with mmcls's `model = dict(...)` or
    `_base_` instead is translated (what it skipped goes to `notes`)."""
    if os.path.realpath(path) == os.path.realpath(__file__):
        return cfg                       # config.py itself: already imported
    # `from config import ...` works, and `policy='my_policy:MyLrUpdaterHook'` beside the file;
    # appended, so that a secrets.py beside it does not shadow the standard library's
    for folder in (os.path.dirname(os.path.abspath(p)) for p in (path, __file__)):
        if folder not in sys.path:
            sys.path.append(folder)
    namespace = run_config_file(path)
    if 'cfg' not in namespace and (isinstance(namespace.get('model'), dict)
                                   or '_base_' in namespace):
        return lookup(CONFIG_READERS, 'mmcls', '--config')(path, notes)
    check_is_config(namespace.get('cfg'), path)
    return namespace['cfg']


def run_config_file(path, source=None):
    """The file's names. Only a .py file is run (runpy would run a zip's __main__.py: a .pth
    is one: check_config_file). Anything that escapes from it (an error, sys.exit) is a
    config error naming the file, its message escaped and cut short; Ctrl-C stays Ctrl-C.
    `source`: the file's text as rewritten by the mmcls bridge (mmcv runs such a copy too)."""
    check_config_file(path)
    try:
        if source is not None:
            names = {'__name__': '<run_path>', '__file__': path}
            exec(compile(source, path, 'exec'), names)
            return names
        return runpy.run_path(path)
    except (Exception, SystemExit) as e:   # a config file does not end the run; Ctrl-C does
        text = f'{type(e).__name__}: {e}'[:300]
        text = ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        raise ConfigError(f'--config: {path} failed to run: {text[:200]}') from None


def lookup(table, name, field, base=None):
    """The class a config names: from `table` {name: class or 'module:Class'}, or `name`
    itself written as 'module:Class' (your own code). An extra's module is imported here,
    when it is asked for; with `base`, what is found must be a subclass of it, checked
    before anything calls it."""
    entry = table.get(name, name if isinstance(name, str) and ':' in name else None)
    if entry is None:
        guess = difflib.get_close_matches(str(name), [str(k) for k in table], n=1)
        hint = f' (did you mean {guess[0]!r}?)' if guess else ''
        valid = ', '.join(map(str, table))
        raise ConfigError(f'{field}={name!r} is not known{hint}; valid: {valid} '
                          '(or "module:Class")')
    if isinstance(entry, str):
        module, _, attr = entry.partition(':')
        try:
            entry = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f'{field}={name!r}: cannot import {module}:{attr} ({e})') from None
    if base is not None and not (isinstance(entry, type) and issubclass(entry, base)):
        raise ConfigError(f'{field}={name!r} names {entry!r}, which is not a subclass of '
                          f'{base.__name__}')
    return entry


def check_args(cls, args, where, *positional):
    """`cls` takes these arguments (a custom hook's, an optimizer's: what a config gives for
    the class it names), checked before the call, so that a TypeError raised inside it is a
    bug's, with its traceback."""
    try:
        inspect.signature(cls).bind(*positional, **args)
    except TypeError as e:
        raise ConfigError(f'{where} does not accept these arguments ({", ".join(args)}): '
                          f'{e}') from None


def check_config_file(path):
    """A .py file that exists: run_config_file runs nothing else (runpy would run a zip's
    __main__.py, and a checkpoint is a zip)."""
    if os.path.isdir(path):
        raise ConfigError(f'--config: {path!r} is a directory; give a Python file that defines cfg')
    if not os.path.isfile(path):
        raise ConfigError(f'--config: file {path!r} does not exist')
    if not path.endswith('.py'):
        raise ConfigError(f'--config: {path!r} is not a .py file; a config is a Python file (the '
                          "config in a checkpoint: python tools/convert_config.py "
                          f'--from-checkpoint {path})')


def check_is_config(value, path):
    if type(value).__name__ == 'Config' and not isinstance(value, Config):
        raise ConfigError(f'--config: {path} defines cfg with the Config of another copy of '
                          f'config.py (module {type(value).__module__!r}); import it from this '
                          f"project's {__file__}")
    if not isinstance(value, Config):
        raise ConfigError(f'--config: {path} must define `cfg = Config(...)` (from config.py), '
                          f'found {type(value).__name__}')


def check_config(cfg):
    """Before any data is read: every field's type, then the ranges of the run's settings
    (the model's sizes and a name's arguments: where they are built, see above). Each error
    names the field as the user wrote it, the value and what is allowed."""
    check_fields(cfg)
    check_ranges(cfg)
    check_workflow(cfg.workflow)
    hooks = [('custom_hooks', cfg.custom_hooks, 'EMAHook'),
             ('log_config.hooks', cfg.log_config.hooks if cfg.log_config else [], 'TextLoggerHook')]
    for field_name, items, example in hooks:
        for i, item in enumerate(items):
            if not (isinstance(item, dict) and isinstance(item.get('type'), str)):
                raise ConfigError(f'{field_name}[{i}]={item!r} is not valid; '
                                  f'expected dict(type={example!r}, ...)')


MAX_INT = 2 ** 31 - 1      # a count past this cannot be meant (and overflows torch's C ints)
INT_LIMITS = {'seed': 2 ** 64}    # torch's; check_ranges narrows it to np.random.seed's 2**32


class WrongTypeError(ConfigError):
    """A value that does not fit the field's annotation (check_type's last word)."""

    def __init__(self, name, value, tp):
        super().__init__(f'{name}={value!r} has the wrong type; expected {type_name(tp)}')
        self.name = name


def check_type(value, tp, name):
    """Return `value` if it fits the annotation `tp` (an int is accepted for a float; a list
    for a tuple), else raise a ConfigError naming the field. Numbers are finite and within
    +-MAX_INT (ints) or 1e30 (floats). Used by --cfg-options too."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:    # the first option the value fits; a fitting value out of
        for option in args:       # range, or a wrong field inside it, is that option's error
            try:
                return check_type(value, option, name)
            except WrongTypeError as e:
                if e.name != name:
                    raise
    elif dataclasses.is_dataclass(tp) and isinstance(value, dict):
        raise ConfigError(f'{name} is a dict; this project writes configs as dataclasses: use '
                          f'{tp.__name__}(...) from config.py, e.g. {tp.__name__}(**{value!r})')
    elif dataclasses.is_dataclass(tp) and (isinstance(value, tp)
                                           or type(value).__name__ == tp.__name__):
        check_fields(value, name + '.')
        return value
    elif tp is type(None) and value is None:
        return None
    elif tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        check_number(float(value), 1e30, name)
        return float(value)
    elif tp is int and isinstance(value, int) and not isinstance(value, bool):
        check_number(value, INT_LIMITS.get(name, MAX_INT), name)
        return value
    elif tp in (bool, str, dict) and isinstance(value, tp):
        return value
    elif tp in (list, tuple) and isinstance(value, (list, tuple)):
        return tp(value)
    raise WrongTypeError(name, value, tp)


def check_number(value, limit, name):
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise ConfigError(f'{name}={value!r} cannot be meant; allowed: a finite number '
                          f'within +-{limit:g}')


def type_name(tp):
    args = typing.get_args(tp)
    return ' or '.join(type_name(a) for a in args) if args else getattr(tp, '__name__', str(tp))


def check_fields(obj, prefix=''):
    for name, tp in typing.get_type_hints(type(obj)).items():
        check_type(getattr(obj, name), tp, prefix + name)


METRICS = ('accuracy', 'precision', 'recall', 'f1_score', 'support')
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
DEVICES = ('auto', 'cpu', 'cuda', 'mps')    # and 'cuda:N'
RANDOM_STREAMS = ('minicls', 'mmcls')
WARMUPS = (None, 'constant', 'linear', 'exp')


def check_ranges(cfg):
    """The fields whose type allows values that cannot be meant; the first one out of
    range is the error."""
    data, lr, opt = cfg.data, cfg.lr_config, cfg.optimizer
    mom = cfg.momentum_config or MomentumConfig()
    clip = cfg.optimizer_config.grad_clip if cfg.optimizer_config is not None else None
    backbone, init = cfg.model.backbone, cfg.model.backbone.init_cfg
    rows = [  # field, its value, in range?, what is allowed
        ('total_epochs', cfg.total_epochs, cfg.total_epochs >= 1, '>= 1'),
        ('optimizer.lr', cfg.optimizer.lr, cfg.optimizer.lr >= 0, '>= 0'),
        ('data.samples_per_gpu', data.samples_per_gpu, 1 <= data.samples_per_gpu <= 65536,
         '1..65536'),
        ('data.val_samples_per_gpu', data.val_samples_per_gpu,
         data.val_samples_per_gpu is None or data.val_samples_per_gpu >= 1, '>= 1 or None'),
        ('data.workers_per_gpu', data.workers_per_gpu, 0 <= data.workers_per_gpu <= 256, '0..256'),
        ('log_config.interval', cfg.log_config and cfg.log_config.interval,
         cfg.log_config is None or cfg.log_config.interval >= 1, '>= 1'),
        ('optimizer.momentum', opt.momentum, opt.momentum is None or opt.momentum >= 0, '>= 0'),
        ('optimizer.weight_decay', opt.weight_decay,
         opt.weight_decay is None or opt.weight_decay >= 0, '>= 0'),
        ('seed', cfg.seed, cfg.seed is None or 0 <= cfg.seed < 2 ** 32, '0 <= seed < 2**32'),
        ('lr_config.warmup', lr.warmup, lr.warmup in WARMUPS, "None, 'constant', 'linear', 'exp'"),
        ('lr_config.gamma', lr.gamma, lr.gamma is None or lr.gamma > 0, '> 0'),
        ('lr_config.warmup_iters', lr.warmup_iters,
         lr.warmup is None or (lr.warmup_iters or 0) > 0, '> 0 when lr_config.warmup is set'),
        ('lr_config.warmup_ratio', lr.warmup_ratio,
         lr.warmup_ratio is None or 0 < lr.warmup_ratio <= 1, 'in (0, 1]'),
        ('momentum_config.warmup_iters', mom.warmup_iters,
         mom.warmup is None or (mom.warmup_iters or 0) > 0, '> 0 when warmup is set'),
        ('momentum_config.warmup_ratio', mom.warmup_ratio,
         mom.warmup_ratio is None or 0 < mom.warmup_ratio <= 1, 'in (0, 1]'),
        ('optimizer_config.grad_clip.max_norm', clip and clip.max_norm,
         clip is None or clip.max_norm > 0, '> 0'),
        ('model.head.loss.loss_weight', cfg.model.head.loss.loss_weight,
         cfg.model.head.loss.loss_weight >= 0, '>= 0'),
        ('model.backbone.init_cfg', init, init is None or (
            backbone.type == 'ResNet' and init.get('type') == 'Pretrained'
            and set(init) <= {'type', 'checkpoint', 'prefix'}
            and isinstance(init.get('checkpoint'), str) and '://' not in init['checkpoint']
            and isinstance(init.get('prefix') or '', str)),
         "None, or with type='ResNet' dict(type='Pretrained', checkpoint='a local file' (a URL: "
         "download it first), prefix='backbone')"),
        ('log_level', cfg.log_level, cfg.log_level in LOG_LEVELS, ', '.join(LOG_LEVELS)),
        ('device', cfg.device, cfg.device in DEVICES or (cfg.device.startswith('cuda:')
                                                         and cfg.device[5:].isdigit()),
         "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"),
        ('random_streams', cfg.random_streams, cfg.random_streams in RANDOM_STREAMS,
         "'minicls' (exact resume) or 'mmcls' (mmcls 0.25's)"),
        ('work_dir', cfg.work_dir, cfg.work_dir.strip() != '', 'a folder name (not empty)'),
    ]
    for name, step in (('lr_config.step', lr.step), ('momentum_config.step', mom.step)):
        steps = step if isinstance(step, list) else [step]
        ok = step is None or steps and all(isinstance(s, int) and s > 0 for s in steps)
        rows.append((name, step, ok, 'None, an int > 0 or a list of them'))
    for split in ('train', 'val', 'test'):
        n = getattr(data, split).num_samples
        rows.append((f'data.{split}.num_samples', n, n is None or n >= 1, '>= 1 or None'))
    check_rows(rows)
    check_evaluation(**vars(cfg.evaluation))


def check_evaluation(interval=1, start=None, rule=None, save_best=None, metric='accuracy',
                     metric_options=None, **_):
    """evaluation's fields, from a config (check_ranges) or as hooks.EvalHook's arguments:
    code that builds the hook gets the checks a config gets."""
    metrics = [metric] if isinstance(metric, str) else metric
    topk = (metric_options or {}).get('topk', (1, 5))
    topk = [topk] if isinstance(topk, int) else topk
    check_rows([
        ('evaluation.interval', interval, interval > 0, '> 0'),
        ('evaluation.start', start, start is None or start >= 0, '>= 0 or None'),
        ('evaluation.rule', rule, rule in (None, 'greater', 'less'), "'greater', 'less' or None"),
        ('evaluation.save_best', save_best, save_best is None or isinstance(save_best, str),
         "a metric name, 'auto' or None"),
        ('evaluation.metric', metric, all(m in METRICS for m in metrics),
         f'one or a list of {", ".join(METRICS)}'),
        ('evaluation.metric_options', metric_options, isinstance(topk, (list, tuple))
         and all(isinstance(k, int) and k >= 1 for k in topk),
         "{'topk': an int >= 1 or a tuple of them, ...}")])


def check_rows(rows):
    """(field, its value, in range?, what is allowed): the first one out of range is the error."""
    for name, value, ok, allowed in rows:
        if not ok:
            raise ConfigError(f'{name}={value!r} is out of range; allowed: {allowed}')


def check_workflow(workflow):
    for entry in workflow:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2
                and entry[0] in ('train', 'val') and isinstance(entry[1], int) and entry[1] >= 1):
            raise ConfigError(f"workflow entry {entry!r} is not valid; expected ('train' or 'val', "
                              'epochs >= 1)')
    if not any(mode == 'train' for mode, _ in workflow):     # mmcv would loop forever
        raise ConfigError(f"workflow={workflow!r} has no ('train', epochs) entry; "
                          'training needs one')


def config_to_json(cfg):
    return json.dumps(dataclasses.asdict(cfg), indent=2)


def config_changes(cfg, base=None, prefix=''):
    """`key: value` lines for the fields where cfg differs from `base` (config.py's cfg)."""
    base = globals()['cfg'] if base is None else base
    lines = []
    for f in dataclasses.fields(cfg):
        value, default = getattr(cfg, f.name), getattr(base, f.name, None)
        if dataclasses.is_dataclass(value) and dataclasses.is_dataclass(default):
            lines += config_changes(value, default, f'{prefix}{f.name}.')
        elif value != default:
            lines.append(f'{prefix}{f.name}: {value!r}')
    return lines


__all__ = ['ConfigError', 'Config', 'ModelConfig', 'BackboneConfig', 'NeckConfig',
           'HeadConfig', 'LossConfig', 'DataConfig', 'DatasetConfig', 'OptimizerConfig',
           'ParamwiseConfig', 'OptimizerHookConfig', 'GradClipConfig', 'Fp16Config', 'LrConfig',
           'MomentumConfig', 'CheckpointConfig', 'LogConfig', 'EvalConfig', 'cfg', 'img_norm_cfg',
           'train_pipeline', 'test_pipeline', 'replace']
