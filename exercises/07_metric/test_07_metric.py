"""Checker of exercise 07: a case worked by hand, then random unbalanced sets."""
import numpy as np
import pytest

# class 0: 4 samples, 3 right; class 1: 1 sample, 0 right; class 2 never appears
SCORES = np.array([[.9, .1, 0], [.8, .2, 0], [.7, .3, 0], [.2, .8, 0], [.6, .4, 0]])
LABELS = np.array([0, 0, 0, 0, 1])


def test_balanced_accuracy_by_hand(impl):
    try:
        value = impl.balanced_accuracy(SCORES, LABELS)
    except NotImplementedError:
        pytest.fail('balanced_accuracy is not written yet', pytrace=False)
    expected = 100 * (3 / 4 + 0 / 1) / 2                                    # 37.5
    if value == pytest.approx(expected / 100):
        pytest.fail(f'{value} is a fraction: mmcls reports metrics in percent ({expected})', pytrace=False)
    if value == pytest.approx(60.0):
        pytest.fail('60.0 is the plain accuracy (3 of 5 right); balanced accuracy averages the per-class recalls: '
                    f'(3/4 + 0/1) / 2 = {expected}%', pytrace=False)
    if value == pytest.approx(100 * (3 / 4) / 3):
        pytest.fail('25.0 counts class 2 (absent from the labels) as recall 0; leave absent classes out of the '
                    f'mean: (3/4 + 0/1) / 2 = {expected}%', pytrace=False)
    assert value == pytest.approx(expected), f'balanced accuracy of the worked case: {value}, expected {expected}'
    assert impl.balanced_accuracy(np.eye(3), np.arange(3)) == pytest.approx(100.0)


def test_random_unbalanced_sets(impl):
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.choice(5, size=50, p=[.6, .2, .1, .1, 0])
        scores = rng.random((50, 5))
        predicted = scores.argmax(1)
        expected = 100 * np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)])
        value = impl.balanced_accuracy(scores, labels)
        counts = np.bincount(labels, minlength=5).tolist()
        assert value == pytest.approx(expected), f'class counts {counts}: balanced accuracy {value}, expected {expected}'
