"""Wrong answer to exercise 07: every class of the score matrix in the mean; absent ones count as 0."""
import numpy as np


def balanced_accuracy(scores, labels):
    scores, labels = np.asarray(scores), np.asarray(labels)
    predicted = scores.argmax(axis=1)
    recalls = [(predicted[labels == c] == c).mean() if (labels == c).any() else 0.0 for c in range(scores.shape[1])]
    return float(100 * np.mean(recalls))
