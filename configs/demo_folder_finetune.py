"""Fine-tuning, the classroom exercise: the folder demo's trained ResNet (10 shape classes)
fine-tuned to a small set of one's own: 5 classes, 40 images each, listed by an ann_file.
Run configs/demo_folder.py first: its last checkpoint is the pretrained model here.

    python train.py --config configs/demo_folder.py
    python train.py --config configs/demo_folder_finetune.py

mmcls's recipe (docs/en/tutorials/finetune.md): load the pretrained weights, a new head for the
new number of classes (the old head's weights do not fit: load_from skips them and names them
in one log line), the stem and first stage frozen (weights and BN statistics as loaded), and
a smaller learning rate. With an ImageNet checkpoint of mmcls's, or torchvision's converted by
tools/convert_torchvision.py, only `load_from`, the depth and the widths change.
"""
from config import (BackboneConfig, DataConfig, DatasetConfig, HeadConfig, LrConfig, ModelConfig,
                    OptimizerConfig, replace)
from configs.demo_folder import cfg as demo, test_pipeline, train_pipeline

CLASSES = ['checker', 'circle', 'disk', 'frame', 'h_stripes']   # labels 0-4 of the ann_files


def split(prefix, ann_file, pipeline, **kwargs):
    return DatasetConfig(type='CustomDataset', data_prefix=f'data/demo_folder/{prefix}',
                         ann_file=f'data/demo_folder/meta/{ann_file}', classes=CLASSES,
                         pipeline=pipeline, **kwargs)


cfg = replace(
    demo,
    model=ModelConfig(
        backbone=BackboneConfig(type='ResNet', depth=18, num_stages=3, out_indices=(2,),
                                base_channels=16, stem_channels=16, frozen_stages=1),
        head=HeadConfig(num_classes=5, in_channels=64, topk=(1,))),
    data=DataConfig(
        samples_per_gpu=32, workers_per_gpu=0,
        train=split('train', 'train5.txt', train_pipeline),
        val=split('val', 'val5.txt', test_pipeline, test_mode=True),
        test=split('val', 'val5.txt', test_pipeline, test_mode=True)),
    optimizer=OptimizerConfig(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    lr_config=LrConfig(policy='step', step=[4]),
    total_epochs=5,
    evaluation=replace(demo.evaluation, metric_options=dict(topk=(1,))),
    load_from='work_dirs/demo_folder/epoch_5.pth',
    work_dir='work_dirs/demo_folder_finetune',
)
