"""extras/images/image_folder.py: mmcls 0.25's CustomDataset and ImageNet from a folder or an ann_file,
their checks (each bad input one DatasetError naming the file), the loader's batch seeds for
every BaseDataset, and a folder run resumed equal to the uninterrupted one."""
import json
import logging
import os
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import procs
import train as train_py
from config import ConfigError
from data import BaseDataset, DatasetError, build_dataloader
from extras.images.image_folder import CustomDataset, ImageNet
from test_interop import interop, mmref_opencv    # benchmarks/interop.py

ROOT = Path(__file__).resolve().parent.parent


def png(path, h=8, w=10, value=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path, 'PNG')


def make_folder(root, layout):
    for name in layout:
        png(os.path.join(root, name), value=len(name))
    return str(root)


def test_a_folder_reads_as_mmcls_lists_it(tmp_path, caplog):
    root = make_folder(tmp_path, ['dog/b.JPG', 'dog/sub/a.png', 'dog/a.jpeg', 'cat/1.png',
                                  'cat/.hidden.png', 'cat/notes.txt', '.cache/x.png'])
    os.makedirs(tmp_path / 'empty')
    os.rename(tmp_path / 'cat' / '1.png', os.fsencode(tmp_path / 'cat') + b'/\xff.png')
    with caplog.at_level(logging.WARNING, 'minicls'):
        ds = CustomDataset(root, [])
    assert ds.CLASSES == ['.cache', 'cat', 'dog', 'empty']     # sorted, hidden ones too (mmcv)
    names = [(i['img_info']['filename'], int(i['gt_label'])) for i in ds.data_infos]
    assert names == [('.cache/x.png', 0), ('cat/\udcff.png', 1), ('dog/a.jpeg', 2),
                     ('dog/b.JPG', 2), ('dog/sub/a.png', 2)]
    info = ds.data_infos[0]
    assert info['img_prefix'] == root and info['gt_label'].dtype == np.int64
    assert info['gt_label'].shape == () and ds.get_gt_labels().tolist() == [0, 1, 2, 2, 2]
    assert ["Found no valid file in the folder 'empty'. Supported extensions are: .jpg, .jpeg, "
            '.png, .ppm, .bmp, .pgm, .tif'] == [r.getMessage() for r in caplog.records]
    assert ds.class_to_idx['dog'] == 2 and ds.get_cat_ids(4) == [2]


def test_a_dataset_holds_its_list_not_its_images(tmp_path):
    root = make_folder(tmp_path, [f'c{i % 2}/{i}.png' for i in range(20)])
    for i in range(20):
        png(os.path.join(root, f'c{i % 2}/{i}.png'), 200, 200, i)     # 120 kB each decoded
    tracemalloc.start()
    ds = CustomDataset(root, [dict(type='LoadImageFromFile')])
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(ds) == 20 and held < 200_000                    # 20 images would be 2.4 MB
    assert ds[3]['img'].shape == (200, 200, 3)


def test_an_ann_file_with_classes_as_a_list_or_a_file(tmp_path):
    root = make_folder(tmp_path / 'd', ['a/x 1.png', 'b/y.png'])
    (tmp_path / 'ann.txt').write_text('a/x 1.png 1\nb/y.png 0\n')
    (tmp_path / 'names.txt').write_text('first\nsecond\n')
    ds = CustomDataset(root, [], classes=str(tmp_path / 'names.txt'),
                       ann_file=str(tmp_path / 'ann.txt'))
    assert ds.CLASSES == ['first', 'second'] and ds.get_gt_labels().tolist() == [1, 0]
    assert ds.data_infos[0]['img_info']['filename'] == 'a/x 1.png'   # spaces in a path
    assert CustomDataset(root, [], classes=['p', 'q'], ann_file=str(tmp_path / 'ann.txt')).CLASSES \
        == ['p', 'q']
    assert CustomDataset(root, [], ann_file=str(tmp_path / 'ann.txt')).CLASSES is None   # as mmcls
    imagenet = ImageNet(root, [], ann_file=str(tmp_path / 'ann.txt'))
    assert len(imagenet.CLASSES) == 1000 and imagenet.CLASSES[0] == 'tench, Tinca tinca'
    scores = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert ds.evaluate(scores, metric_options={'topk': 1}) == {'accuracy': 100.0}


@pytest.mark.parametrize('lines, classes, words', [
    ('a/x.png 0\n\nb/y.png 1\n', None, ['ann.txt', 'line 2 is blank']),
    ('a/x.png 0\nb/y.png\n', None, ['line 2', "'b/y.png'", 'is not `relative/path label`']),
    ('a/x.png zero\n', None, ['line 1', "'a/x.png zero'", 'integer label']),
    ('a/x.png 0\nb/y.png 2\n', ['p', 'q'], ['line 2', 'label 2 is out of range 0..1']),
    ('a/x.png -1\n', None, ['line 1', 'label -1 is out of range 0..99999']),
    ('a/x.png 1111111111111111111111\n', None,            # int64 would overflow: no traceback
     ['line 1', 'label 1111111111111111111111 is out of range 0..99999']),
    ('a/x.png 0\na/gone.png 0\nb/gone.png 1\n', None,
     ['line 2', "'a/gone.png' is not a file in", 'and 1 more lines']),
    ('../d/a/x.png 0\n', None, ['line 1', "'../d/a/x.png' is outside data_prefix"]),
    ('/etc/hostname 0\n', None, ['line 1', "'/etc/hostname' is outside data_prefix"]),
])
def test_every_bad_ann_file_line_is_named_before_any_image_is_read(lines, classes, words, tmp_path):
    root = make_folder(tmp_path / 'd', ['a/x.png', 'b/y.png'])
    (tmp_path / 'ann.txt').write_text(lines)
    with pytest.raises(DatasetError) as e:
        CustomDataset(root, [], classes=classes, ann_file=str(tmp_path / 'ann.txt'))
    assert all(w in str(e.value) for w in words) and '\n' not in str(e.value), e.value


def test_a_folder_whose_name_starts_with_two_dots_is_inside_data_prefix(tmp_path):
    """Path components, not a string prefix: '..old/x.png' is in data_prefix/..old."""
    root = make_folder(tmp_path / 'd', ['..old/x.png', 'b/y.png'])
    (tmp_path / 'ann.txt').write_text('..old/x.png 0\nb/y.png 1\nb/../b/y.png 1\n')
    ds = CustomDataset(root, [], ann_file=str(tmp_path / 'ann.txt'))
    assert [i['img_info']['filename'] for i in ds.data_infos] == ['..old/x.png', 'b/y.png',
                                                                  'b/../b/y.png']


def test_folder_names_reach_the_log_escaped(tmp_path, caplog):
    """A newline in a folder name would forge a log line, an escape sequence recolour the
    terminal: the empty-folder warning quotes names as repr does."""
    root = make_folder(tmp_path, ['cat/1.png'])
    os.makedirs(tmp_path / 'x\nINFO - forged\x1b[31m')
    with caplog.at_level(logging.WARNING, 'minicls'):
        CustomDataset(root, [])
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("Found no valid file in the folder 'x\\nINFO - forged\\x1b[31m'."), \
        message


def test_tool_leftovers_stay_classes_as_in_mmcls_and_the_num_classes_error_names_them(tmp_path,
                                                                                       capsys):
    """__MACOSX (its AppleDouble files are hidden), .ipynb_checkpoints and an empty folder are
    classes, as in mmcls; train.py's num_classes error names them instead of only saying
    'set num_classes to 5'."""
    make_folder(tmp_path / 'data', ['cat/1.png', 'cat/2.png', 'dog/3.png', 'dog/4.png',
                                    '__MACOSX/cat/._1.png', '.ipynb_checkpoints/x.txt'])
    os.makedirs(tmp_path / 'data' / 'empty')
    ds = CustomDataset(str(tmp_path / 'data'), [])
    assert ds.CLASSES == ['.ipynb_checkpoints', '__MACOSX', 'cat', 'dog', 'empty']
    assert ds.empty_classes == ['.ipynb_checkpoints', '__MACOSX', 'empty']
    (tmp_path / 'c.py').write_text(CONFIG.format(data=str(tmp_path / 'data'), workers=0,
                                                 streams='minicls'))
    with pytest.raises(SystemExit) as e:
        train(tmp_path, 'w')
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1, err
    assert "'.ipynb_checkpoints', '__MACOSX', 'empty'" in err[0] and 'no image' in err[0], err


@pytest.mark.parametrize('text, words', [
    ('cat\n\ndog\n', ["names.txt' line 2 is blank", 'one class name a line']),
    ('cat\ndog\n \n', ["names.txt' line 3 is blank"])])
def test_a_blank_line_in_a_classes_file_is_named_with_its_line(text, words, tmp_path):
    root = make_folder(tmp_path / 'd', ['a/x.png', 'b/y.png'])
    (tmp_path / 'names.txt').write_text(text)
    with pytest.raises(DatasetError) as e:
        CustomDataset(root, [], classes=str(tmp_path / 'names.txt'))
    assert all(w in str(e.value) for w in words), e.value


def test_classes_are_kept_as_given_and_imagenet_has_its_names_on_the_class(tmp_path):
    """mmcls's own unit tests (test_common.py): a tuple stays a tuple, ImageNet.CLASSES is the
    1000 names before any instance, and a `classes` given to ImageNet is used."""
    root = make_folder(tmp_path / 'd', ['a/x.png', 'b/y.png'])
    assert CustomDataset(root, [], classes=('bus', 'car')).CLASSES == ('bus', 'car')
    assert len(ImageNet.CLASSES) == 1000 and ImageNet.CLASSES[-1].startswith('toilet tissue')
    assert ImageNet(root, [], classes=['cat', 'dog']).CLASSES == ['cat', 'dog']


def test_a_file_that_is_no_regular_file_is_refused_not_waited_for(tmp_path):
    """An ann_file or classes file that is a FIFO: plain open() waits for a writer forever.
    train.py as a process: one line naming the file, exit 1, within the timeout."""
    make_folder(tmp_path / 'data', ['c0/0.png', 'c1/1.png'])
    os.mkfifo(tmp_path / 'fifo.txt')
    for field in ('ann_file', 'classes'):
        (tmp_path / 'c.py').write_text(
            CONFIG.format(data=str(tmp_path / 'data'), workers=0, streams='minicls')
            + f"cfg.data.train.{field} = {str(tmp_path / 'fifo.txt')!r}\n")
        r = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', 'c.py',
                       '--work-dir', 'w'], cwd=tmp_path, timeout=120)
        err = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(err) == 1 and 'Traceback' not in r.stderr, r.stderr
        assert "fifo.txt' cannot be read (not a regular file (a FIFO" in err[0], err


def test_class_lists_samples_and_pixels_are_the_golden_mmcls_ones(tmp_path):
    """With no mmcv installed: a folder's classes (hidden and empty ones, __MACOSX, '..old')
    and samples, a CRLF classes file, classes as a tuple, ImageNet with `classes` and its
    CLASSES on the class, and LoadImageFromFile's pixels of RGB, RGBA, grey and palette PNGs,
    as mmcls 0.25 gave them (tests/golden/image_datasets_mmcls.json)."""
    import mmcls_golden_ref as ref
    ours = json.loads(json.dumps(ref.image_datasets(ref.side_classes('minicls'), str(tmp_path))))
    theirs = json.loads((ROOT / 'tests' / 'golden' / 'image_datasets_mmcls.json').read_text())
    assert ours == theirs['cases']


def test_bad_folders_are_one_error_naming_them(tmp_path):
    root = make_folder(tmp_path / 'd', ['a/x.png', 'b/y.png'])
    with pytest.raises(DatasetError, match='2 subfolders but 3 classes'):
        CustomDataset(root, [], classes=['p', 'q', 'r'])
    with pytest.raises(DatasetError, match="ImageNet: .* has 2 subfolders but 1000 classes"):
        ImageNet(root, [])
    with pytest.raises(DatasetError, match='is not a folder'):
        CustomDataset(str(tmp_path / 'nope'), [])
    with pytest.raises(DatasetError, match='found 0 files in its subfolders'):
        CustomDataset(make_folder(tmp_path / 'e', ['a/x.gif']), [])
    with pytest.raises(DatasetError, match="classes file .*names.txt' cannot be read"):
        CustomDataset(root, [], classes=str(tmp_path / 'names.txt'))
    os.symlink('..', tmp_path / 'd' / 'a' / 'loop')             # a link back up: mmcv walks it
    with pytest.raises(DatasetError, match=r"a/loop/a' is '.*/d/a' again: a symlink loop"):
        CustomDataset(root, [])


def test_every_base_dataset_gets_batch_seeds_from_the_loader(tmp_path):
    """The contract is BaseDataset's: the same batches with 0 or 2
    workers, because each batch reseeds `random` and np.random from (seed, epoch, batch)."""
    root = make_folder(tmp_path, [f'c{i % 2}/{i}.png' for i in range(8)])
    pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=4),
                dict(type='RandomFlip'), dict(type='ImageToTensor', keys=['img']),
                dict(type='Collect', keys=['img'])]
    for i in range(8):                                          # distinct pixels
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (8, 10, 3), np.uint8)).save(
            os.path.join(root, f'c{i % 2}/{i}.png'))
    ds = CustomDataset(root, pipeline)
    assert isinstance(ds, BaseDataset)
    batches = [[b['img'] for b in build_dataloader(ds, 3, workers, seed=5,
                                                   persistent_workers=False)] for workers in (0, 2)]
    assert all(torch.equal(a, b) for a, b in zip(*batches)) and len(batches[0]) == 3


CONFIG = '''from config import *
folder = DatasetConfig(type='CustomDataset', data_prefix={data!r}, pipeline=[
    dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', size=8, scale=(0.5, 1.0)),
    dict(type='RandomFlip', flip_prob=0.5), dict(type='Normalize', **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label'])])
cfg = replace(cfg,
    model=ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                              base_channels=4, stem_channels=4),
                      head=HeadConfig(num_classes=2, in_channels=4)),
    data=DataConfig(samples_per_gpu=3, workers_per_gpu={workers}, train=folder,
                    val=replace(folder, test_mode=True), test=replace(folder, test_mode=True)),
    lr_config=LrConfig(policy='step', step=[2]), total_epochs=4, log_config=LogConfig(interval=1),
    seed=0, work_dir='w', num_threads=1, random_streams={streams!r})
'''


def train(tmp_path, work_dir, *args):
    """train.py in this process (a subprocess costs seconds of imports); its train log rows."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        train_py.cli(['--config', 'c.py', '--work-dir', work_dir, '--deterministic',
                      '--no-validate', *args])
    finally:
        os.chdir(cwd)
    rows = []
    for log in sorted((tmp_path / work_dir).glob('*.log.json')):
        rows += [(x['epoch'], x['iter'], x['loss']) for x in map(json.loads, log.open())
                 if x.get('mode') == 'train']
    return rows


def weights(tmp_path, work_dir):
    return torch.load(tmp_path / work_dir / 'epoch_4.pth', weights_only=True)['state_dict']


@pytest.mark.parametrize('workers, streams', [(0, 'minicls'), (1, 'minicls'), (1, 'mmcls')])
def test_a_folder_run_resumed_equals_the_uninterrupted_one(workers, streams, tmp_path):
    """minicls's streams: stopped after epoch 2 and resumed, the same losses and weights, bit
    for bit. mmcls's streams (which a resume cannot repeat, as in mmcls): two runs alike."""
    classes = ('c0', os.fsdecode(b'c\xff'))                   # a class folder not UTF-8 named
    make_folder(tmp_path / 'data', [f'{classes[i % 2]}/{i}.png' for i in range(7)])
    for i in range(7):                                          # 8 x 10 and 10 x 8 images
        shape = (8, 10, 3) if i % 3 else (10, 8, 3)
        Image.fromarray(np.random.default_rng(i).integers(0, 255, shape, np.uint8)).save(
            tmp_path / 'data' / classes[i % 2] / f'{i}.png')
    (tmp_path / 'c.py').write_text(CONFIG.format(data=str(tmp_path / 'data'), workers=workers,
                                                 streams=streams))
    straight = train(tmp_path, 'straight')
    assert len(straight) == 4 * 3                               # 7 images, batch 3: 3 iterations
    if streams == 'mmcls':
        again = train(tmp_path, 'again')
    else:
        train(tmp_path, 'again', '--cfg-options', 'total_epochs=2')
        again = train(tmp_path, 'again', '--resume', 'again/epoch_2.pth')
    assert again == straight
    meta = torch.load(tmp_path / 'again' / 'epoch_4.pth', weights_only=True)['meta']
    assert meta['CLASSES'] == list(classes)
    a, b = weights(tmp_path, 'straight'), weights(tmp_path, 'again')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def png_header_only(width, height):
    """A PNG whose header claims width x height: PIL reads the size before any pixel."""
    import struct
    import zlib

    def chunk(kind, data):
        crc = struct.pack('>I', zlib.crc32(kind + data))
        return struct.pack('>I', len(data)) + kind + data + crc
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IEND', b'')


def bad_folder_config(tmp_path, kind):
    """A config (text) of 6 tiny JPEGs in tmp_path/images, one of them made bad as `kind`
    says; test_bad_input.py's table runs it (`IMAGES:<kind>`)."""
    folder = tmp_path / 'images'
    for i in range(6):
        os.makedirs(folder / f'c{i % 2}', exist_ok=True)
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (8, 10, 3), np.uint8)).save(
            folder / f'c{i % 2}' / f'{i}.jpg', quality=90)
    bad = folder / 'c0' / '0.jpg'
    if kind in ('truncated', 'truncated in a worker'):
        bad.write_bytes(bad.read_bytes()[:200])
    elif kind == 'not an image':
        bad.write_text('hello, I am text')
    elif kind == 'empty':
        bad.write_bytes(b'')
    elif kind == 'bomb':
        bad.write_bytes(png_header_only(20_000, 20_000))
    elif kind == 'not UTF-8 name':
        bad.write_bytes(b'')
        os.rename(bad, os.fsencode(folder / 'c0') + b'/\xff\xfe.jpg')
    elif kind == 'symlink loop':
        os.symlink('..', folder / 'c1' / 'up')
    elif kind in ('thin bomb', 'thin to a 0 side'):     # 1 x 100000: 370 bytes of PNG
        Image.fromarray(np.zeros((1, 100_000 if kind == 'thin bomb' else 100, 3),
                                 np.uint8)).save(bad, 'PNG')
    elif kind == 'smaller than CenterCrop':
        Image.fromarray(np.zeros((8, 7, 3), np.uint8)).save(bad, 'PNG')
    ann = {'missing file': 'c0/0.jpg 0\nc0/nope.jpg 1\n', 'label out of range': 'c0/0.jpg 7\n',
           'blank line': 'c0/0.jpg 0\n\n'}.get(kind)
    extra = {'thin bomb': "dict(type='Resize', size=(256, -1))",    # mmcls's test pipeline's
             'thin to a 0 side': "dict(type='Resize', size=(8, -1), adaptive_side='long')",
             'smaller than CenterCrop': "dict(type='CenterCrop', crop_size=(8, 10))"}.get(kind)
    extra = f'cfg.data.train.pipeline[1] = {extra}\n' if extra else ''
    if ann is not None:
        (tmp_path / 'ann.txt').write_text(ann)
        extra = (f"cfg = replace(cfg, data=replace(cfg.data, train=replace(folder, "
                 f"ann_file={str(tmp_path / 'ann.txt')!r}, classes=['a', 'b'])))\n")
    workers = 2 if kind == 'truncated in a worker' else 0
    return CONFIG.format(data=str(folder), workers=workers, streams='minicls') + extra


def test_after_a_bad_file_the_next_run_in_the_same_work_dir_trips_over_nothing(tmp_path, capsys):
    (tmp_path / 'c.py').write_text(bad_folder_config(tmp_path, 'truncated'))
    with pytest.raises(SystemExit) as e:
        train(tmp_path, 'w')
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and len(err) == 1 and "c0/0.jpg' cannot be read" in err[0], err
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(tmp_path / 'images' / 'c0' / '0.jpg')
    assert len(train(tmp_path, 'w')) == 4 * 2          # the fixed folder trains to the end


MMCLS_FOLDER_CONFIG = '''model = dict(type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ), style='pytorch',
                  base_channels=4, stem_channels=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=32, topk=(1, ),
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomCrop', size=8, padding=2),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Normalize', **img_norm_cfg), dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']), dict(type='Collect', keys=['img', 'gt_label'])]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='CenterCrop', crop_size=8),
    dict(type='Normalize', **img_norm_cfg), dict(type='ImageToTensor', keys=['img']),
    dict(type='Collect', keys=['img'])]
data = dict(samples_per_gpu=4, workers_per_gpu={workers},
    train=dict(type='CustomDataset', data_prefix={data!r}, pipeline=train_pipeline),
    val=dict(type='CustomDataset', data_prefix={data!r}, ann_file={ann!r}, classes=['a', 'b'],
             pipeline=test_pipeline),
    test=dict(type='CustomDataset', data_prefix={data!r}, pipeline=test_pipeline))
evaluation = dict(interval=1, metric='accuracy', metric_options=dict(topk=(1, )))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[1])
runner = dict(type='EpochBasedRunner', max_epochs=2)
checkpoint_config = dict(interval=2)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
'''


@pytest.mark.parametrize('workers', [0, 2])
def test_a_folder_run_with_mmcls_streams_is_the_real_mmcls_run_bit_for_bit(workers, mmref,
                                                                            tmp_path):
    """One mmcls config of PNG folders (no resize: the same pixels in both), run by mmcls's
    tools/train.py steps (benchmarks/real_data.py's driver) and by train.py with
    random_streams='mmcls': the same losses, top-1 and weights."""
    for i in range(12):
        shape = (8, 10, 3) if i % 3 else (10, 8, 3)
        os.makedirs(tmp_path / 'data' / f'c{i % 2}', exist_ok=True)
        Image.fromarray(np.random.default_rng(i).integers(0, 255, shape, np.uint8)).save(
            tmp_path / 'data' / f'c{i % 2}' / f'{i}.png')
    (tmp_path / 'val.txt').write_text(''.join(f'c{i % 2}/{i}.png {i % 2}\n' for i in range(12)))
    text = MMCLS_FOLDER_CONFIG.format(workers=workers, data=str(tmp_path / 'data'),
                                      ann=str(tmp_path / 'val.txt'))
    (tmp_path / 'cfg.py').write_text(text + ('data.update(persistent_workers=False)\n'
                                             if workers == 0 else ''))  # torch refuses it
    env = dict(os.environ, OMP_NUM_THREADS='1', MINICLS_MMCV_OPENCV=mmref_opencv(mmref))
    mini = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', 'cfg.py', '--work-dir',
                      'mini', '--seed', '3', '--cfg-options', 'random_streams=mmcls'],
                     cwd=tmp_path, env=env, timeout=600)
    assert mini.returncode == 0, mini.stderr[-3000:]
    mm = procs.run([sys.executable, '-W', 'ignore', interop.REAL_DATA, '--mmcls-driver', 'cfg.py',
                    '--work-dir', 'mm', '--seed', '3'], cwd=tmp_path, timeout=600,
                   env=dict(env, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
    assert mm.returncode == 0, mm.stderr[-3000:]
    a, b = (interop.read_epochs(str(tmp_path / d)) for d in ('mini', 'mm'))
    assert a['losses'] == b['losses'] and len(b['losses'][2]) == 3
    assert a['epoch_top1'] == b['epoch_top1'] and len(b['epoch_top1']) == 2
    sa, sb = (torch.load(tmp_path / d / 'epoch_2.pth', weights_only=True)['state_dict']
              for d in ('mini', 'mm'))
    assert list(sa) == list(sb) and [k for k in sb if not torch.equal(sa[k], sb[k])] == []


def test_options_minicls_does_not_have_are_config_errors(tmp_path):
    root = make_folder(tmp_path, ['a/x.png'])
    for kwargs, words in ((dict(batched=True), 'batched=True stacks raw images'),
                          (dict(file_client_args=dict(backend='petrel')), "backend='disk'"),
                          (dict(classes=3), 'classes=3 must be a list of names'),
                          (dict(ann_file=['ann.txt']), r"ann_file=\['ann.txt'\] must be a file "
                                                       r'name \(a str\) or None')):
        with pytest.raises(ConfigError, match=words):
            CustomDataset(root, [], **kwargs)


def test_an_ann_file_without_classes_trains_with_no_class_names(tmp_path):
    """mmcls: CustomDataset with an ann_file and no `classes` has CLASSES None; it trains,
    and the checkpoint's meta has no CLASSES, as mmcv's save_checkpoint leaves out None (not a
    traceback on list(None))."""
    make_folder(tmp_path / 'data', [f'c{i % 2}/{i}.png' for i in range(6)])
    (tmp_path / 'ann.txt').write_text(''.join(f'c{i % 2}/{i}.png {i % 2}\n' for i in range(6)))
    (tmp_path / 'c.py').write_text(CONFIG.format(data=str(tmp_path / 'data'), workers=0,
                                                 streams='minicls')
                                   + f"cfg.data.train.ann_file = {str(tmp_path / 'ann.txt')!r}\n"
                                   + 'cfg = replace(cfg, total_epochs=1)\n')
    assert len(train(tmp_path, 'w')) == 2                       # 6 images, batch 3
    assert 'CLASSES' not in torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)['meta']
