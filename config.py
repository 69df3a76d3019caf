"""The configuration: plain dataclasses, and `cfg`, the article's ResNet-50 / CIFAR-10 config.

This file is data, not behaviour. Every field is a plain value (number, string, bool,
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
and deriving with `dataclasses.replace` (see configs/resnet18_cifar10.py):

    python train.py --config config.py --resume work_dirs/epoch_20.pth
"""
from dataclasses import dataclass, field, replace
from typing import Optional, Union


__version__ = '0.1.0'           # minicls's; checkpoints record it as `minicls_version`


class ConfigError(ValueError):
    """A bad config file, field, value or command line: train.py exits with status 2."""


# ---------------------------------------------------------------------------------------
# Model  (mmcls: configs/_base_/models/resnet50_cifar.py)
# ---------------------------------------------------------------------------------------


@dataclass
class LossConfig:
    type: str = 'CrossEntropyLoss'
    loss_weight: float = 1.0


@dataclass
class BackboneConfig:
    type: str = 'ResNet_CIFAR'
    depth: int = 50                      # 18, 34, 50, 101 or 152
    num_stages: int = 4
    out_indices: tuple = (3,)
    style: str = 'pytorch'               # 'pytorch': stride on the 3x3 conv; 'caffe': on the 1x1
    base_channels: int = 64              # width of the first stage (doubles each stage)
    stem_channels: int = 64              # width of the 3x3 stem conv
    zero_init_residual: bool = True      # mmcls's ResNet default: last BN of each block starts at 0
    frozen_stages: int = -1              # the stem and the first k stages: eval mode, no gradients
    norm_eval: bool = False              # BN layers keep their running statistics while training


@dataclass
class NeckConfig:
    type: str = 'GlobalAveragePooling'


@dataclass
class HeadConfig:
    type: str = 'LinearClsHead'
    num_classes: int = 10
    in_channels: int = 2048
    loss: LossConfig = field(default_factory=LossConfig)
    topk: tuple = (1, 5)
    cal_acc: bool = False                # also log the training accuracy (top-k) of each batch


@dataclass
class ModelConfig:
    type: str = 'ImageClassifier'
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    neck: NeckConfig = field(default_factory=NeckConfig)
    head: HeadConfig = field(default_factory=HeadConfig)


# ---------------------------------------------------------------------------------------
# Data  (mmcls: configs/_base_/datasets/cifar10_bs16.py, with the article's batch of 128)
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
    batched: bool = False                # run `pipeline` once per batch, in collate (transforms.py: Batch*)


@dataclass
class DataConfig:
    samples_per_gpu: int = 128           # batch size of one process
    val_samples_per_gpu: Optional[int] = None   # the evaluation's batch; None: samples_per_gpu (mmcls)
    workers_per_gpu: int = 2             # DataLoader worker processes of one process
    pin_memory: bool = False             # page-locked batches: faster, asynchronous copies to the GPU
    persistent_workers: bool = True      # keep the workers between epochs (mmcls's default)
    train: DatasetConfig = field(default_factory=lambda: DatasetConfig(pipeline=list(train_pipeline)))
    val: DatasetConfig = field(default_factory=lambda: DatasetConfig(pipeline=list(test_pipeline), test_mode=True))
    test: DatasetConfig = field(default_factory=lambda: DatasetConfig(pipeline=list(test_pipeline), test_mode=True))


# ---------------------------------------------------------------------------------------
# Schedule  (mmcls: configs/_base_/schedules/cifar10_bs128.py)
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# Runtime  (mmcls: configs/_base_/default_runtime.py)
# ---------------------------------------------------------------------------------------


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
    metric: str = 'accuracy'
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
    log_config: Optional[LogConfig] = field(default_factory=LogConfig)   # None: no log lines, as mmcv
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    custom_hooks: list = field(default_factory=list)  # [dict(type='EMAHook', priority='ABOVE_NORMAL'), ...]
    workflow: list = field(default_factory=lambda: [('train', 1)])
    work_dir: str = 'work_dirs'
    load_from: Optional[str] = None
    resume_from: Optional[str] = None
    seed: Optional[int] = None
    deterministic: bool = False
    device: str = 'auto'                 # 'cpu', 'cuda' or 'auto' (cuda when available)
    # Fast paths, off by default (mixed precision is `fp16` above):
    cudnn_benchmark: bool = False        # let cuDNN time its algorithms for each input shape
    channels_last: bool = False          # NHWC memory layout for the model and its input
    compile: bool = False                # torch.compile the model in place
    num_threads: Optional[int] = None    # CPU: torch's threads; None: usable cores - loader workers - busy ones
    log_level: str = 'INFO'
    # Distributed (torchrun ... train.py --launcher pytorch). The article's config says
    # dist_params=dict(backend='nccl'); empty here means nccl on GPUs, gloo on CPUs.
    dist_params: dict = field(default_factory=dict)
    sync_bn: bool = False                # SyncBatchNorm: BN statistics over all processes


# The article's config, value for value (ResNet-50 on CIFAR-10, batch 128, SGD 0.1,
# steps at 100 and 150, 200 epochs). Every default above was chosen to be its value.
cfg = Config(
    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet_CIFAR', depth=50, num_stages=4, out_indices=(3,), style='pytorch'),
        neck=NeckConfig(type='GlobalAveragePooling'),
        head=HeadConfig(type='LinearClsHead', num_classes=10, in_channels=2048,
                        loss=LossConfig(type='CrossEntropyLoss', loss_weight=1.0))),
    data=DataConfig(
        samples_per_gpu=128, workers_per_gpu=2,
        train=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=train_pipeline),
        val=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline, test_mode=True),
        test=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline, test_mode=True)),
    optimizer=OptimizerConfig(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001),
    optimizer_config=OptimizerHookConfig(grad_clip=None),
    lr_config=LrConfig(policy='step', step=[100, 150]),
    total_epochs=200,
    checkpoint_config=CheckpointConfig(interval=1),
    log_config=LogConfig(interval=100, hooks=[dict(type='TextLoggerHook')]),
    workflow=[('train', 1)],
    work_dir='work_dirs',
    load_from=None,
    resume_from=None,
    seed=None,
)

__all__ = ['ConfigError', 'Config', 'ModelConfig', 'BackboneConfig', 'NeckConfig', 'HeadConfig', 'LossConfig',
           'DataConfig', 'DatasetConfig', 'OptimizerConfig', 'ParamwiseConfig', 'OptimizerHookConfig',
           'GradClipConfig', 'Fp16Config', 'LrConfig', 'MomentumConfig', 'CheckpointConfig', 'LogConfig',
           'EvalConfig', 'cfg', 'img_norm_cfg', 'train_pipeline', 'test_pipeline', 'replace']
