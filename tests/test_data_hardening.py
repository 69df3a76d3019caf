"""The data side: no code runs from a data folder (a restricted unpickler reads every
CIFAR-format file), the demo's writer never overwrites files it did not write, and every bad
data file or pipeline gets one clear line that names the file or the field."""
import hashlib
import os
import pickle
import struct

import numpy as np
import pytest

import data
from config import DatasetConfig, test_pipeline
from extras.demos import demo_data


def write(path, obj, protocol=2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)


def batch(n=4, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return {'batch_label': 'b', 'labels': rng.integers(0, num_classes, n).tolist(),
            'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8), 'filenames': ['x.png'] * n}


class Own(data.CIFAR10):
    """Own files, no checksums (md5 None, as configs/own_cifar_format.py)."""
    train_list = [('data_batch_1', None)]
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)
    url = None


def own_tree(root, train=None, meta=None):
    folder = os.path.join(root, 'cifar-10-batches-py')
    write(os.path.join(folder, 'data_batch_1'), batch() if train is None else train)
    write(os.path.join(folder, 'test_batch'), batch(seed=1))
    write(os.path.join(folder, 'batches.meta'), meta or {'label_names': [f'c{i}' for i in range(10)]})
    return folder


class Gadget:
    """Runs `touch <marker>` when unpickled by pickle.load."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


# ---- 1. a restricted unpickler for every CIFAR-format file ----------------------------------------

def test_a_planted_gadget_never_runs_in_own_or_official_files(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    folder = own_tree(tmp_path, train={**batch(), 'filenames': Gadget(marker)})
    with pytest.raises(data.DatasetError) as e:
        Own(tmp_path, [])
    assert 'data_batch_1' in str(e.value) and 'posix.system' in str(e.value) and '\n' not in str(e.value)
    # the official table: the gadget file given its md5, as an attacker who can write the folder could
    path = os.path.join(folder, 'data_batch_1')
    md5 = hashlib.md5(open(path, 'rb').read()).hexdigest()
    monkeypatch.setattr(data.CIFAR10, 'train_list', [('data_batch_1', md5)])
    monkeypatch.setattr(data.CIFAR10, 'meta', dict(filename='batches.meta', key='label_names', md5=None))
    monkeypatch.setattr(data.CIFAR10, 'test_list', [('test_batch', None)])
    with pytest.raises(data.DatasetError, match='data_batch_1.*not a CIFAR pickle'):
        data.CIFAR10(tmp_path, [])
    assert not marker.exists()


def test_a_planted_gadget_never_runs_in_the_demo_folder(tmp_path):
    class Small(demo_data.SyntheticCIFAR10):
        num_train_batches, batch_size, num_test = 1, 20, 10
    Small(tmp_path, [])
    marker = tmp_path / 'pwned'
    folder = os.path.join(tmp_path, 'cifar-10-batches-py')
    write(os.path.join(folder, 'data_batch_1'), {**batch(20), 'labels': Gadget(marker)}, protocol=4)
    sums_path = os.path.join(folder, 'md5sums.txt')
    md5 = hashlib.md5(open(os.path.join(folder, 'data_batch_1'), 'rb').read()).hexdigest()
    lines = [f'{md5}  data_batch_1' if line.endswith('data_batch_1') else line
             for line in open(sums_path).read().splitlines()]
    open(sums_path, 'w').write('\n'.join(lines) + '\n')        # the planted sum matches
    with pytest.raises(data.DatasetError, match='data_batch_1.*system'):
        Small(tmp_path, [])
    assert not marker.exists()


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 str (BINSTRING), as the official CIFAR files hold them."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        raw = obj.encode('latin1') if isinstance(obj, str) else obj
        op = pickle.SHORT_BINSTRING + bytes([len(raw)]) if len(raw) < 256 else pickle.BINSTRING + struct.pack('<i', len(raw))
        self.write(op + raw)
        self.memoize(obj)
    dispatch[str] = dispatch[bytes] = save_py2_str


def test_official_python2_pickles_and_bytes_keys_load(tmp_path):
    """The real files: protocol 2 from Python 2 (str -> latin1), numpy.core.multiarray._reconstruct
    (numpy 1); and CIFAR re-saved from Python 3 with bytes keys (b'data', b'labels')."""
    folder = os.path.join(tmp_path, 'cifar-10-batches-py')
    os.makedirs(folder)
    entry = batch(6)
    for name, obj in (('data_batch_1', entry), ('test_batch', batch(2)),
                      ('batches.meta', {'label_names': [f'c{i}' for i in range(10)], 'num_vis': 3072})):
        with open(os.path.join(folder, name), 'wb') as f:
            Py2Pickler(f, 2).dump(obj)
        raw = open(os.path.join(folder, name), 'rb').read().replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
        open(os.path.join(folder, name), 'wb').write(raw)
    assert b'numpy.core.multiarray' in open(os.path.join(folder, 'data_batch_1'), 'rb').read()
    dataset = Own(tmp_path, [])
    assert dataset.get_gt_labels().tolist() == entry['labels'] and dataset.CLASSES[3] == 'c3'
    np.testing.assert_array_equal(dataset.data_infos[5]['img'], entry['data'][5].reshape(3, 32, 32).transpose(1, 2, 0))
    # bytes keys, bytes class names
    write(os.path.join(folder, 'data_batch_1'), {b'data': entry['data'], b'labels': entry['labels']}, protocol=4)
    write(os.path.join(folder, 'batches.meta'), {b'label_names': [f'c{i}'.encode() for i in range(10)]}, protocol=4)
    dataset = Own(tmp_path, [])
    assert dataset.get_gt_labels().tolist() == entry['labels'] and dataset.CLASSES[3] == 'c3'
    assert dataset.get_gt_labels().max() < len(dataset.CLASSES)       # what train.py checks num_classes with


# ---- bad files: one line that names the file ---------------------------------------------------

BAD_FILES = {
    '40 images, 10 labels': ({**batch(40), 'labels': [0] * 10}, '40 images but 10 labels'),
    '100-column rows': ({**batch(), 'data': np.zeros((4, 100), np.uint8)}, 'rows of 3072 values'),
    'string labels': ({**batch(), 'labels': ['cat', 'dog', 'cat', 'dog']}, 'labels must be ints'),
    'label out of range': ({**batch(), 'labels': [1, 2, 10, -1]}, 'label 10 at index 2 is out of range 0..9'),
    'no data key': ({'labels': [0] * 4}, "no 'data'"),
    'not a dict': ([1, 2, 3], 'holds a list'),
    'not a pickle': (None, 'not a CIFAR pickle'),
}


@pytest.mark.parametrize('case', sorted(BAD_FILES))
def test_a_bad_batch_file_is_one_line_naming_it(case, tmp_path):
    content, words = BAD_FILES[case]
    folder = own_tree(tmp_path, train=content)
    if content is None:
        open(os.path.join(folder, 'data_batch_1'), 'wb').write(b'\x00junk' * 10)
    with pytest.raises(data.DatasetError) as e:
        Own(tmp_path, [])
    message = str(e.value)
    assert os.path.join(folder, 'data_batch_1') in message and words in message and '\n' not in message


@pytest.mark.parametrize('junk, words', [
    (b'not-a-sum data_batch_1', 'line 2 is not "<md5>  <file name>"'),
    (b'\xff\xfe\x00junk\x80\x81', 'cannot be read'),
    (None, "is not the demo's"),
])
def test_a_broken_md5sums_file_is_one_line(junk, words, tmp_path):
    class Small(demo_data.SyntheticCIFAR10):
        num_train_batches, batch_size, num_test = 1, 20, 10
    Small(tmp_path, [])
    path = os.path.join(tmp_path, 'cifar-10-batches-py', 'md5sums.txt')
    lines = open(path, 'rb').read().splitlines()
    if junk is None:                              # the whole file binary junk
        open(path, 'wb').write(b'\xff\xfe\x00junk\x80\x81')
    else:                                         # the header kept, the first sum line broken
        open(path, 'wb').write(b'\n'.join([lines[0], junk] + lines[2:]) + b'\n')
    with pytest.raises(data.DatasetError) as e:
        Small(tmp_path, [])
    assert path in str(e.value) and words in str(e.value) and '\n' not in str(e.value)


# ---- the demo's writer never overwrites other files --------------------------------------------

def test_the_demo_writer_refuses_a_real_cifar_folder(tmp_path):
    folder = own_tree(tmp_path)                                # a CIFAR download: no md5sums.txt of ours
    before = {name: open(os.path.join(folder, name), 'rb').read() for name in os.listdir(folder)}
    with pytest.raises(data.DatasetError) as e:
        demo_data.SyntheticCIFAR10(tmp_path, [])
    assert 'holds files the demo did not write' in str(e.value) and folder in str(e.value)
    assert '\n' not in str(e.value)
    assert {name: open(os.path.join(folder, name), 'rb').read() for name in os.listdir(folder)} == before
    # its own folder, written with other settings, is rewritten; an empty one is written
    class Small(demo_data.SyntheticCIFAR10):
        num_train_batches, batch_size, num_test = 1, 20, 10
    Small(tmp_path / 'new', [])
    os.makedirs(tmp_path / 'empty' / 'cifar-10-batches-py')
    assert len(Small(tmp_path / 'empty', [])) == 20
    Small.batch_size = 30
    assert len(Small(tmp_path / 'new', [])) == 30


# ---- pipelines: named when the pipeline is built ------------------------------------------------

@pytest.mark.parametrize('pipeline, words', [
    ([dict(type='Normalize', mean=[0, 0, 0], std=[1, 0, 1])], 'Normalize: std=[1.0, 0.0, 1.0] must be > 0'),
    ([dict(type='Normalize', mean=[0, 0], std=[1, 1, 1])], 'Normalize: mean=[0.0, 0.0] must have 3 values'),
    ([], 'must be a non-empty list'),
    (['RandomFlip'], "pipeline item 0 ('RandomFlip') is not a transform: write dict(type='RandomFlip', ...)"),
    ([dict(type='RandomFlip'), 3], 'pipeline item 1 (3) is not a transform'),
    ([dict(type='RandomFilp')], "type='RandomFilp' is not known (did you mean 'RandomFlip'?)"),
])
def test_a_bad_pipeline_is_named_when_built(pipeline, words):
    with pytest.raises(ValueError) as e:
        data.Compose(pipeline)
    assert words in str(e.value) and '\n' not in str(e.value)
    with pytest.raises(ValueError):                            # build_dataset: before any data is read
        data.build_dataset(DatasetConfig(type='CIFAR10', data_prefix='/nonexistent', pipeline=pipeline))


def test_num_samples_is_checked_before_any_data_is_read():
    with pytest.raises(ValueError, match='num_samples=0 must be >= 1'):
        data.build_dataset(DatasetConfig(type='CIFAR10', data_prefix='/nonexistent',
                                         pipeline=test_pipeline, num_samples=0))


@pytest.mark.parametrize('field, build', [
    ('dataset type', lambda name: data.build_dataset(DatasetConfig(type=name,
                                                                   pipeline=test_pipeline))),
    ('pipeline transform type', lambda name: data.Compose([dict(type=name, command='true')])),
])
def test_a_module_function_is_not_a_dataset_or_a_transform(field, build, monkeypatch):
    """'module:Class' must name a class of the right kind; os:system is refused uncalled."""
    calls = []
    monkeypatch.setattr(os, 'system', lambda command: calls.append(command))
    with pytest.raises(ValueError, match=f"{field}='os:system' names .*which is not a"):
        build('os:system')
    assert calls == []


# ---- The CIFAR files' unpickler allows only what CIFAR files hold --------------------------
import builtins  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402

from data import _CifarUnpickler  # noqa: E402  (CIFAR files' restricted unpickler)

ALLOWED = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
           ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode'),
           ('builtins', 'bytes'), ('__builtin__', 'bytes')}
NEAR_MISSES = [
    ('builtins', 'eval'), ('builtins', 'exec'), ('builtins', 'getattr'), ('builtins', '__import__'),
    ('builtins', 'open'), ('builtins', 'compile'), ('builtins', 'bytearray'),
    ('__builtin__', 'eval'), ('os', 'system'), ('posix', 'system'), ('nt', 'system'),
    ('subprocess', 'Popen'), ('commands', 'Popen'), ('subprocess', 'check_output'),
    ('numpy', 'load'), ('numpy', 'frombuffer'), ('numpy.core.multiarray', 'scalar'),
    ('numpy.testing._private.utils', 'runstring'), ('_codecs', 'decode'), ('pickle', 'loads'),
    ('copyreg', '_reconstructor'), ('functools', 'partial'), ('torch', 'load'),
    ('importlib', 'import_module')]


def test_cifar_unpickler_allows_exactly_the_globals_cifar_files_need():
    assert set(_CifarUnpickler.ALLOWED) == ALLOWED
    unpickler = _CifarUnpickler(io.BytesIO(b''))
    for module, name in sorted(ALLOWED):
        assert callable(unpickler.find_class(module, name))
    for module, name in NEAR_MISSES:
        message = f'it holds {module}.{name}, which a CIFAR file never holds'
        with pytest.raises(pickle.UnpicklingError, match=re.escape(message)):
            unpickler.find_class(module, name)


class Reduce:
    """An object that pickles as `func(*args)`: what a planted __reduce__ runs on unpickling."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args):          # a Reduce may stand as the callable of another one
        raise AssertionError('never called while pickling')


def gadgets(marker):
    """{name: object}: each touches `marker` when unpickled."""
    touch = f'touch {marker}'
    import_os = Reduce(builtins.__import__, 'os')
    return {'os.system': Reduce(os.system, touch),
            'eval': Reduce(builtins.eval, f'__import__("os").system({touch!r})'),
            'exec': Reduce(builtins.exec, f'import os; os.system({touch!r})'),
            'Popen': Reduce(subprocess.Popen, ['touch', str(marker)]),
            # getattr(__import__('os'), 'system')(touch): REDUCE on REDUCE
            'getattr': Reduce(Reduce(getattr, import_os, 'system'), touch)}


GADGETS = list(gadgets('m'))


def runs_unrestricted(gadget, marker):
    """The gadget is real: plain pickle.loads runs it."""
    result = pickle.loads(pickle.dumps({'data': gadget}, protocol=4))['data']
    if isinstance(result, subprocess.Popen):
        result.wait(30)
    return marker.exists()


def first_global_of(path):
    """'module.name' of the first global a pickle file names (as its protocol spells it)."""
    class First(pickle.Unpickler):
        def find_class(self, module, name):
            raise LookupError(f'{module}.{name}')
    with open(path, 'rb') as f, pytest.raises(LookupError) as e:
        First(f, encoding='latin1').load()
    return e.value.args[0]


@pytest.mark.parametrize('protocol', [2, 4])
@pytest.mark.parametrize('which', GADGETS)
def test_cifar_unpickler_refuses_each_kind_of_gadget_and_runs_nothing(tmp_path, which, protocol):
    """Protocol 2 (the official files') spells builtins __builtin__ and subprocess commands;
    protocol 4 spells them as they are."""
    assert runs_unrestricted(gadgets(tmp_path / 'live')[which], tmp_path / 'live')
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    rng = np.random.default_rng(0)
    entry = {'filenames': gadgets(tmp_path / 'pwned')[which],   # first: its global is met first
             'batch_label': 'b', 'labels': [1, 2],
             'data': rng.integers(0, 256, (2, 3072), dtype=np.uint8)}
    for file, obj in (('data_batch_1', entry), ('test_batch', entry),
                      ('batches.meta', {'label_names': list('abc')})):
        with open(folder / file, 'wb') as f:
            pickle.dump(obj, f, protocol=protocol)
    first_global = first_global_of(folder / 'data_batch_1')
    assert first_global.split('.')[-1] == which.split('.')[-1]    # system, eval, exec, ...
    with pytest.raises(data.DatasetError) as e:
        Own(tmp_path, [])
    message = str(e.value)
    assert 'data_batch_1' in message and 'is not a CIFAR pickle' in message
    assert f'it holds {first_global}, which a CIFAR file never holds' in message
    assert '\n' not in message
    assert not (tmp_path / 'pwned').exists()
