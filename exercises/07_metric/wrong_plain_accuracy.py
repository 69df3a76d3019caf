"""Wrong answer to exercise 07: the plain accuracy (every sample weighs the same)."""
import numpy as np


def balanced_accuracy(scores, labels):
    return float(100 * (np.asarray(scores).argmax(axis=1) == np.asarray(labels)).mean())
