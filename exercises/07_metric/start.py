"""Exercise 07: a new metric.

On an unbalanced val set, accuracy hides a class the model never gets right. Write
`balanced_accuracy(scores, labels)`: the mean over classes of the per-class recall (the
fraction of that class's samples whose highest score is that class), in percent like
mmcls's metrics. `scores` is an (N, C) array (one row per sample, as the EvalHook's
results stacked), `labels` an (N,) int array. Classes absent from `labels` are left out
of the mean (mmcls's 'recall' with average_mode='macro' counts them as 0 instead).

Read first: data.py (BaseDataset.evaluate), extras/options/metrics.py (precision_recall_f1).
Check: python -m pytest -q exercises/07_metric
"""
import numpy as np  # noqa: F401


def balanced_accuracy(scores, labels):
    raise NotImplementedError
