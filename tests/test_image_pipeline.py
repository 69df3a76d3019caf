"""extras/images/image_pipeline.py: LoadImageFromFile as mmcv's imread(flag='color') (3 channels, BGR,
EXIF orientation), cv2's bilinear resize (no antialias), RandomResizedCrop's draws and
fallback, Resize's (h, -1) form, CenterCrop; hand-computed expectations. With $MMREF (a real
mmcv 1.7.2 + mmcls 0.25.0, benchmarks/mmcv_reference_setup.sh): pixel parity with mmcls."""
import json
import os
import random
import sys
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

import procs
from config import ConfigError
from data import Compose, DatasetError
from extras.images import image_pipeline
from extras.images.image_pipeline import (CenterCrop, LoadImageFromFile, RandomResizedCrop, Resize,
                                   imread, imresize)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
# mmcls 0.25's configs/_base_/datasets/imagenet_bs32.py pipelines, as written there
TRAIN = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=224),
         dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
         dict(type='Normalize', **NORM), dict(type='ImageToTensor', keys=['img']),
         dict(type='ToTensor', keys=['gt_label']), dict(type='Collect', keys=['img', 'gt_label'])]
TEST = [dict(type='LoadImageFromFile'), dict(type='Resize', size=(256, -1)),
        dict(type='CenterCrop', crop_size=224), dict(type='Normalize', **NORM),
        dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]


def save(tmp_path, name, img, **kwargs):
    path = str(tmp_path / name)
    img.save(path, **kwargs)
    return path


RGB = np.array([[[10, 20, 30], [40, 50, 60], [70, 80, 90]],
                [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], np.uint8)        # 2 x 3, non-square


@pytest.mark.parametrize('mode', ['RGB', 'RGBA', 'P'])
def test_colour_files_load_as_3_channel_bgr(mode, tmp_path):
    img = Image.fromarray(RGB)
    img = img.convert(mode) if mode != 'P' else img.convert('P', palette=Image.ADAPTIVE)
    got = imread(save(tmp_path, 'a.png', img))
    assert got.shape == (2, 3, 3) and got.dtype == np.uint8
    assert (got == RGB[..., ::-1]).all()        # BGR, alpha dropped, palette expanded
    got[0, 0, 0] = 1                            # writable, as mmcv's


def test_grey_and_16_bit_grey_repeat_into_3_channels(tmp_path):
    grey = np.array([[0, 7, 255], [1, 2, 3]], np.uint8)
    assert (imread(save(tmp_path, 'g.png', Image.fromarray(grey))) == grey[..., None]).all()
    deep = np.array([[0x1234, 0xffff, 0x00ff], [0x0100, 0x8000, 0x7fff]], np.uint16)
    got = imread(save(tmp_path, 'g16.png', Image.fromarray(deep)))
    assert got.shape == (2, 3, 3) and (got == (deep >> 8)[..., None]).all()   # cv2: high byte


def test_exif_orientation_is_applied_as_mmcv_color_flag(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6                            # "rotate 90 clockwise to display"
    path = save(tmp_path, 'o.png', Image.fromarray(RGB), exif=exif)
    assert (imread(path) == np.rot90(RGB, k=-1)[..., ::-1]).all()        # 3 x 2 now
    assert (imread(path, 'color_ignore_orientation') == RGB[..., ::-1]).all()


def test_load_image_from_file_sets_mmcls_keys(tmp_path):
    save(tmp_path, 'a.png', Image.fromarray(RGB))
    results = LoadImageFromFile()({'img_prefix': str(tmp_path), 'img_info': {'filename': 'a.png'}})
    assert results['filename'] == str(tmp_path / 'a.png') and results['ori_filename'] == 'a.png'
    assert results['img_shape'] == results['ori_shape'] == (2, 3, 3)
    results = {'img_prefix': None, 'img_info': {'filename': str(tmp_path / 'a.png')}}
    assert LoadImageFromFile(to_float32=True)(results)['img'].dtype == np.float32


def test_resize_is_bilinear_without_antialias():
    row = np.array([[0, 100]], np.uint8)
    assert imresize(row, 1, 4).tolist() == [[0, 25, 75, 100]]   # edges clamp (half-pixel centres)
    spike = np.array([[0, 0, 0, 100, 100, 0, 0, 0]], np.uint8)
    assert imresize(spike, 1, 2).tolist() == [[0, 0]]          # antialias would give 25s
    bgr = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)[..., ::-1]   # a reversed view
    assert (imresize(bgr, 2, 2) == imresize(np.ascontiguousarray(bgr), 2, 2)).all()


def test_random_resized_crop_draws_from_random_in_mmcls_order(monkeypatch):
    img = np.arange(8 * 10 * 3, dtype=np.uint8).reshape(8, 10, 3)
    calls = []

    def draws(uniforms, ints):     # [scale, log ratio] draws, [ymin, xmin]
        uniforms, ints = iter(uniforms), iter(ints)
        monkeypatch.setattr(random, 'uniform', lambda a, b: calls.append((a, b)) or next(uniforms))
        monkeypatch.setattr(random, 'randint', lambda a, b: calls.append((a, b)) or next(ints))

    draws([0.25, 0.0], [3, 5])     # area 0.25 * 80 = 20 at ratio 1: a 4 x 4 box
    assert RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3)) == (3, 5, 6, 8)
    assert calls == [(0.08, 1.0), (np.log(3 / 4), np.log(4 / 3)), (0, 4), (0, 6)]
    draws([2.0, 0.0, 0.25, 0.0], [3, 5])      # the first box does not fit: a second draw
    out = RandomResizedCrop(size=4)({'img': img})['img']      # 4 x 4 -> 4 x 4: the crop
    assert (out == img[3:7, 5:9]).all()


@pytest.mark.parametrize('shape, box', [((10, 40), (0, 13, 9, 25)),     # wider than 4:3
                                        ((40, 10), (13, 0, 25, 9)),     # taller than 3:4
                                        ((10, 12), (0, 0, 9, 11))])     # within: the whole
def test_random_resized_crop_falls_back_to_the_central_crop(shape, box):
    img = np.zeros(shape + (3,), np.uint8)
    assert RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3), max_attempts=0) == box


def test_resize_forms_and_center_crop():
    img = np.zeros((100, 50, 3), np.uint8)
    assert Resize((20, -1))({'img': img})['img'].shape == (40, 20, 3)       # short side 20
    assert Resize((20, -1), adaptive_side='long')({'img': img})['img'].shape == (20, 10, 3)
    assert Resize([30, 40])({'img': img})['img'].shape == (30, 40, 3)      # a list (JSON)
    assert Resize((50, -1))({'img': img})['img'] is img                     # already 50
    img = np.arange(5 * 8).reshape(5, 8)
    assert (CenterCrop(3)({'img': img})['img'] == img[1:4, 2:5]).all()   # round(2.5) = 2


def test_what_a_transform_makes_of_an_image_from_a_stranger_is_bounded(tmp_path):
    """A 1 x 100000 PNG (a few hundred bytes) passes the decoding limit, but mmcls's test
    pipeline's Resize((256, -1)) would make it 256 x 25600000 (19.7 GB); a side of 0 would be
    torch's error; an image smaller than CenterCrop's window would not stack in a batch.
    Each is named with its file, before anything is allocated."""
    path = save(tmp_path, 'thin.png', Image.fromarray(np.zeros((1, 100_000, 3), np.uint8)))
    assert os.path.getsize(path) < 1000
    results = LoadImageFromFile()({'img_prefix': None, 'img_info': {'filename': path}})
    with pytest.raises(DatasetError, match=r"^Resize: '.*thin.png' is 1x100000 and would become "
                                           r'256x25600000; allowed: at most 89478485 pixels'):
        Resize((256, -1))(dict(results))
    with pytest.raises(DatasetError, match=r"thin.png' is 1x100000 and would become 0x8; "):
        Resize((8, -1), adaptive_side='long')(dict(results))
    with pytest.raises(DatasetError, match=r"^CenterCrop: '.*thin.png' is 1x100000, smaller "
                                           r'than crop_size=\(2, 2\): its crop would not stack'):
        CenterCrop(2)(dict(results))


def test_a_fifo_where_an_image_should_be_is_refused_not_waited_for(tmp_path):
    os.mkfifo(tmp_path / 'a.png')
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(catch(imread, str(tmp_path / 'a.png'))),
                              daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():        # blocked in open(): a writer releases it, and the test fails
        os.close(os.open(tmp_path / 'a.png', os.O_WRONLY | os.O_NONBLOCK))
    assert outcome and isinstance(outcome[0], DatasetError), outcome
    assert str(outcome[0]).endswith("a.png' cannot be read or decoded (not a regular file (a "
                                    'FIFO, socket or device))')


def catch(f, *args):
    try:
        return f(*args)
    except Exception as e:
        return e


@pytest.mark.parametrize('make, words', [
    (lambda: Resize(256, interpolation='bicubic'), ["interpolation='bicubic'", "'bilinear'"]),
    (lambda: RandomResizedCrop(224, backend='pillow'), ["backend='pillow'", "'cv2'"]),
    (lambda: CenterCrop((224, -1)), ['crop_size=(224, -1)', 'an int > 0']),
    (lambda: Resize((0, 5)), ['Resize: size=(0, 5)']),
    (lambda: RandomResizedCrop(224, scale=(1.0, 0.5)), ['scale=(1.0, 0.5)']),
    *[(lambda v=v: RandomResizedCrop(224, scale=v), [f'scale={v!r} is not valid',
                                                   '0 < min <= max <= 1, finite numbers'])
      for v in [(-0.5, 1.0), (0, 1.0), None, (float('nan'), 1.0), (0.5, float('inf')),
                (0.1, 0.5, 1.0), (0.5, 2.0), ('0.5', 1), (True, 1)]],
    *[(lambda v=v: RandomResizedCrop(224, ratio=v), [f'ratio={v!r} is not valid',
                                                   '0 < min <= max, finite'])
      for v in [(-1.0, 1.0), (0, 1.0), None, (0.75, float('inf')), (0.75,)]],
    (lambda: Resize((100_000, 100_000)), ['Resize: size=(100000, 100000) is not valid',
                                          'at most PIL.Image.MAX_IMAGE_PIXELS=89478485']),
    (lambda: CenterCrop(2 ** 20), ['CenterCrop: crop_size=1048576 is not valid']),
    (lambda: RandomResizedCrop((10 ** 5, 10 ** 4)), ['RandomResizedCrop: size=(100000, 10000)']),
    (lambda: LoadImageFromFile(file_client_args=None), ['file_client_args=None',
                                                        "only dict(backend='disk')"]),
    (lambda: LoadImageFromFile(color_type='unchanged'), ["color_type='unchanged'"])])
def test_bad_arguments_are_named(make, words):
    with pytest.raises(ConfigError) as e:     # a config's mistake: one line, exit 2
        make()
    assert all(w in str(e.value) for w in words), e.value


def test_the_imagenet_bs32_pipelines_run_as_written(tmp_path):
    save(tmp_path, 'a.png', Image.fromarray(np.full((30, 40, 3), 200, np.uint8)))
    info = {'img_prefix': str(tmp_path), 'img_info': {'filename': 'a.png'},
            'gt_label': np.array(1, np.int64)}
    train, test = Compose(TRAIN)(dict(info)), Compose(TEST)(dict(info))
    assert train['img'].shape == test['img'].shape == (3, 224, 224)
    assert set(test) == {'img'} and int(train['gt_label']) == 1
    assert np.allclose(test['img'][0].numpy(), (200 - 123.675) / 58.395)


# Recorded from the real mmcv 1.7.2 + mmcls 0.25.0 by tests/mmcls_golden_ref.py (the $MMREF test
# below checks they are what it gives; MMREF_RECORD=1 rewrites them).
GOLDEN = os.path.join(ROOT, 'tests', 'golden')


def golden(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return json.load(f)['cases']


def within_one_grey_level(ours, theirs):
    """Resized pixels: torch's bilinear within one grey level of cv2's (a crop box off by
    one pixel is tens of levels off)."""
    ours, theirs = np.array(ours, np.int64), np.array(theirs, np.int64)
    return ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1


def test_crop_boxes_sizes_offsets_and_pixels_are_the_golden_mmcls_ones():
    """With no mmcv installed: RandomResizedCrop's boxes (8 in a row a seed, 7 shapes, 2 ranges),
    its output pixels, Resize's sizes and pixels, CenterCrop's crops, as mmcls 0.25 gave them."""
    import mmcls_golden_ref as ref
    ours = json.loads(json.dumps(ref.image_pipeline(ref.side_classes('minicls'))))
    theirs = golden('image_pipeline_mmcls.json')
    assert ours['rrc_boxes'] == theirs['rrc_boxes']
    for a, b in zip(ours['rrc_pixels'], theirs['rrc_pixels'], strict=True):
        assert within_one_grey_level(a.pop('img'), b.pop('img')) and a == b, a
    for a, b in zip(ours['resize'], theirs['resize'], strict=True):
        assert (a['img'] is None) == (b['img'] is None), a
        assert a['img'] is None or within_one_grey_level(a.pop('img'), b.pop('img')), a
        assert a == b
    assert ours['center_crop'] == theirs['center_crop']                  # exact: offsets
    # the one difference: mmcls keeps an image smaller than the window whole (then the batch
    # fails to stack); here it is a DatasetError naming the file
    assert theirs['center_crop_smaller']['img'] == [[0, 1, 2], [3, 4, 5]]
    assert ours['center_crop_smaller']['img'] == 'DatasetError'


def test_the_golden_files_are_what_the_real_mmcls_gives(mmref, tmp_path):
    """tests/mmcls_golden_ref.py on the real mmcls: the four golden files the test above (and
    test_image_folder, test_mmcls_config, test_finetune) compare with, as it gives them today.
    MMREF_RECORD=1 writes them anew instead."""
    record = os.environ.get('MMREF_RECORD') == '1'
    script = os.path.join(ROOT, 'tests', 'mmcls_golden_ref.py')
    r = procs.run([sys.executable, '-W', 'ignore', script, '--side', 'mmcls',
                   '--record', GOLDEN if record else str(tmp_path)], cwd=ROOT,
                  env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    written = GOLDEN if record else tmp_path
    for name in ('image_pipeline_mmcls.json', 'image_datasets_mmcls.json',
                 'mmcls_config_notes.json', 'load_checkpoint_mmcv.json'):
        with open(os.path.join(written, name)) as f:
            assert json.load(f)['cases'] == golden(name), name


def test_pixel_parity_with_the_real_mmcls(mmref, tmp_path):
    """PNGs Resize enlarges and shrinks: the test pipeline within 0.5 grey levels on average
    (max 3) of mmcls's; the train pipeline with the same seeds as well (same crops)."""
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(45, 60), (113, 150), (600, 800), (500, 370)]):
        os.makedirs(tmp_path / f'c{i % 2}', exist_ok=True)
        smooth = np.linspace(0, 255, h * w * 3).reshape(h, w, 3) + rng.normal(0, 20, (h, w, 3))
        Image.fromarray(smooth.clip(0, 255).astype(np.uint8)).save(tmp_path / f'c{i % 2}/{i}.png')
    script = '''if 1:
        import json, random, sys, numpy as np
        sys.path.insert(0, sys.argv[3])
        pipelines = json.loads(sys.argv[2])      # mmcls's Resize takes a tuple, not a list:
        pipelines = {k: [dict(t, **{a: tuple(v) for a, v in t.items() if isinstance(v, list)
                                    and a == 'size'}) for t in p] for k, p in pipelines.items()}
        if sys.argv[1] == 'mmcls':
            from mmcls.datasets import build_dataset
            build = lambda p: build_dataset(dict(type='CustomDataset', data_prefix=sys.argv[4],
                                                 pipeline=p))
        else:
            from extras.images.image_folder import CustomDataset
            build = lambda p: CustomDataset(sys.argv[4], p)
        out = {}
        for name, p in pipelines.items():
            ds = build(p)
            for i in range(len(ds)):
                random.seed(i); np.random.seed(i)
                out[f'{name}{i}'] = ds[i]['img'].numpy()
        np.savez(sys.argv[5], **out)'''
    got = {}
    for side in ('mmcls', 'minicls'):
        env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps' if side == 'mmcls' else ROOT)
        pipelines = json.dumps(dict(test=TEST, train=TRAIN))
        r = procs.run([sys.executable, '-c', script, side, pipelines, ROOT, str(tmp_path),
                       str(tmp_path / f'{side}.npz')], env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        got[side] = np.load(tmp_path / f'{side}.npz')
    std = np.array(NORM['std'], np.float32)[:, None, None]
    for key in got['mmcls']:
        grey = np.abs(got['mmcls'][key] - got['minicls'][key]) * std
        assert grey.mean() <= 0.5 and grey.max() <= 3, (key, grey.mean(), grey.max())


def test_an_image_over_pils_limit_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    path = save(tmp_path, 'big.png', Image.fromarray(RGB))          # 6 pixels
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 5)              # PIL itself only warns here
    words = r"big.png' is 3x2 pixels, more than PIL.Image.MAX_IMAGE_PIXELS=5 \(a decompression"
    with warnings.catch_warnings(), pytest.raises(DatasetError, match=words):
        warnings.simplefilter('error')          # and no warning on stderr beside the error
        imread(path)


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    path = save(tmp_path, 'locked.png', Image.fromarray(RGB))
    if os.geteuid() == 0:           # root reads a chmod 000 file: simulate what others get
        def refuse(name, *args, **kwargs):
            raise PermissionError(13, 'Permission denied', name)
        monkeypatch.setattr(image_pipeline, 'open_regular', refuse)
    else:
        os.chmod(path, 0)
    with pytest.raises(DatasetError, match=r"locked.png' cannot be read or decoded "
                                           r"\(Permission denied\)$"):
        imread(path)


def test_mmcls_imagenet_bs32_config_trains_here_unchanged(mmref, tmp_path, monkeypatch, capsys):
    """mmcls's own _base_ files, read by train.py --config: the ImageNet pipelines, the val
    split's ann_file and its Collect(keys=['img']) (evaluation needs no labels in batches)."""
    import train
    for i in range(6):
        os.makedirs(tmp_path / f'imgs/c{i % 2}', exist_ok=True)
        Image.fromarray(np.full((40 + i, 50, 3), 40 * i, np.uint8)).save(
            tmp_path / f'imgs/c{i % 2}/{i}.png')
    (tmp_path / 'val.txt').write_text(''.join(f'c{i % 2}/{i}.png {i % 2}\n' for i in range(6)))
    base = f'{mmref}/src/mmcls/.mim/configs/_base_'
    (tmp_path / 'cfg.py').write_text(f'''_base_ = ['{base}/models/resnet18.py',
    '{base}/datasets/imagenet_bs32.py', '{base}/schedules/imagenet_bs256.py',
    '{base}/default_runtime.py']
model = dict(head=dict(num_classes=2, topk=(1,)))
split = dict(type='CustomDataset', data_prefix='imgs', ann_file='val.txt', classes=['a', 'b'])
data = dict(samples_per_gpu=3, workers_per_gpu=0,
            train=dict(type='CustomDataset', data_prefix='imgs'), val=split, test=split)
evaluation = dict(metric_options=dict(topk=(1,)))
runner = dict(type='EpochBasedRunner', max_epochs=1)
''')
    monkeypatch.chdir(tmp_path)
    train.cli(['--config', 'cfg.py', '--work-dir', 'w'])
    assert 'Epoch(val) [1][2]\taccuracy_top-1: ' in capsys.readouterr().out + ''.join(
        p.read_text() for p in (tmp_path / 'w').glob('*.log'))
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()
