"""Checker of exercise 06: the transform alone, in a Compose pipeline, and its randomness
under the batch seeds (np.random seeded the way BaseDataset.__getitem__ does)."""
import numpy as np
import pytest
import torch

from data import Compose

IMG = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
LUMA = np.rint(IMG.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)


def test_always_and_never(impl):
    out = impl.RandomGrayscale(1.0)({'img': IMG.copy()})
    assert out.get('grayscale') is True, f"gray_prob=1.0: results['grayscale'] is {out.get('grayscale')!r}, not True"
    img = out['img']
    assert img.shape == (4, 5, 3), (f'the gray image has shape {img.shape}; keep H x W x 3 (the same value in '
                                    'all 3 channels), so that the rest of the pipeline is unchanged')
    assert img.dtype == np.uint8, f'the gray image is {img.dtype}; keep uint8'
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all(), 'the 3 channels differ'
    error = np.abs(img[..., 0].astype(int) - LUMA).max()
    mean = np.rint(IMG.mean(axis=2)).astype(int)
    if error > 1 and np.abs(img[..., 0].astype(int) - mean).max() <= 1:
        pytest.fail('your gray is the mean of R, G and B; luminance weighs them 0.299 R + 0.587 G + 0.114 B '
                    '(the eye is most sensitive to green)', pytrace=False)
    assert error <= 1, f'the gray values are off by up to {error} from 0.299 R + 0.587 G + 0.114 B'
    same = impl.RandomGrayscale(0.0)({'img': IMG.copy()})
    assert same.get('grayscale') is False and (same['img'] == IMG).all(), 'gray_prob=0: leave the image alone'


def test_in_a_pipeline(impl):
    pipeline = Compose([impl.RandomGrayscale(1.0), dict(type='ImageToTensor', keys=['img'])])
    shape = tuple(pipeline({'img': IMG.copy()})['img'].shape)
    assert shape == (3, 4, 5), f'after ImageToTensor the image has shape {shape}, not (3, 4, 5): keep 3 channels'


def test_the_batch_seed_decides(impl):
    """As BaseDataset.__getitem__ with (index, batch_seed): np.random and random are seeded, then
    the pipeline runs. The same seed must give the same decisions, in any process state."""
    def decisions(batch_seed, torch_state):
        torch.manual_seed(torch_state)         # another worker, another history
        np.random.seed(batch_seed)
        return [impl.RandomGrayscale(0.5)({'img': IMG.copy()})['grayscale'] for _ in range(200)]
    first, again = decisions(7, 0), decisions(7, 1)
    assert 60 < sum(first) < 140, f'gray_prob=0.5 made {sum(first)} of 200 images gray'
    assert first == again, ('with the same batch seed the decisions changed: draw the random number from '
                            'np.random (seeded by the batch seed), not from torch or another generator')
