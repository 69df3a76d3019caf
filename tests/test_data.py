"""Tests of data.py: the CIFAR readers on tiny trees in the real format, the synthetic demo
dataset, each transform, the builders and evaluate. No network: the download is patched."""
import hashlib
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import data  # noqa: E402
from extras.options import batched_transforms  # noqa: E402
from extras.demos import demo_data  # noqa: E402
import data as transforms  # noqa: E402  (the per-image transforms live in data.py)
from config import DatasetConfig, test_pipeline, train_pipeline  # noqa: E402


def md5_of(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def write_pickle(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def write_tiny_cifar10(root, sizes=(6, 4), n_test=5):
    """A cifar-10-batches-py tree with len(sizes) training batches; returns the CHW images and labels."""
    rng = np.random.default_rng(0)
    names = [f'data_batch_{i + 1}' for i in range(len(sizes))] + ['test_batch']
    content = {}
    for name, n in zip(names, list(sizes) + [n_test]):
        imgs = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        write_pickle(os.path.join(root, 'cifar-10-batches-py', name),
                     {'batch_label': name, 'labels': labels, 'data': imgs.reshape(n, 3072),
                      'filenames': [f'{i}.png' for i in range(n)]})
        content[name] = (imgs, labels)
    label_names = [f'class{i}' for i in range(10)]
    write_pickle(os.path.join(root, 'cifar-10-batches-py', 'batches.meta'),
                 {'num_cases_per_batch': 6, 'label_names': label_names, 'num_vis': 3072})
    return content


def tiny_cifar10_class(root, num_train_batches=2):
    """CIFAR10 with the md5s of the tiny tree instead of the official ones."""
    folder = os.path.join(root, 'cifar-10-batches-py')
    return type('TinyCIFAR10', (data.CIFAR10,), dict(
        train_list=[(f'data_batch_{i + 1}', md5_of(os.path.join(folder, f'data_batch_{i + 1}')))
                    for i in range(num_train_batches)],
        test_list=[('test_batch', md5_of(os.path.join(folder, 'test_batch')))],
        meta=dict(filename='batches.meta', key='label_names', md5=md5_of(os.path.join(folder, 'batches.meta')))))


class SmallSynthetic(demo_data.SyntheticCIFAR10):
    num_train_batches = 2
    batch_size = 50
    num_test = 30


@pytest.fixture(scope='module')
def small_synthetic(tmp_path_factory):
    return str(tmp_path_factory.mktemp('synthetic'))


def no_download(*args, **kwargs):
    raise OSError('<urlopen error [Errno -3] Temporary failure in name resolution>')


# ---- CIFAR readers ----------------------------------------------------------------------

def test_cifar10_reads_the_real_format(tmp_path):
    content = write_tiny_cifar10(tmp_path)
    cls = tiny_cifar10_class(tmp_path)
    train = cls(tmp_path, pipeline=[])
    assert len(train) == 10
    expected = np.concatenate([content['data_batch_1'][0], content['data_batch_2'][0]]).transpose(0, 2, 3, 1)
    imgs = np.stack([info['img'] for info in train.data_infos])
    assert imgs.dtype == np.uint8 and imgs.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(imgs, expected)  # channel-major rows -> HWC images
    labels = content['data_batch_1'][1] + content['data_batch_2'][1]
    np.testing.assert_array_equal(train.get_gt_labels(), labels)
    assert train.CLASSES == [f'class{i}' for i in range(10)]  # read from batches.meta
    item = train[3]
    np.testing.assert_array_equal(item['img'], expected[3])
    assert item['gt_label'] == labels[3] and item['gt_label'].dtype == np.int64

    test = cls(tmp_path, pipeline=test_pipeline, test_mode=True)
    assert len(test) == 5
    assert test[0]['img'].shape == (3, 32, 32) and test[0]['img'].dtype == torch.float32
    assert 'number of samples: 5' in repr(test)


def test_official_md5s_reject_other_files(tmp_path):
    write_tiny_cifar10(tmp_path, sizes=(2,) * 5)
    with pytest.raises(data.DatasetError, match='data_batch_1.*corrupt'):
        data.CIFAR10(tmp_path, pipeline=[])


def test_corrupt_or_truncated_file_is_named(tmp_path):
    write_tiny_cifar10(tmp_path)
    cls = tiny_cifar10_class(tmp_path)
    path = os.path.join(tmp_path, 'cifar-10-batches-py', 'data_batch_2')
    raw = bytearray(open(path, 'rb').read())
    raw[100] ^= 0xFF
    open(path, 'wb').write(raw)
    with pytest.raises(data.DatasetError, match='data_batch_2') as e:
        cls(tmp_path, pipeline=[])
    assert data.CIFAR10.url in str(e.value)
    test_path = os.path.join(tmp_path, 'cifar-10-batches-py', 'test_batch')
    open(test_path, 'r+b').truncate(1000)
    with pytest.raises(data.DatasetError, match='test_batch'):
        cls(tmp_path, pipeline=[], test_mode=True)


def test_missing_dataset_and_no_network(tmp_path, monkeypatch):
    import torchvision.datasets.utils      # data.py imports it only when a download is needed
    monkeypatch.setattr(torchvision.datasets.utils, 'download_and_extract_archive', no_download)
    prefix = tmp_path / 'cifar10'
    with pytest.raises(data.DatasetError) as e:
        data.CIFAR10(prefix, pipeline=[])
    message = str(e.value)
    assert os.path.join(str(prefix), 'cifar-10-batches-py') in message and data.CIFAR10.url in message
    assert 'data_batch_1' in message and 'name resolution' in message
    with pytest.raises(data.DatasetError, match='cifar-100-python.tar.gz'):
        data.CIFAR100(prefix, pipeline=[])


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (8, 3072), dtype=np.uint8)
    fine, coarse = list(range(90, 98)), [1] * 8
    for name, rows in (('train', slice(0, 5)), ('test', slice(5, 8))):
        write_pickle(str(folder / name), {'filenames': ['x.png'] * len(fine[rows]), 'batch_label': name,
                                          'fine_labels': fine[rows], 'coarse_labels': coarse[rows],
                                          'data': imgs[rows]})
    names = [f'fine{i}' for i in range(100)]
    write_pickle(str(folder / 'meta'), {'fine_label_names': names, 'coarse_label_names': ['c'] * 20})
    cls = type('TinyCIFAR100', (data.CIFAR100,), dict(
        train_list=[('train', md5_of(folder / 'train'))], test_list=[('test', md5_of(folder / 'test'))],
        meta=dict(filename='meta', key='fine_label_names', md5=md5_of(folder / 'meta'))))
    train, test = cls(tmp_path, []), cls(tmp_path, [], test_mode=True)
    assert train.get_gt_labels().tolist() == [90, 91, 92, 93, 94] and test.get_gt_labels().tolist() == [95, 96, 97]
    assert train.CLASSES == names
    np.testing.assert_array_equal(test[2]['img'], imgs[7].reshape(3, 32, 32).transpose(1, 2, 0))
    assert len(data.CIFAR100.CLASSES) == 100


# ---- The synthetic demo dataset ------------------------------------------------------------

def test_synthetic_is_deterministic_and_in_the_real_format(tmp_path):
    a, b = SmallSynthetic(tmp_path / 'a', []), SmallSynthetic(tmp_path / 'b', [])
    sums = [open(os.path.join(d.folder, 'md5sums.txt')).read() for d in (a, b)]
    assert sums[0] == sums[1] and 'data_batch_2' in sums[0]
    for name in ('data_batch_1', 'data_batch_2', 'test_batch', 'batches.meta'):
        assert md5_of(os.path.join(a.folder, name)) == md5_of(os.path.join(b.folder, name))
    assert not [f for f in os.listdir(a.folder) if f.startswith('.tmp')]
    with open(os.path.join(a.folder, 'data_batch_1'), 'rb') as f:
        entry = pickle.load(f, encoding='latin1')  # as mmcls and torchvision read CIFAR
    assert set(entry) == {'batch_label', 'labels', 'data', 'filenames'}
    assert entry['data'].dtype == np.uint8 and entry['data'].shape == (50, 3072)
    assert entry['batch_label'] == 'training batch 1 of 2' and len(entry['filenames']) == 50
    with open(os.path.join(a.folder, 'batches.meta'), 'rb') as f:
        assert pickle.load(f, encoding='latin1')['label_names'] == demo_data.SyntheticCIFAR10.CLASSES


def test_synthetic_reads_back_what_was_generated(tmp_path):
    train, test = SmallSynthetic(tmp_path, []), SmallSynthetic(tmp_path, [], test_mode=True)
    rng = np.random.default_rng(SmallSynthetic.seed)
    for dataset, n in ((train, 100), (test, 30)):
        rows, labels = demo_data.synthesize(n, rng)
        assert len(dataset) == n
        np.testing.assert_array_equal(dataset.get_gt_labels(), labels)
        imgs = np.stack([info['img'] for info in dataset.data_infos])
        np.testing.assert_array_equal(imgs, rows.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
        assert imgs.dtype == np.uint8
        assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10  # balanced
    assert imgs.std() > 20  # not a blank image


def test_synthetic_rewrites_on_new_settings_and_reports_corruption(tmp_path, monkeypatch):
    SmallSynthetic(tmp_path, [])
    monkeypatch.setattr(SmallSynthetic, 'num_train_batches', 1)
    assert len(SmallSynthetic(tmp_path, [])) == 50
    path = os.path.join(tmp_path, 'cifar-10-batches-py', 'data_batch_1')
    open(path, 'r+b').truncate(500)
    with pytest.raises(data.DatasetError, match='data_batch_1.*Delete'):
        SmallSynthetic(tmp_path, [])


# ---- Transforms ------------------------------------------------------------------------------

def image(h=6, w=5, c=3):
    return (np.arange(h * w * c).reshape(h, w, c) % 250 + 1).astype(np.uint8)  # no zero pixels


def test_random_crop_with_padding_is_a_shifted_window():
    img = image()
    crop = transforms.RandomCrop(size=(6, 5), padding=2)
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)))
    seen = set()
    for seed in range(40):
        data.random.seed(seed)
        out = crop({'img': img})['img']
        assert out.shape == img.shape and out.dtype == np.uint8
        windows = [(y, x) for y in range(5) for x in range(5)
                   if np.array_equal(padded[y:y + 6, x:x + 5], out)]
        assert windows, 'not a window of the zero-padded image'
        seen.add(windows[0])
    assert len(seen) > 10  # the offset is random
    assert crop({'img': img})['img'] is not img


def test_random_crop_padding_variants():
    img = image()
    out = transforms.RandomCrop(size=10, pad_if_needed=True, pad_val=(0, 200, 0))({'img': img})['img']
    assert out.shape == (10, 10, 3)
    pad_pixels = out.reshape(-1, 3)[out.reshape(-1, 3)[:, 0] == 0]  # the image has no zeros
    assert len(pad_pixels) >= 70 and (pad_pixels == (0, 200, 0)).all()
    out = transforms.RandomCrop(size=4, padding=(1, 0, 0, 0), padding_mode='reflect')({'img': img})['img']
    padded = np.pad(img, ((0, 0), (1, 0), (0, 0)), mode='reflect')
    assert any(np.array_equal(padded[y:y + 4, x:x + 4], out) for y in range(3) for x in range(3))
    assert np.array_equal(transforms.RandomCrop(size=(6, 5))({'img': img})['img'], img)
    with pytest.raises(ValueError, match='padding_mode'):
        transforms.RandomCrop(size=4, padding_mode='wrap')


def test_random_flip():
    img = image()
    out = transforms.RandomFlip(flip_prob=1.0)({'img': img})
    assert np.array_equal(out['img'], img[:, ::-1]) and out['flip'] and out['flip_direction'] == 'horizontal'
    assert np.array_equal(transforms.RandomFlip(1.0, 'vertical')({'img': img})['img'], img[::-1])
    out = transforms.RandomFlip(flip_prob=0.0)({'img': img})
    assert out['img'] is img and not out['flip']
    with pytest.raises(ValueError, match='direction'):
        transforms.RandomFlip(direction='diagonal')


def test_flip_and_normalize_act_on_every_img_field():
    """mmcls 0.25: RandomFlip and Normalize act on each key of results['img_fields'], the
    batched ones too (the same flip for an image and its twin)."""
    img, other = image(), image()[::-1].copy()
    norm = dict(mean=[1, 2, 3], std=[1, 2, 4], to_rgb=True)
    pipeline = [transforms.RandomFlip(flip_prob=1.0), transforms.Normalize(**norm)]
    results = {'img': img, 'img2': other, 'mask': img, 'img_fields': ['img', 'img2']}
    for t in pipeline:
        results = t(results)
    for key, source in (('img', img), ('img2', other)):
        expected = (source[:, ::-1, ::-1].astype(np.float32) - [1, 2, 3]) / [1, 2, 4]
        np.testing.assert_allclose(results[key], expected, rtol=1e-6)
    assert results['mask'] is img                            # not an img_field: untouched
    np.random.seed(0)
    batch = np.random.randint(0, 256, (20, 6, 5, 3)).astype(np.uint8)
    results = {'img': batch.copy(), 'img2': batch.copy(), 'img_fields': ['img', 'img2']}
    batched = transforms.Compose([dict(type='RandomFlip'), dict(type='Normalize', **norm)],
                                 batched=True)(results)
    assert 0 < results['flip'].sum() < 20 and np.array_equal(batched['img'], batched['img2'])
    one = transforms.Normalize(**norm)({'img': batch[0][:, ::-1] if results['flip'][0] else batch[0]})
    np.testing.assert_array_equal(batched['img2'][0], one['img'])


def test_normalize_swaps_channels_before_subtracting_the_mean():
    img = np.empty((2, 2, 3), np.uint8)
    img[...] = (10, 20, 30)
    out = transforms.Normalize(mean=[1, 2, 3], std=[1, 2, 4], to_rgb=True)({'img': img})
    assert out['img'].dtype == np.float32
    np.testing.assert_allclose(out['img'][0, 0], [(30 - 1) / 1, (20 - 2) / 2, (10 - 3) / 4], rtol=1e-6)
    out = transforms.Normalize(mean=[1, 2, 3], std=[1, 2, 4], to_rgb=False)({'img': img})
    np.testing.assert_allclose(out['img'][1, 1], [9, 9, 27 / 4], rtol=1e-6)
    cfg = dict(mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255], to_rgb=True)
    img = image(32, 32)
    expected = (img[..., ::-1].astype(np.float64) - cfg['mean']) / cfg['std']
    np.testing.assert_allclose(transforms.Normalize(**cfg)({'img': img})['img'], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(transforms.Normalize(**cfg)({'img': img[:4]})['img'], expected[:4], rtol=1e-5, atol=1e-5)


def test_to_tensor_and_collect():
    img = image()
    out = transforms.ImageToTensor(keys=['img'])({'img': img[:, ::-1]})['img']
    assert isinstance(out, torch.Tensor) and out.shape == (3, 6, 5)
    assert torch.equal(out, torch.from_numpy(img[:, ::-1].transpose(2, 0, 1).copy()))
    assert transforms.ImageToTensor(keys=['img'])({'img': img[..., 0]})['img'].shape == (1, 6, 5)
    out = transforms.ToTensor(keys=['gt_label', 'n'])({'gt_label': np.array(3, dtype=np.int64), 'n': 4})
    assert out['gt_label'].dtype == torch.int64 and out['gt_label'].shape == () and out['n'].tolist() == [4]
    results = {'img': 1, 'gt_label': 2, 'flip': True, 'img_norm_cfg': {}}
    assert transforms.Collect(keys=['img', 'gt_label'])(dict(results)) == {'img': 1, 'gt_label': 2}
    collected = transforms.Collect(keys=['img'], meta_keys=('flip', 'filename'))(dict(results))
    assert collected == {'img': 1, 'img_metas': {'flip': True}}


def test_compose_builds_from_dicts_and_names_errors():
    pipeline = transforms.Compose(train_pipeline)
    out = pipeline({'img': image(32, 32), 'gt_label': np.array(5, dtype=np.int64)})
    assert set(out) == {'img', 'gt_label'} and out['img'].shape == (3, 32, 32) and out['gt_label'] == 5
    assert 'RandomCrop(size=(32, 32), padding=4)' in repr(pipeline)
    with pytest.raises(ValueError, match='RandomRotate.*valid: RandomCrop, RandomFlip, Normalize'):
        transforms.Compose([dict(type='RandomRotate', angle=3)])
    with pytest.raises(ValueError, match="RandomCrop.*'sise'"):
        transforms.Compose([dict(type='RandomCrop', sise=32)])
    with pytest.raises(ValueError, match=r"Normalize: unknown arguments \[\], missing arguments \['std'\]"):
        transforms.Compose([dict(type='Normalize', mean=[0, 0, 0])])


# ---- Builders ------------------------------------------------------------------------------

def test_build_dataset(small_synthetic, monkeypatch):
    monkeypatch.setitem(data.DATASETS, 'SmallSynthetic', SmallSynthetic)
    dataset = data.build_dataset(DatasetConfig(type='SmallSynthetic', data_prefix=small_synthetic,
                                               pipeline=test_pipeline, test_mode=True))
    assert isinstance(dataset, SmallSynthetic) and len(dataset) == 30 and dataset.test_mode
    assert isinstance(dataset.pipeline.transforms[0], transforms.Normalize)
    with pytest.raises(ValueError, match="type='CIFAR1000'.*valid: CIFAR10, CIFAR100, SyntheticCIFAR10"):
        data.build_dataset(DatasetConfig(type='CIFAR1000'))


def test_dataloader_batches(small_synthetic):
    dataset = SmallSynthetic(small_synthetic, train_pipeline)
    batches = list(data.build_dataloader(dataset, samples_per_gpu=32, workers_per_gpu=0))
    assert [len(b['gt_label']) for b in batches] == [32, 32, 32, 4]
    assert batches[0]['img'].shape == (32, 3, 32, 32) and batches[0]['img'].dtype == torch.float32
    assert batches[0]['gt_label'].dtype == torch.int64 and set(batches[0]) == {'img', 'gt_label'}
    loader = data.build_dataloader(dataset, samples_per_gpu=32, workers_per_gpu=0, num_gpus=2)
    assert loader.batch_size == 64 and len(loader) == 2


class Indices(torch.utils.data.Dataset):
    def __len__(self):
        return 50

    def __getitem__(self, idx):
        return {'idx': torch.tensor(idx)}


def order(loader):
    return torch.cat([b['idx'] for b in loader]).tolist()


def test_shuffle_order_follows_the_seed():
    first = order(data.build_dataloader(Indices(), 8, 0, seed=1))
    assert first == order(data.build_dataloader(Indices(), 8, 0, seed=1))
    assert first != order(data.build_dataloader(Indices(), 8, 0, seed=2))
    assert sorted(first) == list(range(50)) and first != list(range(50))
    assert order(data.build_dataloader(Indices(), 8, 0, shuffle=False)) == list(range(50))


def test_a_seed_near_2_to_the_32_works_with_loader_workers():
    # worker seed = seed + worker_id (+ rank): np.random.seed takes only seeds < 2**32
    loader = data.build_dataloader(Indices(), 8, 2, seed=2 ** 32 - 1)   # worker 1: 2**32
    assert sorted(order(loader)) == list(range(50))


def test_worker_seeding_makes_augmentations_reproducible(small_synthetic):
    dataset = SmallSynthetic(small_synthetic, train_pipeline)

    def two_epochs(seed, workers=2):
        loader = data.build_dataloader(dataset, samples_per_gpu=25, workers_per_gpu=workers, seed=seed)
        epochs = []
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)       # what DistSamplerSeedHook does
            epochs.append(torch.cat([b['img'] for b in loader]))
        return epochs

    run1, run2, other = two_epochs(0), two_epochs(0), two_epochs(1)
    assert torch.equal(run1[0], run2[0]) and torch.equal(run1[1], run2[1])
    assert not torch.equal(run1[0], other[0])
    assert not torch.equal(run1[0], run1[1])  # each epoch shuffles and augments anew
    # batch seeds: the same batches whichever process makes them
    no_workers = two_epochs(0, workers=0)
    assert torch.equal(run1[0], no_workers[0]) and torch.equal(run1[1], no_workers[1])


def test_batched_pipeline_gives_each_image_a_valid_crop_and_flip(small_synthetic):
    """batched=True: every image of a batch equals the per-image pipeline's output for one of
    the 9 x 9 crop offsets and a flip or not; offsets and flips differ between images."""
    per_image = SmallSynthetic(small_synthetic, train_pipeline)
    batched = SmallSynthetic(small_synthetic, train_pipeline, batched=True)
    loader = data.build_dataloader(batched, samples_per_gpu=100, workers_per_gpu=0, shuffle=False)
    batch = next(iter(loader))
    assert batch['img'].shape == (100, 3, 32, 32) and batch['img'].dtype == torch.float32
    assert set(batch) == {'img', 'gt_label'} and batch['gt_label'].dtype == torch.int64
    assert torch.equal(batch['gt_label'], torch.from_numpy(per_image.get_gt_labels()))
    norm = transforms.Compose(train_pipeline[2:])           # Normalize, ImageToTensor, ToTensor, Collect
    drawn = []
    for i in range(100):
        padded = np.pad(per_image.data_infos[i]['img'], ((4, 4), (4, 4), (0, 0)))
        matches = [(y, x, flip) for y in range(9) for x in range(9) for flip in (False, True)
                   if torch.equal(batch['img'][i], norm(dict(
                       img=padded[y:y + 32, x:x + 32][:, ::-1] if flip else padded[y:y + 32, x:x + 32],
                       gt_label=np.array(0)))["img"])]
        assert matches, f'image {i} is no crop/flip of its source'
        drawn.append(matches[0])
    assert len({(y, x) for y, x, _ in drawn}) > 30 and 20 < sum(f for _, _, f in drawn) < 80


def test_batched_crop_and_flip_draw_as_the_per_image_ones():
    """On an image whose pixels hold their own row and column, the offsets (0..8) and flips
    that the batched transforms draw are uniform and 50 %, as the per-image ones."""
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0], img[..., 1] = np.arange(1, 33)[:, None], np.arange(1, 33)[None, :]
    pipeline = train_pipeline[:2]                            # RandomCrop 32 pad 4, RandomFlip 0.5

    def drawn(out):                                          # the centre pixel is always inside the image
        flip = out[16, 17, 1] < out[16, 16, 1]
        return out[16, 16, 0] - 13, out[16, 16, 1] - (12 if flip else 13), flip
    np.random.seed(0)
    batched = transforms.Compose(pipeline, batched=True)
    draws = np.array([drawn(o) for _ in range(45) for o in batched({'img': np.repeat(img[None], 100, 0)})['img']])
    single = transforms.Compose(pipeline)
    draws_single = np.array([drawn(single({'img': img})['img']) for _ in range(4500)])
    for d in (draws, draws_single):
        assert d[:, 0].min() == d[:, 1].min() == 0 and d[:, 0].max() == d[:, 1].max() == 8
        for axis in (0, 1):                                  # 500 expected per offset; sd about 21
            assert np.all(np.abs(np.bincount(d[:, axis], minlength=9) - 500) < 100)
        assert 0.45 < d[:, 2].mean() < 0.55


def test_batched_pipeline_without_randomness_equals_per_image(small_synthetic):
    pipeline = [dict(type='RandomCrop', size=32, padding=0), dict(type='RandomFlip', flip_prob=1.0)] + \
        train_pipeline[2:]
    loaders = [data.build_dataloader(SmallSynthetic(small_synthetic, pipeline, batched=b), 32, 0, shuffle=False)
               for b in (False, True)]
    for a, b in zip(*loaders):
        assert torch.equal(a['img'], b['img']) and torch.equal(a['gt_label'], b['gt_label'])
    for name in test_pipeline:                               # the test pipeline runs batched as well
        assert name['type'] in data.BATCH_PIPELINES
    with pytest.raises(ValueError, match='batched pipeline takes padding and pad_val only'):
        transforms.Compose([dict(type='RandomCrop', size=32, padding=4, padding_mode='edge')], batched=True)
    with pytest.raises(ValueError, match=r'padded image \(36x36\) is smaller than size \(40, 40\)'):
        transforms.Compose([dict(type='RandomCrop', size=40, padding=2)], batched=True)(
            {'img': np.zeros((2, 32, 32, 3), np.uint8)})


def test_batched_pipeline_is_reproducible_with_any_number_of_workers(small_synthetic):
    dataset = SmallSynthetic(small_synthetic, train_pipeline, batched=True)

    def epoch(workers, seed=0):
        loader = data.build_dataloader(dataset, samples_per_gpu=25, workers_per_gpu=workers, seed=seed)
        return torch.cat([b['img'] for b in loader])
    assert torch.equal(epoch(0), epoch(2)) and not torch.equal(epoch(0), epoch(0, seed=1))


def test_sampler_epoch_order_and_skip_for_mid_epoch_resume():
    sampler = data.DefaultSampler(10, batch_size=4, shuffle=True, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    assert sorted(i for i, _ in full) == list(range(10))
    assert [s is not None for _, s in full] == [True, False, False, False] * 2 + [True, False]
    sampler.skip_batches = 1                  # resume after the first batch of the epoch
    assert list(sampler) == full[4:] and list(sampler) == full    # skipping lasts one epoch
    sampler.set_epoch(3)
    assert list(sampler) != full
    ranks = [list(data.DefaultSampler(10, 2, True, 3, num_replicas=3, rank=r)) for r in range(3)]
    assert [len(r) for r in ranks] == [4, 4, 4]                   # round_up pads 10 to 12
    assert {i for r in ranks for i, _ in r} == set(range(10))


def test_no_two_seed_epoch_pairs_share_a_stream():
    # with seed + epoch, seed s's epoch e + 1 would be seed s + 1's epoch e
    def epoch(seed, e):
        sampler = data.DefaultSampler(100, batch_size=10, seed=seed)
        sampler.set_epoch(e)
        return list(sampler)
    assert epoch(0, 1) != epoch(1, 0) and epoch(5, 3) != epoch(6, 2) and epoch(0, 0) != epoch(0, 1)
    assert epoch(7, 4) == epoch(7, 4)
    assert len({data.epoch_seed(s, e) for s in range(20) for e in range(20)}) == 400


def test_worker_init_fn_seeds_every_generator():
    handlers = {s: data.signal.getsignal(s) for s in (data.signal.SIGINT, data.signal.SIGHUP)}
    data.worker_init_fn(1, num_workers=2, rank=3, seed=10)  # 2 * 3 + 1 + 10 = 17
    assert all(data.signal.getsignal(s) == data.signal.SIG_IGN for s in handlers)
    for s, handler in handlers.items():                     # this process is not a worker
        data.signal.signal(s, handler)
    values = np.random.rand(), data.random.random(), torch.rand(1).item()
    np.random.seed(17)
    data.random.seed(17)
    torch.manual_seed(17)
    assert values == (np.random.rand(), data.random.random(), torch.rand(1).item())


def test_distributed_sampler_round_up():
    def shares(**kw):
        return [list(data.DefaultSampler(50, 8, num_replicas=3, rank=rank, batch_seeds=False, **kw))
                for rank in range(3)]
    rounded = shares(shuffle=True, seed=0)
    assert [len(s) for s in rounded] == [17, 17, 17] and set(sum(rounded, [])) == set(range(50))
    exact = shares(round_up=False)
    assert [len(s) for s in exact] == [17, 17, 16] and sorted(sum(exact, [])) == list(range(50))
    loader = data.build_dataloader(Indices(), 8, 0, dist=True, seed=0)  # no process group: rank 0 of 1
    assert isinstance(loader.sampler, data.DefaultSampler) and sorted(order(loader)) == list(range(50))


# ---- evaluate ------------------------------------------------------------------------------

def labelled(labels):
    dataset = data.CIFAR10.__new__(data.CIFAR10)  # evaluate needs only the labels
    dataset.data_infos = [{'gt_label': np.array(label, dtype=np.int64)} for label in labels]
    return dataset


def test_evaluate_accuracy():
    scores = np.array([[.50, .20, .10, .05, .05, .05, .05],   # gt 0: top-1
                       [.10, .20, .30, .25, .05, .05, .05],   # gt 3: 2nd -> top-5
                       [.01, .05, .05, .10, .15, .20, .40],   # gt 0: last -> miss
                       [.10, .60, .10, .05, .05, .05, .05]])  # gt 1: top-1
    dataset = labelled([0, 3, 0, 1])
    results = dataset.evaluate([scores[:2], scores[2:]])  # a list of batches, as the eval hook gives
    assert results == {'accuracy_top-1': 50.0, 'accuracy_top-5': 75.0}
    assert dataset.evaluate(scores, metric_options={'topk': [1, 2]}) == {'accuracy_top-1': 50.0,
                                                                         'accuracy_top-2': 75.0}
    assert dataset.evaluate(scores, metric_options={'topk': 1}) == {'accuracy': 50.0}
    with pytest.raises(ValueError, match="'mAP'.*valid: accuracy, precision, recall, f1_score"):
        dataset.evaluate(scores, metric='mAP')


def test_evaluate_precision_recall_f1():
    scores = np.eye(3)[[0, 0, 1, 2]] + 0.01   # predictions 0, 0, 1, 2
    results = labelled([0, 1, 1, 2]).evaluate(scores, metric=['precision', 'recall', 'f1_score'])
    # per class: precision 1/2, 1, 1; recall 1, 1/2, 1; f1 2/3, 2/3, 1
    assert results['precision'] == pytest.approx(250 / 3)
    assert results['recall'] == pytest.approx(250 / 3)
    assert results['f1_score'] == pytest.approx(700 / 9)


def test_random_crop_draws_y_from_the_height_slack_and_x_from_the_width_slack():
    """A non-square image (6 x 20) and a non-square window (3 x 8): every top row
    0..3 and every left column 0..12 is drawn, and nothing else, per image and batched
    (tests elsewhere use square images, where swapping the two goes unseen)."""
    import random
    img = (np.arange(6 * 20).reshape(6, 20, 1) * np.ones(3, int)).astype(np.uint8)   # y * 20 + x
    seen = {}
    for mode in ('constant', 'edge'):
        crop, corners = transforms.RandomCrop((3, 8), padding_mode=mode), set()
        random.seed(0)
        for _ in range(400):
            out = crop(dict(img=img))['img']
            assert out.shape == (3, 8, 3)
            corners.add(divmod(int(out[0, 0, 0]), 20))
        seen[mode] = corners
    batch = batched_transforms.BatchRandomCrop((3, 8))
    np.random.seed(0)
    out = batch(dict(img=np.stack([img] * 400)))['img']
    seen['batched'] = {divmod(int(v), 20) for v in out[:, 0, 0, 0]}
    for corners in seen.values():
        assert {y for y, _ in corners} == set(range(4)) and {x for _, x in corners} == set(range(13))


def test_normalize_on_images_of_two_shapes():
    """Normalize keeps mean and std expanded to the last image's shape: an image of another
    shape (and then the first shape again) is normalized with its own, per channel."""
    mean, std = [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]
    norm = transforms.Normalize(mean, std, to_rgb=True)
    batch = batched_transforms.BatchNormalize(mean, std, to_rgb=True)
    rng = np.random.default_rng(0)
    for shape in ((4, 5), (7, 2), (4, 5)):
        img = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
        expected = (img[..., ::-1].astype(np.float32) - np.float32(mean)) / np.float32(std)
        assert np.array_equal(norm(dict(img=img))['img'], expected)
        assert np.array_equal(batch(dict(img=img[None].repeat(2, 0)))['img'], expected[None].repeat(2, 0))
