"""The mmcls model-zoo recipe for ResNet-18 on CIFAR-10 (94.82 % top-1).

mmcls: configs/resnet/resnet18_8xb16_cifar10.py, i.e. 8 GPUs x 16 images; here one process
x 128 images, the same total batch, so the same LR (0.1) and schedule (200 epochs, steps at
100 and 150). The zoo recipe normalises with to_rgb=False (CIFAR is already RGB).

    python train.py --config configs/resnet18_cifar10.py
"""
from config import BackboneConfig, DataConfig, DatasetConfig, HeadConfig, ModelConfig, cfg, replace

norm = dict(type='Normalize', mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255], to_rgb=False)
train_pipeline = [dict(type='RandomCrop', size=32, padding=4),
                  dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
                  norm,
                  dict(type='ImageToTensor', keys=['img']),
                  dict(type='ToTensor', keys=['gt_label']),
                  dict(type='Collect', keys=['img', 'gt_label'])]
test_pipeline = [norm, dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]

cfg = replace(
    cfg,
    model=ModelConfig(backbone=BackboneConfig(depth=18, num_stages=4, out_indices=(3,), style='pytorch'),
                      head=HeadConfig(num_classes=10, in_channels=512)),
    data=DataConfig(
        samples_per_gpu=128, workers_per_gpu=2,
        val_samples_per_gpu=512,         # evaluation keeps no activations for backward: 4x the batch fits
        train=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=train_pipeline),
        val=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline, test_mode=True),
        test=DatasetConfig(type='CIFAR10', data_prefix='data/cifar10', pipeline=test_pipeline, test_mode=True)),
    work_dir='work_dirs/resnet18_cifar10',
)
