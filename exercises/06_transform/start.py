"""Exercise 06: a new transform.

Write `RandomGrayscale(gray_prob)` in the style of data.py's transforms: with probability
`gray_prob` it replaces results['img'] (H x W x 3 uint8, RGB) by its luminance
0.299 R + 0.587 G + 0.114 B, rounded to uint8 and repeated in all 3 channels (so the
rest of the pipeline is unchanged); otherwise it leaves the image alone. Record the
decision in results['grayscale'] (True / False).

Draw the random number from np.random, as RandomFlip does. Why: the dataset seeds
`random` and `np.random` from the batch seed that DefaultSampler hands out, so a batch's
augmentation depends on (seed, epoch, batch) only, whichever worker makes it, and a
resumed run sees the same batches. torch's global generator is not seeded that way.

Read first: data.py (RandomFlip, Compose, PIPELINES, BaseDataset.__getitem__, DefaultSampler).
Check: python -m pytest -q exercises/06_transform
"""
import numpy as np  # noqa: F401


class RandomGrayscale:
    def __init__(self, gray_prob=0.1):
        self.gray_prob = gray_prob

    def __call__(self, results):
        return results
