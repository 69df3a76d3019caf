"""Reference solution of exercise 07."""
import numpy as np


def balanced_accuracy(scores, labels):
    predicted = np.asarray(scores).argmax(axis=1)
    labels = np.asarray(labels)
    recalls = [(predicted[labels == c] == c).mean() for c in np.unique(labels)]
    return float(100 * np.mean(recalls))
