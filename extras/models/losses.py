"""mmcls's LabelSmoothLoss: cross-entropy against smoothed labels, the loss of its "lbs"
(label smoothing) and RSB recipes. mmcls: losses/label_smooth_loss.py.

    head=HeadConfig(loss=LossConfig(type='LabelSmoothLoss', label_smooth_val=0.1))

model.py's LOSSES table names it; model.py's CrossEntropyLoss computes the cross-entropy.
"""
import torch.nn as nn
import torch.nn.functional as F

from model import CrossEntropyLoss


class LabelSmoothLoss(nn.Module):
    """The true class gets 1 - eps of the target, every class eps / num_classes (mode
    'original'); 'classy_vision' uses eps = label_smooth_val / (1 + label_smooth_val);
    'multi_label' smooths each class's 0/1 target to eps / 1 - eps for a sigmoid loss.
    Labels: class indices, or (N, num_classes) one-hot-like rows (Mixup's). mmcls: same name."""

    def __init__(self, label_smooth_val, num_classes=None, mode='original', reduction='mean',
                 loss_weight=1.0):
        super().__init__()
        self.num_classes, self.mode = num_classes, mode
        # mmcls 0.25 keeps reduction and loss_weight but never applies them: its inner
        # CrossEntropyLoss is built without them. So here (the same loss values); a config
        # that sets them other than 'mean' and 1.0 is refused (extras/checks/model_checks.py).
        self.reduction, self.loss_weight = reduction, loss_weight
        self.eps = label_smooth_val / (1 + label_smooth_val) if mode == 'classy_vision' \
            else label_smooth_val
        self.ce = CrossEntropyLoss(use_sigmoid=mode == 'multi_label',
                                   use_soft=mode != 'multi_label')

    def forward(self, cls_score, label, avg_factor=None):
        num_classes = cls_score.shape[1]
        if self.num_classes is not None and self.num_classes != num_classes:   # mmcls asserts
            raise ValueError(f'num_classes={self.num_classes} but the scores have {num_classes}')
        if label.dim() == 1 or (label.dim() == 2 and label.shape[1] == 1):
            label = F.one_hot(label.long().view(-1), num_classes)   # mmcls: convert_to_one_hot
        label = label.float()
        if self.mode == 'multi_label':
            target = label.new_full(label.shape, self.eps).masked_fill_(label > 0, 1 - self.eps)
        else:                            # mmcls: original_smooth_label (also classy_vision)
            target = label * (1 - self.eps) + self.eps / num_classes
        return self.ce(cls_score, target, avg_factor=avg_factor)
