"""The confusion matrix of a test, as numbers and as a picture (mmpretrain:
tools/analysis_tools/confusion_matrix.py and evaluation/metrics ConfusionMatrix; mmcls 0.25
has neither).

    matrix = confusion_matrix(pred_labels, gt_labels, num_classes)   # matrix[true, predicted]
    fig = plot_confusion_matrix(matrix, classes, include_values=True)

Row i, column j counts the images of true class i predicted as class j, so the diagonal
holds the right ones, as mmpretrain's ConfusionMatrix.calculate counts them.
"""
import numpy as np
import torch

from extras.after_training.common import build_test_set, read_results


def confusion_matrix(pred_labels, gt_labels, num_classes):
    """(num_classes, num_classes) int64 counts; rows: the true class, columns: the predicted."""
    pred, gt = torch.as_tensor(pred_labels).long(), torch.as_tensor(gt_labels).long()
    counts = torch.bincount(num_classes * gt + pred, minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes)


def matrix_of(cfg, checkpoint_or_result):
    """(matrix, class names) of data.test: from a checkpoint (a .pth, as mmpretrain tells
    them apart), the model is run on data.test as tools/test.py runs it (testing.py);
    otherwise the file is the JSON of tools/test.py --out."""
    if checkpoint_or_result.endswith('.pth'):
        from extras.after_training.testing import test_checkpoint
        from extras.run.device import resolve_device
        dataset, outputs, _ = test_checkpoint(cfg, checkpoint_or_result,
                                              resolve_device(cfg.device))
        scores = np.vstack(outputs)
        pred, num_classes = scores.argmax(1), scores.shape[1]
    else:
        dataset = build_test_set(cfg)
        results = read_results(checkpoint_or_result, len(dataset))
        pred, num_classes = results['pred_label'], len(results['class_scores'][0])
    gt = torch.as_tensor(dataset.get_gt_labels())
    classes = list(dataset.CLASSES) if dataset.CLASSES else [str(i) for i in range(num_classes)]
    return confusion_matrix(pred, gt, num_classes), classes


def plot_confusion_matrix(matrix, classes, include_values=False, cmap='viridis', title=None):
    """mmpretrain's ConfusionMatrix.plot: true classes down, predicted across (ticks on top),
    a colour bar; with include_values, each count written in its cell."""
    from extras.after_training.common import pyplot
    plt = pyplot()
    n = matrix.shape[0]
    size = min(10, 2.5 + 0.45 * n)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix.numpy(), interpolation='nearest', cmap=cmap)
    if include_values:
        middle = (matrix.max() + matrix.min()).item() / 2
        for i in range(n):
            for j in range(n):
                value = int(matrix[i, j])
                colour = image.cmap(1.0) if value < middle else image.cmap(0)
                ax.text(j, i, str(value), ha='center', va='center', color=colour, fontsize=8)
    fig.colorbar(image, ax=ax)
    ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
           ylabel='True label', xlabel='Predicted label')
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position('top')
    ax.set_ylim(n - 0.5, -0.5)
    plt.setp(ax.get_xticklabels(), rotation=45, ha='left')
    if title:
        ax.set_title(title, fontsize=10, pad=12)
    fig.tight_layout()
    return fig
