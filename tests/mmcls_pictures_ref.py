"""mmcls 0.25's tools/visualizations/vis_lr.py on schedules given as mmcls dicts: the LR of every
iteration its DummyEpochBasedRunner records. Run with the real mmcv 1.7.2 / mmcls 0.25.0 on the
path (benchmarks/mmcv_reference_setup.sh makes them); tests/test_pictures.py does, with $MMREF:

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python tests/mmcls_pictures_ref.py CASES.json OUT.json

CASES.json: {name: {optimizer, lr_config, samples_per_gpu, max_epochs, dataset_size, ngpus}};
OUT.json: {name: {'iters_per_epoch': n, 'lr': [[lr of each param group] per iteration]}}. The
data loader is the one mmcls's main() builds: DataLoader(range(dataset_size),
batch_size=samples_per_gpu * ngpus).
"""
import importlib.util
import json
import os
import sys
import warnings

warnings.filterwarnings('ignore')


def vis_lr_module():
    import mmcls
    path = os.path.join(os.path.dirname(mmcls.__file__), '.mim', 'tools', 'visualizations',
                        'vis_lr.py')
    spec = importlib.util.spec_from_file_location('mmcls_vis_lr', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(cases_path, out_path):
    import mmcv
    from torch.utils.data import DataLoader
    vis_lr = vis_lr_module()
    with open(cases_path) as f:
        cases = json.load(f)
    out = {}
    for name, case in cases.items():
        cfg = mmcv.Config(dict(optimizer=case['optimizer'], lr_config=case['lr_config'],
                               runner=dict(type='EpochBasedRunner',
                                           max_epochs=case['max_epochs']),
                               workflow=[('train', 1)],
                               data=dict(samples_per_gpu=case['samples_per_gpu'])))
        loader = DataLoader(list(range(case['dataset_size'])),
                            batch_size=case['samples_per_gpu'] * case['ngpus'])
        out[name] = dict(iters_per_epoch=len(loader),
                         lr=vis_lr.simulate_train(loader, cfg, by_epoch=True))
    with open(out_path, 'w') as f:
        json.dump(out, f)


if __name__ == '__main__':
    main(*sys.argv[1:3])
