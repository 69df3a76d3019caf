"""The folder demo: a small ImageNet-style ResNet (7x7 stem, max pool) trained on a folder of
JPEG files with mmcls's ImageNet pipeline, no download.

DemoFolder (extras/demos/demo_folder.py) writes data/demo_folder the first time: 2,000 training
images in one subfolder per class, and 500 validation images in one folder with an ann_file,
the two layouts of mmcls's CustomDataset, then reads them as CustomDataset does.

    python train.py --config configs/demo_folder.py
    python train.py --config configs/demo_folder.py --resume auto
"""
from config import (BackboneConfig, CheckpointConfig, DataConfig, DatasetConfig, HeadConfig,
                    LogConfig, LrConfig, ModelConfig, cfg, replace)

# mmcls's configs/_base_/datasets/imagenet_bs32.py, at a sixth of the size: 48x64 images,
# random crops of 32x32 for training; resize (short side 36) and a centre crop to test.
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', size=32, scale=(0.5, 1.0)),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', size=(36, -1)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='Collect', keys=['img']),
]


def split(prefix, pipeline, **kwargs):
    return DatasetConfig(type='DemoFolder', data_prefix=f'data/demo_folder/{prefix}',
                         pipeline=pipeline, **kwargs)


cfg = replace(
    cfg,
    # mmcls's ResNet-18 layout at a quarter of the width, three stages: 16-32-64 channels
    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet', depth=18, num_stages=3, out_indices=(2,),
                                base_channels=16, stem_channels=16),
        head=HeadConfig(num_classes=10, in_channels=64, topk=(1, 5))),
    data=DataConfig(
        samples_per_gpu=64, workers_per_gpu=1,
        train=split('train', train_pipeline),
        val=split('val', test_pipeline, ann_file='data/demo_folder/meta/val.txt',
                  test_mode=True),
        test=split('val', test_pipeline, ann_file='data/demo_folder/meta/val.txt',
                   test_mode=True)),
    lr_config=LrConfig(policy='step', step=[4]),
    total_epochs=5,
    checkpoint_config=CheckpointConfig(interval=1),
    log_config=LogConfig(interval=10),
    work_dir='work_dirs/demo_folder',
    seed=0,
    channels_last=True,
)
