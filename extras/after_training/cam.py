"""Class activation maps: where in an image the model looked for its class (mmcls 0.25:
tools/visualizations/vis_cam.py), with the `grad-cam` package, an optional extra.

    picture, pred = cam_picture(cfg, model, 'cat.jpg')      # PIL image: the input, the CAM

As mmcls's tool: the image goes through data.test's pipeline (LoadImageFromFile first, added
if the pipeline lacks it), the CAM is computed on the model's logits (softmax and
post-processing off) for the predicted class or `target_category`, and the target layer is by
default the last normalisation layer of the backbone (the last block's last BatchNorm of a
ResNet; `--target-layers` names others, e.g. backbone.layer3.1.bn2 or backbone.layer3[1]).
mmcls replaces grad-cam's ActivationsAndGradients to call the model that way; here a small
module wraps the model instead. Of the format transforms only Normalize and ImageToTensor run:
ToTensor and Collect gather keys (a CIFAR pipeline's gt_label) that one image file has not.
"""
import re

import numpy as np
import torch

from data import Compose
from extras.after_training.common import ToolError
from extras.after_training.grid import captioned, row, to_pil

FORMAT_TRANSFORMS = {'ToTensor', 'Normalize', 'ImageToTensor', 'Collect'}    # mmcls's set
METHODS = ('gradcam', 'gradcam++', 'xgradcam', 'eigencam', 'eigengradcam', 'layercam')
INSTALL = ('vis_cam needs grad-cam, an optional extra: pip install "grad-cam>=1.3.7" '
           '(the pytorch_grad_cam package)')


def grad_cam_classes():
    """{method name: CAM class} of pytorch_grad_cam (mmcls's METHOD_MAP)."""
    try:
        import pytorch_grad_cam as p
    except ImportError:
        raise ToolError(INSTALL) from None
    return dict(zip(METHODS, (p.GradCAM, p.GradCAMPlusPlus, p.XGradCAM, p.EigenCAM,
                              p.EigenGradCAM, p.LayerCAM)))


class Logits(torch.nn.Module):
    """The classifier as grad-cam calls it: images in, logits out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, img):
        return self.model(img, return_loss=False, softmax=False, post_process=False)


def apply_transforms(img_path, pipeline):
    """(the input tensor CHW, the image before formatting: BGR, as LoadImageFromFile reads it)
    (mmcls: the same name)."""
    pipeline = list(pipeline)
    if not pipeline or pipeline[0].get('type') != 'LoadImageFromFile':
        pipeline.insert(0, dict(type='LoadImageFromFile'))
    image_part = [t for t in pipeline if t.get('type') not in FORMAT_TRANSFORMS]
    format_part = [t for t in pipeline if t.get('type') in ('Normalize', 'ImageToTensor')]
    results = Compose(image_part)(dict(img_info=dict(filename=img_path), img_prefix=None))
    shown = results['img'].copy()
    results = Compose(format_part, allow_empty=True)(results)
    img = results['img']
    if not isinstance(img, torch.Tensor):        # no ImageToTensor: HWC array -> CHW
        img = torch.from_numpy(np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1)))
    return img.float(), shown


def get_layer(name, model):
    """A submodule by its dotted name; `layer3[1]` is read as `layer3.1` (mmcls's syntax)."""
    try:
        return model.get_submodule(re.sub(r'\[(\d+)\]', r'.\1', name.strip()))
    except AttributeError:
        raise ToolError(f'--target-layers {name!r} is not a layer of the model; '
                        '--preview-model lists them') from None


def default_target_layers(model):
    """mmcls: the backbone's last normalisation layer."""
    norms = (torch.nn.BatchNorm2d, torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.BatchNorm1d)
    layers = [m for m in model.backbone.modules() if isinstance(m, norms)]
    if not layers:
        raise ToolError('the backbone has no normalisation layer; name one with --target-layers')
    return layers[-1:]


def cam_picture(cfg, model, img_path, method='gradcam', target_layers=(),
                target_category=(), eigen_smooth=False, aug_smooth=False):
    """(PIL picture: the input and the CAM over it, captioned; the predicted class index)."""
    cam_classes = grad_cam_classes()
    if method.lower() not in cam_classes:
        raise ToolError(f'--method {method!r} is not known; valid: {", ".join(METHODS)}')
    from pytorch_grad_cam.utils.image import show_cam_on_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    img, shown = apply_transforms(img_path, cfg.data.test.pipeline)
    device = next(model.parameters()).device
    img = img.unsqueeze(0).to(device)
    with torch.no_grad():
        scores = model(img, return_loss=False, softmax=True, post_process=False)[0]
    pred = int(scores.argmax())
    layers = [get_layer(n, model) for n in target_layers] or default_target_layers(model)
    bad = [c for c in target_category if not 0 <= c < len(scores)]
    if bad:
        raise ToolError(f'--target-category {bad[0]} is not a class index 0..{len(scores) - 1}')
    targets = [ClassifierOutputTarget(c) for c in target_category] or None
    cam = cam_classes[method.lower()](model=Logits(model), target_layers=layers)
    grey = cam(img, targets, eigen_smooth=eigen_smooth, aug_smooth=aug_smooth)[0]
    rgb = np.asarray(to_pil(shown, bgr=True), dtype=np.float32) / 255
    overlay = show_cam_on_image(rgb, grey, use_rgb=True)
    classes = getattr(model, 'CLASSES', None) or [str(i) for i in range(len(scores))]
    target = ', '.join(classes[c] for c in target_category) if target_category else 'predicted'
    return row([captioned(to_pil(shown, bgr=True), ['input', f'pred: {classes[pred]}',
                                                f'score: {float(scores[pred]):.3f}']),
                captioned(to_pil(overlay), [method, f'target: {target}'])]), pred
