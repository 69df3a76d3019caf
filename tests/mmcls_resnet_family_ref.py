"""mmcls 0.25's ResNet variants, LabelSmoothLoss / CrossEntropyLoss options, GeM neck and
DropPath, computed by the real mmcv 1.7.2 / mmcls 0.25.0 (benchmarks/mmcv_reference_setup.sh
makes them), for tests/test_resnet_family.py and tests/test_losses.py:

    PYTHONPATH=/tmp/mmref/src:/tmp/mmref/deps python tests/mmcls_resnet_family_ref.py
        --work /tmp/r          # saves one mmcls checkpoint per model; prints the results as JSON
    PYTHONPATH=... python tests/mmcls_resnet_family_ref.py --record tests/golden/resnet_family.json
    PYTHONPATH=... python tests/mmcls_resnet_family_ref.py --text config.py   # mmcls text in,
        # the state_dict entries and loss type of mmcls's model built from its `model` out

Each model (small widths: a few thousand weights) gets its weights from `fill`, which depends
only on the state_dict's keys, order and shapes, so the recorded logits catch a wrong key, a
wrong shape or a wrong wiring without mmcv. The loss inputs come from a seeded generator.
"""
import argparse
import hashlib
import json
import logging
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.filterwarnings('ignore')

# name -> (backbone dict, neck dict): mmcls's keys, which are config.py's field names too
MODELS = {
    'resnetv1c18': (dict(type='ResNetV1c', depth=18, base_channels=8, stem_channels=8), None),
    'resnetv1d50': (dict(type='ResNetV1d', depth=50, base_channels=8, stem_channels=8), None),
    'resnext50_4x2d': (dict(type='ResNeXt', depth=50, base_channels=8, stem_channels=8,
                            groups=4, width_per_group=2), None),
    'seresnet50': (dict(type='SEResNet', depth=50, base_channels=8, stem_channels=8,
                        se_ratio=8), None),
    'seresnext50_4x2d': (dict(type='SEResNeXt', depth=50, base_channels=8, stem_channels=8,
                              groups=4, width_per_group=2, se_ratio=16), None),
    'wide_resnet50': (dict(type='ResNet', depth=50, base_channels=16, stem_channels=8,
                           expansion=2), None),
    'resnet18_gem': (dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                          drop_path_rate=0.1), dict(type='GeneralizedMeanPooling', p=2.5)),
}
# name -> (loss dict, label kind): mmcls's LOSSES, on 6 samples of 5 classes
LOSSES = {
    'ce': (dict(type='CrossEntropyLoss', loss_weight=0.7), 'index'),
    'ce_class_weight': (dict(type='CrossEntropyLoss', class_weight=[1., 2., .5, 0., 3.]),
                        'index'),
    'ce_soft': (dict(type='CrossEntropyLoss', use_soft=True), 'soft'),
    'ce_soft_class_weight': (dict(type='CrossEntropyLoss', use_soft=True,
                                  class_weight=[1., 2., .5, 0., 3.]), 'soft'),
    'ce_sigmoid': (dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=2.), 'multi'),
    'ce_sigmoid_class_weight': (dict(type='CrossEntropyLoss', use_sigmoid=True,
                                     class_weight=[1., 2., .5, 0., 3.]), 'multi'),
    'ce_none': (dict(type='CrossEntropyLoss', reduction='none'), 'index'),
    'ls_original': (dict(type='LabelSmoothLoss', label_smooth_val=0.1), 'index'),
    'ls_original_soft': (dict(type='LabelSmoothLoss', label_smooth_val=0.2), 'soft'),
    'ls_classy_vision': (dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                              mode='classy_vision', num_classes=5), 'index'),
    'ls_multi_label': (dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='multi_label',
                            loss_weight=0.5), 'multi'),
    'ls_none': (dict(type='LabelSmoothLoss', label_smooth_val=0.3, reduction='none'), 'index'),
}
NUM_CLASSES = 10


def mmcls_dict(name):
    backbone, neck = MODELS[name]
    return dict(type='ImageClassifier', backbone=backbone,
                neck=neck or dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                          in_channels=head_width(backbone),
                          loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def head_width(backbone):
    expansion = backbone.get('expansion') or (1 if backbone['depth'] < 50 else 4)
    return backbone['base_channels'] * expansion * 8


def model_config(name):
    """The same model as config.py's dataclasses."""
    from config import BackboneConfig, HeadConfig, ModelConfig, NeckConfig
    backbone, neck = MODELS[name]
    return ModelConfig(backbone=BackboneConfig(**backbone),
                       neck=NeckConfig(**neck) if neck else NeckConfig(),
                       head=HeadConfig(num_classes=NUM_CLASSES, in_channels=head_width(backbone)))


def entries(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def fill(model, seed=0):
    """Every float of the state_dict from a generator, in state_dict order: BN weights in
    [0.5, 1.0), running variances in [0.5, 1.5), conv and linear weights uniform with variance
    2/fan-in (He's)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            r = torch.rand(t.shape, generator=g)
            if name.endswith('running_var'):
                t.copy_(r + 0.5)
            elif t.dim() == 1 and name.endswith('.weight'):      # BN: small, so the residual
                t.copy_(r * 0.5 + 0.5)                            # sums stay near 1
            elif t.dim() >= 2:
                t.copy_((r - 0.5) * 2 * (6 / t[0].numel()) ** 0.5)     # He's variance
            elif name.endswith('neck.p'):
                t.copy_(r + 2)
            else:
                t.copy_((r - 0.5) * 0.2)
    return model


def init_summary(model):
    """After torch.manual_seed(0), building and init_weights: the sum of |weight| of each
    tensor (a different draw or order changes them), and the generator's next number."""
    return dict(init_abs_sums=[round(t.double().abs().sum().item(), 4)
                               for t in model.state_dict().values()],
                next_rand=round(torch.rand(1).item(), 7))


def images():
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def loss_inputs(kind):
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(6, 5, generator=g) * 2
    index = torch.randint(0, 5, (6,), generator=g)
    if kind == 'index':
        return scores, index
    if kind == 'soft':            # Mixup's: two one-hot rows mixed
        lam = torch.rand(6, 1, generator=g)
        other = torch.randint(0, 5, (6,), generator=g)
        eye = torch.eye(5)
        return scores, lam * eye[index] + (1 - lam) * eye[other]
    return scores, (torch.rand(6, 5, generator=g) > 0.6).float()


def drop_path_output(drop_path_cls):
    """A DropPath(0.4) in training mode on a seeded input, after torch.manual_seed(3)."""
    x = torch.randn(8, 3, 2, 2, generator=torch.Generator().manual_seed(4))
    module = drop_path_cls(0.4).train()
    torch.manual_seed(3)
    return module(x)


def mmcls_results(work=None, only=None):
    from mmcls.models import build_classifier, build_loss
    from mmcls.models.necks import GeneralizedMeanPooling
    from mmcv.cnn.bricks import DropPath
    out = dict(models={}, losses={})
    for name in MODELS if only != 'losses' else ():
        torch.manual_seed(0)
        model = build_classifier(mmcls_dict(name))
        model.init_weights()
        init = init_summary(model)
        model = fill(model)
        model.eval()
        listing = entries(model)
        with torch.no_grad():
            logits = model.simple_test(images(), softmax=False, post_process=False)
        out['models'][name] = dict(
            num_entries=len(listing),
            sha256=hashlib.sha256(json.dumps(listing).encode()).hexdigest(),
            logits=[[round(v, 7) for v in row] for row in logits.tolist()], **init)
        if work:
            from mmcv.runner import save_checkpoint
            save_checkpoint(model, os.path.join(work, f'{name}.pth'),
                            meta=dict(CLASSES=[str(i) for i in range(NUM_CLASSES)]))
    for name, (cfg, kind) in LOSSES.items():
        scores, labels = loss_inputs(kind)
        loss = build_loss(cfg)(scores, labels, avg_factor=None if 'none' in name else 6)
        out['losses'][name] = [round(v, 8) for v in loss.reshape(-1).tolist()]
    x = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(5)) - 0.2
    out['gem'] = [round(v, 8) for v in GeneralizedMeanPooling(p=2.5)(x).reshape(-1).tolist()]
    out['drop_path_sum'] = round(drop_path_output(DropPath).sum().item(), 6)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--record')
    p.add_argument('--work')
    p.add_argument('--only', choices=['losses'], help='the losses, GeM and DropPath only')
    p.add_argument('--text')
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.text:
        from mmcls.models import build_classifier
        from mmcv import Config
        with open(args.text) as f:
            model = build_classifier(Config.fromstring(f.read(), file_format='.py').model)
        return print(json.dumps(dict(entries=entries(model),
                                     loss=type(model.head.compute_loss).__name__)))
    import mmcls
    import mmcv
    from mmcv.utils import get_logger
    get_logger('mmcv', log_level=logging.ERROR)     # its init report: one record per tensor
    out = mmcls_results(args.work, args.only)
    if args.record:
        out = dict(versions=dict(torch=torch.__version__, mmcv=mmcv.__version__,
                                 mmcls=mmcls.__version__),
                   note='written by tests/mmcls_resnet_family_ref.py --record', **out)
        with open(args.record, 'w') as f:       # a model, a loss a line
            f.write(json.dumps(out, separators=(',', ':')).replace('},"', '},\n"')
                    .replace('],"', '],\n"') + '\n')
    else:
        print(json.dumps(out))


if __name__ == '__main__':
    main()
