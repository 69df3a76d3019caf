"""Wrong answer to exercise 06: the mean of the three channels, not the luminance."""
import numpy as np


class RandomGrayscale:
    def __init__(self, gray_prob=0.1):
        self.gray_prob = gray_prob

    def __call__(self, results):
        results['grayscale'] = bool(np.random.rand() < self.gray_prob)
        if results['grayscale']:
            gray = np.rint(results['img'].mean(axis=2)).astype(np.uint8)
            results['img'] = np.repeat(gray[..., None], 3, axis=2)
        return results
