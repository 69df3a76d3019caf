"""Train on your own data in CIFAR-10's file format (mmcls's way: a CIFAR10 subclass whose
file table has md5 None, so no file is checked against the official checksums).

Put your files in data/my_cifar/cifar-10-batches-py/: data_batch_1 ... data_batch_N and
test_batch (pickled dicts: 'data', uint8 (n, 3072) rows, red plane then green then blue;
'labels', n ints), and batches.meta ({'label_names': [...]}). Change the lists below to your
file names, num_classes to your number of classes, then:

    python train.py --config configs/own_cifar_format.py

`type='own_cifar_format:OwnCIFAR10'` names the class below as 'module:Class': train.py puts
this file's folder on the import path, so the dataset builder finds it (and worker processes too).
"""
from config import DataConfig, DatasetConfig, HeadConfig, cfg, replace, test_pipeline, train_pipeline
from data import CIFAR10


class OwnCIFAR10(CIFAR10):
    """CIFAR-10's reader, your files: md5 None skips the check (mmcls: check_integrity)."""
    train_list = [('data_batch_1', None), ('data_batch_2', None)]
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)
    url = None                           # a missing file is an error, not a download of CIFAR-10


own = dict(type='own_cifar_format:OwnCIFAR10', data_prefix='data/my_cifar')
cfg = replace(
    cfg,
    model=replace(cfg.model, head=HeadConfig(num_classes=10, in_channels=2048)),
    data=DataConfig(
        samples_per_gpu=128, workers_per_gpu=2,
        train=DatasetConfig(**own, pipeline=train_pipeline),
        val=DatasetConfig(**own, pipeline=test_pipeline, test_mode=True),
        test=DatasetConfig(**own, pipeline=test_pipeline, test_mode=True)),
    work_dir='work_dirs/own_cifar_format',
)
