"""The folder demo as an mmcls 0.25 config file: configs/demo_folder.py's run (the same data,
pipelines, model and schedule), written the way mmcls's own configs are, so one file trains
unchanged in both systems (extras/bridge/mmcls_config.py translates it here):

    python train.py --config configs/demo_folder.py          # once: writes data/demo_folder
    python train.py --config configs/demo_folder_mmcls.py    # minicls
    python tools/train.py configs/demo_folder_mmcls.py       # mmcls 0.25, from its checkout

This file does not write the folder: CustomDataset only reads it. Run configs/demo_folder.py
once first (its DemoFolder dataset writes data/demo_folder), or call
extras.demos.demo_folder.write_demo_folder('data/demo_folder', DemoFolder.header()).
benchmarks/folder_accuracy.py runs this file in both systems over seeds (docs/interop.md).
"""
# model: mmcls's ResNet-18 layout at a quarter of the width, three stages (16-32-64 channels);
# mmcls's ResNet wants one stride and one dilation per stage
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        style='pytorch',
        base_channels=16,
        stem_channels=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

# dataset: configs/_base_/datasets/imagenet_bs32.py at a sixth of the size (48x64 images)
dataset_type = 'CustomDataset'
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', size=32, scale=(0.5, 1.0)),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label'])
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', size=(36, -1)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='Collect', keys=['img'])
]
data = dict(
    samples_per_gpu=64,
    workers_per_gpu=1,
    train=dict(
        type=dataset_type,
        data_prefix='data/demo_folder/train',       # one subfolder per class
        pipeline=train_pipeline),
    val=dict(
        type=dataset_type,
        data_prefix='data/demo_folder/val',
        ann_file='data/demo_folder/meta/val.txt',   # `<n>.jpg <label>` lines
        pipeline=test_pipeline),
    test=dict(
        type=dataset_type,
        data_prefix='data/demo_folder/val',
        ann_file='data/demo_folder/meta/val.txt',
        pipeline=test_pipeline))
evaluation = dict(interval=1, metric='accuracy')

# schedule: configs/demo_folder.py's
optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[4])
runner = dict(type='EpochBasedRunner', max_epochs=5)

# runtime: configs/_base_/default_runtime.py's, a checkpoint every epoch
checkpoint_config = dict(interval=1)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
