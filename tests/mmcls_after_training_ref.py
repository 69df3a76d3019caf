"""The real mmcls 0.25's tools/test.py and apis/inference.py on a minicls checkpoint: run with
mmcv 1.7.2 / mmcls 0.25.0 on the path (benchmarks/mmcv_reference_setup.sh makes them), in the
folder whose data/ the config names:

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python tests/mmcls_after_training_ref.py \\
        test CONFIG.py CHECKPOINT [tools/test.py's options ...]
    PYTHONPATH=... python tests/mmcls_after_training_ref.py predict CONFIG.py CKPT OUT.json IMG...

CONFIG.py is mmcls text, as a minicls checkpoint keeps it in meta['config']. The demos' dataset
types are registered first, as mmcls's own classes: SyntheticCIFAR10 is mmcls's CIFAR10 with the
md5 sums of the demo's md5sums.txt; DemoFolder is CustomDataset with the checkpoint's class
names. `test` runs mmcls's tools/test.py itself (runpy); `predict` writes one
inference_model result per image (a path, or `array:PATH` for the array mmcv.imread gives).
A test pipeline that collects gt_label (config.py's) loses that key first (drop_gt_label).
tests/test_testing_tool.py and tests/test_predict.py run this where $MMREF holds mmcls.
"""
import json
import os
import runpy
import sys
import warnings

warnings.filterwarnings('ignore')


def register_demo_datasets(checkpoint):
    import torch
    from mmcls.datasets import CIFAR10, DATASETS, CustomDataset

    @DATASETS.register_module()
    class SyntheticCIFAR10(CIFAR10):
        def __init__(self, data_prefix, *args, **kwargs):
            with open(os.path.join(data_prefix, self.base_folder, 'md5sums.txt')) as f:
                md5 = {name: s for s, name in (line.split() for line in f if line[0] != '#')}
            self.train_list = [[n, md5[n]] for n in sorted(md5) if n.startswith('data_batch')]
            self.test_list = [['test_batch', md5['test_batch']]]
            self.meta = dict(self.meta, md5=md5['batches.meta'])
            super().__init__(data_prefix, *args, **kwargs)

    @DATASETS.register_module()
    class DemoFolder(CustomDataset):
        CLASSES = torch.load(checkpoint, weights_only=True)['meta']['CLASSES']

    return SyntheticCIFAR10, DemoFolder


def test(config, checkpoint, *options):
    register_demo_datasets(checkpoint)
    import mmcls
    from mmcv import Config
    cfg = Config.fromfile(config)
    drop_gt_label(cfg)
    config = os.path.join(os.path.dirname(os.path.abspath(config)), 'without_gt_label.py')
    cfg.dump(config)
    tool = os.path.join(os.path.dirname(mmcls.__file__), '.mim', 'tools', 'test.py')
    sys.argv = [tool, config, checkpoint, *options]
    runpy.run_path(tool, run_name='__main__')


def drop_gt_label(cfg):
    """config.py's test pipeline (the article's) collects gt_label; mmcls 0.25's own configs
    do not, and its test forward fails on it (tools/test.py: a TypeError in simple_test;
    inference_model: a KeyError)."""
    pipeline = []
    for step in cfg.data.test.pipeline:
        if step['type'] in ('ToTensor', 'Collect') and 'gt_label' in step['keys']:
            step['keys'] = [k for k in step['keys'] if k != 'gt_label']
        if step.get('keys', True):
            pipeline.append(step)
    cfg.data.test.pipeline = pipeline


def predict(config, checkpoint, out, *images):
    register_demo_datasets(checkpoint)
    import mmcv
    from mmcls.apis import inference_model, init_model
    model = init_model(config, checkpoint, device='cpu')
    drop_gt_label(model.cfg)
    results = []
    for img in images:
        given = mmcv.imread(img[len('array:'):]) if img.startswith('array:') else img
        result = inference_model(model, given)
        results.append(dict(result, pred_label=int(result['pred_label'])))
    with open(out, 'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    {'test': test, 'predict': predict}[sys.argv[1]](*sys.argv[2:])
