import numpy as np

from transforms import Compose


def test_grayscale_always_never_and_in_a_pipeline(impl):
    img = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    out = impl.RandomGrayscale(1.0)({'img': img.copy()})
    expected = np.rint(img.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    assert out['grayscale'] is True and out['img'].shape == (4, 5, 3) and out['img'].dtype == np.uint8
    assert np.abs(out['img'][..., 0].astype(int) - expected).max() <= 1
    assert (out['img'][..., 0] == out['img'][..., 1]).all() and (out['img'][..., 1] == out['img'][..., 2]).all()
    same = impl.RandomGrayscale(0.0)({'img': img.copy()})
    assert same['grayscale'] is False and (same['img'] == img).all()
    pipeline = Compose([impl.RandomGrayscale(1.0), dict(type='ImageToTensor', keys=['img'])])
    assert tuple(pipeline({'img': img.copy()})['img'].shape) == (3, 4, 5)
    np.random.seed(0)
    decisions = [impl.RandomGrayscale(0.5)({'img': img.copy()})['grayscale'] for _ in range(200)]
    assert 60 < sum(decisions) < 140
