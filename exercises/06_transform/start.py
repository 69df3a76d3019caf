"""Exercise 06: a new transform.

Write `RandomGrayscale(gray_prob)` in the style of transforms.py: with probability
`gray_prob` it replaces results['img'] (H x W x 3 uint8, RGB) by its luminance
0.299 R + 0.587 G + 0.114 B, rounded to uint8 and repeated in all 3 channels (so the
rest of the pipeline is unchanged); otherwise it leaves the image alone. Draw the
random number from np.random, as RandomFlip does (why? see data.py: worker_init_fn and
DefaultSampler's batch seeds). Record the decision in results['grayscale'].
"""
import numpy as np  # noqa: F401


class RandomGrayscale:
    def __init__(self, gray_prob=0.1):
        self.gray_prob = gray_prob

    def __call__(self, results):
        return results
