"""Wrong answer to exercise 07: right, but a fraction (0.375) rather than percent (37.5)."""
import numpy as np


def balanced_accuracy(scores, labels):
    predicted = np.asarray(scores).argmax(axis=1)
    labels = np.asarray(labels)
    return float(np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)]))
