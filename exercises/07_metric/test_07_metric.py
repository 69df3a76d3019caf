import numpy as np
import pytest


def test_balanced_accuracy_by_hand(impl):
    # class 0: 4 samples, 3 right; class 1: 1 sample, 0 right; class 2 never appears
    scores = np.array([[.9, .1, 0], [.8, .2, 0], [.7, .3, 0], [.2, .8, 0], [.6, .4, 0]])
    labels = np.array([0, 0, 0, 0, 1])
    assert impl.balanced_accuracy(scores, labels) == pytest.approx(100 * (3 / 4 + 0 / 1) / 2)   # 37.5
    assert impl.balanced_accuracy(np.eye(3), np.arange(3)) == pytest.approx(100.0)
