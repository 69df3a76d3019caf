"""Precision, recall and F1 score of a dataset's predictions (mmcls: core/evaluation/eval_metrics.py).

`dataset.evaluate(results, metric=['precision', 'recall'])` comes here; accuracy, the
default metric, is computed in data.py.
"""
import numpy as np


def precision_recall_f1(scores, gt, metrics, options):
    """{metric: value in percent} for 'precision', 'recall', 'f1_score': per class, then
    averaged ('macro'). A prediction counts only where its score is above `thrs` (0)."""
    if options.get('average_mode', 'macro') != 'macro':
        raise ValueError(f"average_mode {options['average_mode']!r} is not supported; valid: 'macro'")
    thr = options.get('thrs', 0.)
    num_classes, pred, counted = scores.shape[1], scores.argmax(1), scores.max(1) > thr
    correct = np.bincount(gt[counted & (pred == gt)], minlength=num_classes)
    precision = correct / np.maximum(np.bincount(pred[counted], minlength=num_classes), 1) * 100
    recall = correct / np.maximum(np.bincount(gt, minlength=num_classes), 1) * 100
    f1_score = 2 * precision * recall / np.maximum(precision + recall, np.finfo(np.float32).eps)
    per_class = dict(precision=precision, recall=recall, f1_score=f1_score)
    return {name: float(per_class[name].mean()) for name in ('precision', 'recall', 'f1_score') if name in metrics}
