"""The metrics beyond plain accuracy (mmcls: core/evaluation/eval_metrics.py and
BaseDataset.evaluate): precision, recall, f1_score, support, several thresholds at once
(`thrs` a tuple) and per-class values (`average_mode='none'`).

`dataset.evaluate(results, metric=['precision', 'recall'])` comes here; data.py computes the
default (accuracy, one threshold, 'macro') itself. Keys, types and values are mmcls's:

    metric_options                      keys
    topk=(1, 5)                         accuracy_top-1, accuracy_top-5   (floats from float32)
    topk=1                              accuracy
    thrs=(0.0, 0.5)                     accuracy_top-1_thr_0.00, ..., precision_thr_0.50, ...
    average_mode='none'                 precision, recall, f1_score: float64 arrays, one value
                                        per class; support: int64 array (images per class)
"""
from numbers import Number

import numpy as np
import torch
from torch.nn.functional import one_hot

from model import accuracy
from config import ConfigError


def precision_recall_f1(scores, gt, average_mode='macro', thrs=0.):
    """[(precision, recall, f1_score) per threshold], in percent. mmcls: precision_recall_f1.

    The class with the best score is the prediction (torch.topk, ties as mmcls); it counts as
    positive only where its score is above the threshold (None: always)."""
    if average_mode not in ('macro', 'none'):
        raise ConfigError(f"average_mode {average_mode!r} is not supported; valid: 'macro', 'none'")
    num_classes = scores.shape[1]
    pred_score, pred_label = torch.topk(torch.from_numpy(scores), k=1)
    pred_score, pred_label = pred_score.flatten(), pred_label.flatten()
    gt_positive = one_hot(torch.from_numpy(gt).long().flatten(), num_classes)
    out = []
    for thr in thrs:
        pred_positive = one_hot(pred_label, num_classes)
        if thr is not None:
            pred_positive[pred_score <= thr] = 0
        class_correct = (pred_positive & gt_positive).sum(0)
        # mmcls divides by np.maximum(counts, 1.): float64
        precision = class_correct / pred_positive.sum(0).double().clamp(min=1.) * 100
        recall = class_correct / gt_positive.sum(0).double().clamp(min=1.) * 100
        f1_score = 2 * precision * recall / (precision + recall).clamp(min=torch.finfo(torch.float32).eps)
        values = (precision, recall, f1_score)
        out.append([float(v.mean()) if average_mode == 'macro' else v.numpy() for v in values])
    return out


def support(gt, num_classes, average_mode='macro'):
    """Images per class: their total as a float ('macro', mmcls's 'sum'), or an int64 array."""
    if average_mode not in ('macro', 'none'):
        raise ConfigError(f"average_mode {average_mode!r} is not supported; valid: 'macro', 'none'")
    counts = np.bincount(gt, minlength=num_classes).astype(np.int64)   # mmcls: the confusion matrix's row sums
    return float(counts.sum()) if average_mode == 'macro' else counts


def evaluate_metrics(scores, gt, metrics, options):
    """mmcls: BaseDataset.evaluate, from its `results = np.vstack(results)` on."""
    topk, thrs = options.get('topk', (1, 5)), options.get('thrs')
    thrs = tuple(thrs) if isinstance(thrs, list) else thrs   # a tuple after a JSON round trip
    average_mode = options.get('average_mode', 'macro')
    if thrs is not None and not isinstance(thrs, (Number, tuple)):
        raise ConfigError(f'metric_options thrs should be a number or tuple, but got {type(thrs).__name__}')
    thr_list = thrs if isinstance(thrs, tuple) else (0. if thrs is None else thrs,)
    names = (lambda key: [f'{key}_thr_{thr:.2f}' for thr in thr_list]) if isinstance(thrs, tuple) \
        else (lambda key: [key])
    eval_results = {}
    if 'accuracy' in metrics:
        ks = (topk,) if isinstance(topk, int) else tuple(topk)
        pred, target = torch.from_numpy(scores), torch.from_numpy(gt)
        # [thr][k], floats as mmcls's .item()
        per_thr = [[float(a) for a in accuracy(pred, target, ks, thr)] for thr in thr_list]
        for i, k in enumerate(ks):
            key = 'accuracy' if isinstance(topk, int) else f'accuracy_top-{k}'
            eval_results.update(zip(names(key), (accs[i] for accs in per_thr)))
    if 'support' in metrics:                  # thresholds do not apply
        eval_results['support'] = support(gt, scores.shape[1], average_mode)
    if {'precision', 'recall', 'f1_score'} & set(metrics):
        per_thr = precision_recall_f1(scores, gt, average_mode, thr_list)
        for i, key in enumerate(('precision', 'recall', 'f1_score')):
            if key in metrics:
                eval_results.update(zip(names(key), (values[i] for values in per_thr)))
    return eval_results
