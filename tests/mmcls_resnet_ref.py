"""mmcls 0.25's ImageNet ResNet beside model.py's ResNet, in one process: run with the real mmcv
1.7.2 / mmcls 0.25.0 on the path (benchmarks/mmcv_reference_setup.sh makes them):

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python tests/mmcls_resnet_ref.py --work /tmp/r
        [--depths 18,34,50,101,152] [--width 64] [--size 224]     # prints one JSON line
    PYTHONPATH=... python tests/mmcls_resnet_ref.py --record tests/golden/resnet_keys.json

For each depth, mmcls builds an ImageClassifier (its configs/_base_/models/resnet{depth}.py at
the given width, a 1000-class head), runs init_weights, moves every BN layer off its initial
state (weights, biases and running statistics: zero_init_residual would otherwise leave each
block the identity, and running statistics 0 and 1 test nothing), and saves it with mmcv's
save_checkpoint. minicls then loads that file with strict=True (and its backbone alone through
init_cfg Pretrained, prefix='backbone'), and both give logits for the same images.
tests/test_resnet.py runs this where $MMREF holds mmcls.
"""
import argparse
import dataclasses
import hashlib
import json
import logging
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.filterwarnings('ignore')


def mmcls_model(depth, width, num_classes=1000):
    from mmcls.models import build_classifier
    expansion = 1 if depth < 50 else 4
    return build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=depth, num_stages=4, out_indices=(3, ), style='pytorch',
                      base_channels=width, stem_channels=width),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=width * expansion * 8, topk=(1, 5),
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0))))


def entries(model):
    return [[k, list(v.shape), str(v.dtype).replace('torch.', '')]
            for k, v in model.state_dict().items()]


def record(path):
    """tests/golden/resnet_keys.json: mmcls's state_dict entries for each depth (in full for
    18 and 50, the two block kinds; a count and a sha256 of the list for every depth)."""
    import mmcls
    import mmcv
    out = dict(versions=dict(torch=torch.__version__, mmcv=mmcv.__version__,
                             mmcls=mmcls.__version__),
               note='state_dict entries [key, shape, dtype] in order of mmcls 0.25.0 '
                    "ImageClassifier(ResNet(depth), GlobalAveragePooling, LinearClsHead(1000)) "
                    '(configs/_base_/models/resnet{depth}.py); written by '
                    'tests/mmcls_resnet_ref.py --record', depths={})
    for depth in (18, 34, 50, 101, 152):
        listing = entries(mmcls_model(depth, 64))
        d = dict(num_entries=len(listing),
                 sha256=hashlib.sha256(json.dumps(listing).encode()).hexdigest())
        if depth in (18, 50):
            d['state_dict'] = listing
        out['depths'][str(depth)] = d
    with open(path, 'w') as f:
        f.write(json.dumps(out, indent=None, separators=(',', ':')).replace('],[', '],\n[') + '\n')


def shake_norms(model, seed):
    """BN weights, biases and running statistics away from their initial values."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t, low, high in ((m.weight.data, 0.2, 0.6), (m.bias.data, -0.1, 0.1),
                                 (m.running_mean, -0.1, 0.1), (m.running_var, 0.5, 1.5)):
                t.copy_(torch.rand(t.shape, generator=g) * (high - low) + low)


def compare(depth, width, size, work):
    from mmcv.runner import save_checkpoint

    from checkpoint import load_checkpoint
    from config import BackboneConfig, HeadConfig, ModelConfig
    from model import build_classifier
    torch.manual_seed(depth)
    theirs = mmcls_model(depth, width)
    theirs.init_weights()
    shake_norms(theirs, depth)
    path = os.path.join(work, f'mmcls_resnet{depth}.pth')
    save_checkpoint(theirs, path, meta=dict(CLASSES=[str(i) for i in range(1000)]))
    images = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    theirs.eval()
    with torch.no_grad():
        ref = theirs.simple_test(images, softmax=False, post_process=False)
        ref_feat = theirs.backbone(images)[-1]
    expansion = 1 if depth < 50 else 4
    cfg = ModelConfig(backbone=BackboneConfig(type='ResNet', depth=depth, base_channels=width,
                                              stem_channels=width),
                      head=HeadConfig(num_classes=1000, in_channels=width * expansion * 8))
    ours = build_classifier(cfg)
    load_checkpoint(ours, path, strict=True)
    init = dict(type='Pretrained', checkpoint=path, prefix='backbone')
    pretrained = build_classifier(ModelConfig(
        backbone=dataclasses.replace(cfg.backbone, init_cfg=init),
        head=HeadConfig(num_classes=10, in_channels=cfg.head.in_channels)))
    pretrained.init_weights()
    ours.eval()
    pretrained.eval()
    with torch.no_grad():
        logits = ours.simple_test(images, softmax=False, post_process=False)
        feat = pretrained.backbone(images)[-1]
    return dict(depth=depth, width=width, size=size,
                keys_equal=list(ours.state_dict()) == list(theirs.state_dict()),
                logits_max_abs_diff=(logits - ref).abs().max().item(),
                logits_max_abs=ref.abs().max().item(),
                pretrained_backbone_max_abs_diff=(feat - ref_feat).abs().max().item())


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--record')
    p.add_argument('--work')
    p.add_argument('--depths', default='18,34,50,101,152')
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--size', type=int, default=224)
    args = p.parse_args()
    if args.record:
        return record(args.record)
    torch.set_num_threads(1)
    from mmcv.utils import get_logger
    get_logger('mmcv', log_level=logging.ERROR)     # its init report: one record per tensor
    results = [compare(int(d), args.width, args.size, args.work) for d in args.depths.split(',')]
    print(json.dumps(results))


if __name__ == '__main__':
    main()
