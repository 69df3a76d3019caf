"""The embedded demo: a small ResNet_CIFAR on synthetic CIFAR-like data, about 21 s on 2 quiet CPU
cores (docs/benchmarks.md), no download.

SyntheticCIFAR10 writes its data (5,000 train and 1,000 test images of 10 classes) to
data/demo_cifar10 in the real `cifar-10-batches-py` pickle format the first time, then
reads it back with the same reader as CIFAR10, so the demo runs the real code path.

    python train.py --config configs/demo.py
    python train.py --config configs/demo.py --resume work_dirs/demo/epoch_1.pth
"""
from config import (BackboneConfig, CheckpointConfig, DataConfig, DatasetConfig, HeadConfig, LogConfig,
                    LrConfig, ModelConfig, cfg, replace, test_pipeline, train_pipeline)

# A ResNet-18 layout at a quarter of the width and three stages: 16-32-64 channels.
model = ModelConfig(
    backbone=BackboneConfig(depth=18, num_stages=3, out_indices=(2,), base_channels=16, stem_channels=16),
    head=HeadConfig(num_classes=10, in_channels=64, cal_acc=True, topk=(1, 5)))

data = DataConfig(
    samples_per_gpu=128, workers_per_gpu=0,       # 2 cores: both compute; loading in this process is cheap
    train=DatasetConfig(type='SyntheticCIFAR10', data_prefix='data/demo_cifar10', pipeline=train_pipeline),
    val=DatasetConfig(type='SyntheticCIFAR10', data_prefix='data/demo_cifar10', pipeline=test_pipeline,
                      test_mode=True),
    test=DatasetConfig(type='SyntheticCIFAR10', data_prefix='data/demo_cifar10', pipeline=test_pipeline,
                       test_mode=True))

cfg = replace(
    cfg,
    model=model,
    data=data,
    lr_config=LrConfig(policy='step', step=[4]),
    total_epochs=5,
    checkpoint_config=CheckpointConfig(interval=1),
    log_config=LogConfig(interval=10),
    work_dir='work_dirs/demo',
    seed=0,
    # NHWC: torch's CPU convolutions (oneDNN) and batch norm run faster on it; 28.2 -> 23.3 s on 2 cores
    # (docs/benchmarks.md). Same model, same data, same epochs.
    channels_last=True,
)
