"""mmcls's MultiLabelLinearClsHead: one fully connected layer scored with a sigmoid per class,
the head mmcls's Mixup and CutMix ResNet configs use (their mixed labels are soft, with a
`use_soft` CrossEntropyLoss). mmcls: heads/multi_label_linear_head.py, multi_label_head.py.

model.py's HEADS table names it; the default run never enters this file.
"""
import torch

from model import CrossEntropyLoss, LinearClsHead


class MultiLabelLinearClsHead(LinearClsHead):
    """LinearClsHead whose targets are (N, num_classes) rows (absolute values taken, as mmcls:
    its negative labels mean "difficult") and whose test scores are sigmoids. No training
    accuracy (mmcls's has none). Its default loss is mmcls's: a sigmoid CrossEntropyLoss."""

    def __init__(self, num_classes, in_channels, loss=None, **kwargs):
        super().__init__(num_classes, in_channels,
                         CrossEntropyLoss(use_sigmoid=True) if loss is None else loss, **kwargs)

    def loss(self, cls_score, gt_label):
        gt_label = gt_label.type_as(cls_score).abs()    # mmcls: MultiLabelClsHead.loss
        return dict(loss=self.compute_loss(cls_score, gt_label, avg_factor=len(cls_score)))

    def simple_test(self, x, softmax=True, post_process=True):
        """Sigmoid scores (mmcls: sigmoid=True; `softmax` keeps ImageClassifier's keyword), or
        the logits with softmax=False; a list of numpy rows, or the tensor (post_process=False)."""
        cls_score = self.fc(self.pre_logits(x))
        pred = torch.sigmoid(cls_score.float()) if softmax else cls_score.float()
        return list(pred.detach().cpu().numpy()) if post_process else pred
