"""The model: mmcls 0.x's ImageClassifier with a ResNet_CIFAR backbone, in one file.

    backbone (ResNet_CIFAR) -> neck (GlobalAveragePooling) -> head (LinearClsHead)

    from config import cfg
    from model import build_classifier
    model = build_classifier(cfg.model)
    model.init_weights()                  # train.py calls this, as mmcls's tools/train.py does
    out = model.train_step(dict(img=imgs, gt_label=labels), optimizer)
    out['loss'].backward()                # the OptimizerHook does this, not the model
    scores = model(img=imgs, return_loss=False)   # one softmax numpy array per image

Names of modules, parameters and buffers are mmcls 0.25's, in the same order, so an mmcls
checkpoint loads with `load_state_dict(..., strict=True)`.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from config import lookup
from extras.checks.model_checks import check_model_config

# ---- Builder: ModelConfig (config.py) -> ImageClassifier ------------------------------

def build_classifier(model_cfg):
    """ModelConfig (read by attribute) -> ImageClassifier. Then call `model.init_weights()`."""
    backbone, neck, head = model_cfg.backbone, model_cfg.neck, model_cfg.head
    backbone_cls = lookup(BACKBONES, backbone.type, 'model.backbone.type', base=ResNet)
    neck_cls = lookup(NECKS, neck.type, 'model.neck.type')
    head_cls = lookup(HEADS, head.type, 'model.head.type')
    loss_cls = lookup(LOSSES, head.loss.type, 'model.head.loss.type')
    variants = [('model.backbone', backbone_cls, variant_args(backbone)),
                ('model.neck', neck_cls, variant_args(neck)),
                ('model.head.loss', loss_cls, variant_args(head.loss))]
    # the types and sizes (and that each class takes the variant fields set), before anything
    # is built
    check_model_config(model_cfg, backbone_cls, variants)
    (_, _, backbone_args), (_, _, neck_args), (_, _, loss_args) = variants
    out_indices = tuple(backbone.out_indices)     # a list after a JSON round trip
    return ImageClassifier(
        backbone=backbone_cls(depth=backbone.depth, num_stages=backbone.num_stages,
                              out_indices=out_indices, style=backbone.style,
                              base_channels=backbone.base_channels,
                              stem_channels=backbone.stem_channels,
                              zero_init_residual=backbone.zero_init_residual,
                              frozen_stages=backbone.frozen_stages, norm_eval=backbone.norm_eval,
                              init_cfg=backbone.init_cfg, **backbone_args),
        neck=neck_cls(**neck_args),
        head=head_cls(num_classes=head.num_classes, in_channels=head.in_channels,
                      loss=loss_cls(loss_weight=head.loss.loss_weight, **loss_args),
                      topk=head.topk, cal_acc=head.cal_acc))


def variant_args(part):
    """The fields of a part's config in VARIANT_ARGS that are set away from config.py's
    defaults: only these go to the class, which keeps its own defaults for the rest (a
    ResNeXt's groups=32 is its own; ResNet takes no groups at all)."""
    default = type(part)()
    return {name: getattr(part, name) for name in VARIANT_ARGS[type(part).__name__]
            if getattr(part, name) != getattr(default, name)}


# ---- Classifier  (mmcls: classifiers/image.py and classifiers/base.py) ----------------

class ImageClassifier(nn.Module):
    """backbone -> neck -> head, with the train_step/val_step the runner calls. mmcls: same name."""

    def __init__(self, backbone, neck, head):
        super().__init__()
        self.backbone, self.neck, self.head = backbone, neck, head

    def init_weights(self):
        """mmcls's init. Neither __init__ nor the builder calls it; train.py does, as mmcls's."""
        self.backbone.init_weights()
        self.head.init_weights()  # the neck has no weights

    def train_step(self, data, optimizer=None):
        """One iteration's forward pass -> dict(loss, log_vars, num_samples). mmcls: same name."""
        # backward() and step() are the OptimizerHook's job; `optimizer` only keeps mmcv's
        # signature. The logger weights log_vars by num_samples when it averages them.
        loss, log_vars = self._parse_losses(self(**data))
        return dict(loss=loss, log_vars=log_vars, num_samples=data['img'].shape[0])

    def _parse_losses(self, losses):
        """Sum the losses to backpropagate and collect the values to log. mmcls: same name."""
        check_losses(losses)
        log_vars = OrderedDict()
        for name, value in losses.items():
            if isinstance(value, dict):
                # mmcls: a dict's items are logged under their own keys; accuracy: (1,) -> ()
                log_vars.update((k, v.reshape(())) for k, v in value.items())
            else:                            # a scalar is its own mean
                log_vars[name] = value if value.dim() == 0 else value.mean()
        # Every entry whose key contains 'loss' is part of the total; the rest is only logged.
        loss = None
        for key, value in log_vars.items():
            if 'loss' in key:                # not sum(...): that adds a 0 first, one more op
                loss = value if loss is None else loss + value
        log_vars['loss'] = loss
        # mmcls calls .item() on each value here. Each .item() waits for the GPU to finish,
        # so the CPU cannot queue the next iteration's work: we log detached tensors, and
        # the log buffer copies them to the CPU only when it averages (every log interval).
        for key, value in log_vars.items():
            log_vars[key] = value.detach()
        return loss, log_vars

    def forward(self, img, return_loss=True, **kwargs):
        # mmcls: BaseClassifier.forward. The runner calls `model(**batch)`, so the batch's keys
        # arrive as keywords. (mmcls's test branch also takes a list of augmented batches.)
        if return_loss:
            return self.forward_train(img, **kwargs)
        return self.simple_test(img, **kwargs)

    def forward_train(self, img, gt_label, **kwargs):
        """Dict of losses (and the training accuracy); other batch keys are unused."""
        return self.head.forward_train(self.extract_feat(img), gt_label)

    def extract_feat(self, img):
        return self.neck(self.backbone(img))

    def val_step(self, data, optimizer=None):
        # Same as train_step in mmcls; the runner's val() wraps it in torch.no_grad().
        return self.train_step(data, optimizer)

    def simple_test(self, img, img_metas=None, softmax=True, post_process=True, **kwargs):
        """Per-sample softmax scores (see LinearClsHead.simple_test); the other batch keys
        (img_metas, gt_label) are unused, as in mmcls."""
        return self.head.simple_test(self.extract_feat(img), softmax=softmax,
                                     post_process=post_process)

    with_neck = property(lambda self: self.neck is not None)
    with_head = property(lambda self: self.head is not None)


def unwrap(model):
    """The bare model inside a DataParallel / DistributedDataParallel wrapper (mmcv:
    is_module_wrapper, then `.module`)."""
    return model.module if hasattr(model, 'module') else model


# ---- Head, loss, neck  (mmcls: heads/linear_head.py, cls_head.py, losses/, necks/gap.py) --

class LinearClsHead(nn.Module):
    """One fully connected layer from features to class scores. mmcls: LinearClsHead."""

    def __init__(self, num_classes, in_channels, loss=None, topk=(1,), cal_acc=False):
        super().__init__()
        self.topk = (topk,) if isinstance(topk, int) else tuple(topk)
        self.cal_acc = cal_acc
        self.compute_loss = CrossEntropyLoss() if loss is None else loss
        self.fc = nn.Linear(in_channels, num_classes)

    def forward_train(self, x, gt_label):
        return self.loss(self.fc(self.pre_logits(x)), gt_label)

    def pre_logits(self, x):
        # With several backbone outputs the head classifies from the last (deepest) one.
        return x[-1] if isinstance(x, tuple) else x

    def loss(self, cls_score, gt_label):
        # mmcls: ClsHead.loss. With cal_acc the training accuracy goes in as a dict;
        # ImageClassifier._parse_losses logs its items under their own names ('top-1', 'top-5').
        losses = {}
        if self.cal_acc:
            with torch.no_grad():
                acc = accuracy(cls_score, gt_label, self.topk)
            losses['accuracy'] = {f'top-{k}': a for k, a in zip(self.topk, acc)}
        losses['loss'] = self.compute_loss(cls_score, gt_label, avg_factor=len(cls_score))
        return losses

    def simple_test(self, x, softmax=True, post_process=True):
        """Scores: softmax (or the logits, with softmax=False), as a list with one (num_classes,)
        numpy array per sample (or the (N, num_classes) tensor, with post_process=False). In
        float32 also under autocast (numpy has no bfloat16; CUDA autocast does the same)."""
        cls_score = self.fc(self.pre_logits(x))
        pred = F.softmax(cls_score, dim=1, dtype=torch.float32) if softmax else cls_score.float()
        return list(pred.detach().cpu().numpy()) if post_process else pred

    def init_weights(self):
        # mmcls: init_cfg=dict(type='Normal', layer='Linear', std=0.01); mmcv's bias default is 0
        nn.init.normal_(self.fc.weight, mean=0, std=0.01)
        nn.init.zeros_(self.fc.bias)


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy, averaged over the batch, times `loss_weight`. mmcls: same name.

    mmcls's options: use_soft (the labels are (N, num_classes) probabilities: Mixup's,
    LabelSmoothLoss's), use_sigmoid (one binary cross-entropy per class: multi-label),
    class_weight (one weight per class) and reduction ('mean', 'sum' or 'none')."""

    def __init__(self, use_sigmoid=False, use_soft=False, reduction='mean', loss_weight=1.0,
                 class_weight=None):
        super().__init__()
        self.use_sigmoid, self.use_soft, self.reduction = use_sigmoid, use_soft, reduction
        self.loss_weight, self.class_weight = loss_weight, class_weight

    def forward(self, cls_score, label, avg_factor=None):
        # mmcls: cross_entropy / soft_cross_entropy / binary_cross_entropy (reduction='none'),
        # then weight_reduce_loss. The heads give avg_factor = the batch size (ClsHead.loss):
        # sum / N, which is not always F.cross_entropy's mean to the bit
        weight = None if self.class_weight is None else cls_score.new_tensor(self.class_weight)
        if self.use_sigmoid:
            loss = F.binary_cross_entropy_with_logits(cls_score, label, weight=weight,
                                                      reduction='none')
        elif self.use_soft:
            loss = -label * F.log_softmax(cls_score, dim=-1)
            loss = (loss if weight is None else loss * weight).sum(dim=-1)
        else:
            loss = F.cross_entropy(cls_score, label, weight=weight, reduction='none')
        return self.loss_weight * reduce_loss(loss, self.reduction, avg_factor)


def reduce_loss(loss, reduction='mean', avg_factor=None):
    """mmcls: losses/utils.py weight_reduce_loss (without its per-sample weight): 'none', 'sum',
    or 'mean' (sum / avg_factor when it is given)."""
    if reduction == 'none':
        return loss
    if avg_factor is not None and reduction == 'mean':
        return loss.sum() / avg_factor
    if avg_factor is not None:          # mmcls raises too: its heads always give avg_factor
        raise ValueError('avg_factor can not be used with reduction="sum"')
    return loss.mean() if reduction == 'mean' else loss.sum()


def accuracy(pred, target, topk=(1,), thrs=0.0):
    """Top-k accuracies in percent, one (1,)-shaped float32 tensor per k (mmcls:
    losses/accuracy.py accuracy_torch); the head's and the datasets' (data.py) accuracy.

    A top-k hit counts only where its score is above `thrs` (mmcls's default 0.0, also on
    raw logits: a correct class with logit <= 0 is a miss). A k above the number of classes
    gives the top-all accuracy (mmcls raises: torch's topk cannot pick it).
    """
    maxk = min(max(topk), pred.size(1))
    pred_score, pred_label = pred.float().topk(maxk, dim=1)   # (N, maxk), best first
    correct = pred_label.t().eq(target.view(1, -1)) & (pred_score.t() > thrs)
    return [correct[:k].reshape(-1).float().sum(0, keepdim=True) * (100.0 / pred.size(0))
            for k in topk]


class GlobalAveragePooling(nn.Module):
    """(N, C, H, W) -> (N, C), each channel's mean; a tuple maps item by item. mmcls: same name."""

    def forward(self, inputs):
        # mmcls pools with nn.AdaptiveAvgPool2d(1) and reshapes; a mean over H and W is the same.
        if isinstance(inputs, tuple):
            return tuple(x.mean(dim=(2, 3)) for x in inputs)
        return inputs.mean(dim=(2, 3))


# ---- Backbone  (mmcls: backbones/resnet.py and backbones/resnet_cifar.py) -------------
# The blocks come first: ResNet's arch_settings names them when the class is made.

class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut (ResNet-18/34). mmcls: BasicBlock."""
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, style='pytorch',
                 expansion=1, drop_path_rate=0.0):
        super().__init__()
        # `style` is ignored, as in mmcls: with two 3x3 convs the stride can only go on the first.
        # `expansion` must be 1 (mmcls asserts it): it is an argument for Bottleneck's sake.
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > EPS else nn.Identity()

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(self.drop_path(out) + identity)


class Bottleneck(nn.Module):
    """1x1 (narrow), 3x3, 1x1 (widen 4x) and a shortcut (ResNet-50/101/152). mmcls: Bottleneck."""
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, style='pytorch',
                 expansion=4, drop_path_rate=0.0):
        super().__init__()
        # expansion: out_channels / the narrow width (mmcls's wide ResNets: 2)
        mid_channels = out_channels // expansion
        # 'pytorch' strides the 3x3 conv (torchvision's "ResNet v1.5"); 'caffe' strides the
        # first 1x1 conv (the original Caffe models), which skips 3/4 of its input unseen.
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, stride=conv1_stride, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=conv2_stride, padding=1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > EPS else nn.Identity()

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(self.drop_path(out) + identity)


EPS = 1e-5      # mmcls: a drop_path_rate at or below it builds no DropPath


class DropPath(nn.Module):
    """Stochastic depth: while training, each sample's residual branch is dropped with
    probability `drop_prob` and the kept ones scaled by 1 / (1 - drop_prob). mmcv: DropPath."""

    def __init__(self, drop_prob=0.1):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0. or not self.training:
            return x
        keep_prob = 1 - self.drop_prob     # one draw per sample, as mmcv's drop_path
        keep = (keep_prob + torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype,
                                       device=x.device)).floor()
        return x.div(keep_prob) * keep


def make_res_layer(block, num_blocks, in_channels, out_channels, stride, style, avg_down=False,
                   **block_args):
    """One stage: `num_blocks` blocks, the first one changing size. mmcls: ResLayer.
    `block_args` go to every block (expansion, drop_path_rate; ResNeXt's groups...)."""
    downsample = None
    if stride != 1 or in_channels != out_channels:
        # A 1x1 conv + BN on the shortcut, so it matches the main path's shape.
        # Kept as a Sequential because mmcls's keys are `downsample.0` and `downsample.1`.
        # avg_down (ResNetV1d): a 2x2 average pool halves the size instead of the conv's
        # stride, so the 1x1 conv sees every input pixel; the keys become .1 and .2.
        pool = ([nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)]
                if avg_down and stride != 1 else [])
        downsample = nn.Sequential(
            *pool, nn.Conv2d(in_channels, out_channels, 1, stride=1 if pool else stride,
                             bias=False),
            nn.BatchNorm2d(out_channels))
    layers = [block(in_channels, out_channels, stride, downsample, style, **block_args)]
    layers += [block(out_channels, out_channels, 1, None, style, **block_args)
               for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """ResNet for ImageNet-sized images; returns a tuple, one feature map per stage in
    `out_indices`. mmcls: ResNet (backbones/resnet.py), for depths 18 to 152.

    The stem (a 7x7 stride-2 conv, BN, ReLU and a 3x3 stride-2 max pool) makes the image 4x
    smaller before the first stage (224 -> 56). ResNet_CIFAR, below, changes only the stem.
    Its variants subclass it as mmcls's do (extras/models/: ResNetV1c/V1d, ResNeXt,
    SEResNet); mmcls's wide ResNets are ResNet(expansion=2, base_channels=128). mmcls's
    options that are not here (its defaults only): deep_stem (its ResNetV1c), strides,
    dilations, with_cp, norm_cfg.
    """
    # depth -> (block, number of blocks in each of the four stages)
    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }
    stem_names = ('conv1', 'bn1')     # what frozen_stages >= 0 freezes before the stages

    def __init__(self, depth, num_stages=4, out_indices=(3,), style='pytorch',
                 base_channels=64, zero_init_residual=True, in_channels=3,
                 stem_channels=64, frozen_stages=-1, norm_eval=False, init_cfg=None,
                 expansion=None, avg_down=False, drop_path_rate=0.0):
        super().__init__()
        block, stage_blocks = self.arch_settings[depth]
        self.base_channels = base_channels
        expansion = block.expansion if expansion is None else expansion   # mmcls: get_expansion
        self.out_indices = tuple(out_indices)
        # frozen_stages=k: the stem and the first k stages stay as they are (eval mode, no
        # gradients); norm_eval: every BN layer keeps its running statistics. Both as mmcls.
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.zero_init_residual = zero_init_residual  # mmcls's ResNet default is True
        # None: mmcls's default init (init_weights); dict(type='Pretrained', checkpoint=...,
        # prefix=...): a checkpoint's weights instead (mmcv: BaseModule's init_cfg)
        self.init_cfg = init_cfg
        # the stem before the stages, as in mmcls: a seed gives mmcls's initial weights
        self._make_stem_layer(in_channels, stem_channels)
        self.res_layers = []
        _in, _out = stem_channels, base_channels * expansion
        for i, num_blocks in enumerate(stage_blocks[:num_stages]):
            stride = 1 if i == 0 else 2  # mmcls: strides=(1, 2, 2, 2): later stages halve H, W
            layer = self.make_res_layer(
                block=block, num_blocks=num_blocks, in_channels=_in, out_channels=_out,
                stride=stride, style=style, avg_down=avg_down, expansion=expansion,
                drop_path_rate=drop_path_rate)
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
            _in, _out = _out, _out * 2
        self._freeze_stages()         # before an optimizer or DDP sees the parameters

    def make_res_layer(self, **kwargs):
        """mmcls: ResNet.make_res_layer, the hook ResNeXt and SEResNet override (their blocks'
        own arguments added)."""
        return make_res_layer(**kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        """mmcls: ResNet._make_stem_layer. The max pool has no weights: the state_dict keys
        are ResNet_CIFAR's, and mmcls's."""
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def init_weights(self):
        """mmcls: ResNet's init_cfg (Kaiming convs, BN weight 1), then zero_init_residual.
        With a Pretrained init_cfg only the checkpoint's weights are loaded: mmcv's
        BaseModule returns after PretrainedInit (no Kaiming init before it, no
        zero_init_residual after it); what the checkpoint lacks keeps torch's default init."""
        if self.init_cfg is not None:
            args = dict(self.init_cfg)
            initializer = lookup(INITIALIZERS, args.pop('type', None),
                                 'model.backbone.init_cfg: type')
            initializer(**args)(self)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # fan_out keeps the gradients' variance steady going backwards (He et al. 2015)
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.zero_init_residual:
            # Each block then starts as the identity: easier early training (Goyal et al. 2017)
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self._stages(x)

    def _stages(self, x):
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def _freeze_stages(self):
        """mmcls: ResNet._freeze_stages: the stem and the first `frozen_stages` stages in eval
        mode, without gradients (`stem_names`: the stem's modules)."""
        frozen = [getattr(self, name) for name in self.stem_names] + [
            getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for module in frozen if self.frozen_stages >= 0 else []:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False


class ResNet_CIFAR(ResNet):
    """ResNet for 32x32 images. mmcls: ResNet_CIFAR, a subclass of ResNet that changes only
    the stem: ImageNet's shrinks the image 4x (7x7 stride-2 conv, max pool); a 32x32 image
    cannot spare that, so here the stem is one 3x3 stride-1 conv and there is no max pool."""

    def _make_stem_layer(self, in_channels, stem_channels):
        """mmcls: ResNet_CIFAR._make_stem_layer: a 3x3 stride-1 conv (`stem_channels` wide)."""
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self._stages(self.relu(self.bn1(self.conv1(x))))


# ---- The name tables, and the check of the head's losses --------------------------------

# model.backbone.type -> the backbone (or 'module:Class', your own ResNet subclass)
BACKBONES = {'ResNet_CIFAR': ResNet_CIFAR, 'ResNet': ResNet,
             'ResNetV1c': 'extras.models.resnet_variants:ResNetV1c',
             'ResNetV1d': 'extras.models.resnet_variants:ResNetV1d',
             'ResNeXt': 'extras.models.resnext:ResNeXt',
             'SEResNet': 'extras.models.seresnet:SEResNet',
             'SEResNeXt': 'extras.models.seresnet:SEResNeXt'}
# model.neck.type, model.head.type, model.head.loss.type -> the class
NECKS = {'GlobalAveragePooling': GlobalAveragePooling,
         'GeneralizedMeanPooling': 'extras.models.necks:GeneralizedMeanPooling'}
HEADS = {'LinearClsHead': LinearClsHead,
         'MultiLabelLinearClsHead': 'extras.models.heads:MultiLabelLinearClsHead'}
LOSSES = {'CrossEntropyLoss': CrossEntropyLoss,
          'LabelSmoothLoss': 'extras.models.losses:LabelSmoothLoss'}
# The config fields of mmcls's variants, by config class: given to the class only when set
# (variant_args), checked against what the class takes (check_model_config)
VARIANT_ARGS = {
    'BackboneConfig': ('expansion', 'groups', 'width_per_group', 'se_ratio', 'drop_path_rate'),
    'NeckConfig': ('p', 'eps', 'clamp'),
    'LossConfig': ('reduction', 'use_soft', 'use_sigmoid', 'class_weight', 'label_smooth_val',
                   'mode', 'num_classes')}
# model.backbone.init_cfg's type -> the initializer, an extra imported when a config names it
# (mmcv: the INITIALIZERS registry)
INITIALIZERS = {'Pretrained': 'extras.models.pretrained:PretrainedInit'}


def check_losses(losses):
    """The head's losses: tensors or dicts of tensors, and at least one name (a dict's own
    keys count) that contains 'loss', so that there is something to backpropagate."""
    names = []
    for name, value in losses.items():
        if not isinstance(value, (torch.Tensor, dict)):
            raise TypeError(f'{name} is not a tensor or a dict of tensors')
        names += list(value) if isinstance(value, dict) else [name]
    if not any('loss' in name for name in names):
        raise ValueError(f"the head's losses ({', '.join(losses)}) have no entry whose name "
                         "contains 'loss': nothing to backpropagate")
