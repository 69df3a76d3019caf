"""The demo's dataset, SyntheticCIFAR10: a small, learnable CIFAR-10 look-alike, written in
CIFAR-10's own file format (`cifar-10-batches-py`: pickled dicts with 'data', 'labels',
'batch_label', 'filenames', and 'batches.meta') the first time it is used, then read by
data.py's CIFAR10 reader like the real thing.

Ten classes, one shape each (stripes, checker, target, disk, square, plus, cross, circle,
frame), at a random place and size, in a colour that only leans towards the class's own,
on a random background with two label-free blobs and noise.
"""
import hashlib
import os
import pickle
import re
import tempfile

import numpy as np

from data import CIFAR10, DatasetError

def _box(u, v):  # 1 on the edge of the shape's square
    return np.maximum(np.abs(u), np.abs(v))


def _radius(u, v):  # 1 on the edge of the shape's disk
    return np.sqrt(u * u + v * v)


# One shape per class, in its own frame: u, v run from -1 to 1 across the shape, x, y are
# pixels. All are left-right symmetric, so a flipped image keeps its label.
_SHAPES = {
    'h_stripes': lambda u, v, x, y: (_box(u, v) < 1) & (np.sin(y * np.pi / 2) > 0),  # 4-pixel period
    'v_stripes': lambda u, v, x, y: (_box(u, v) < 1) & (np.sin(x * np.pi / 2) > 0),
    'checker': lambda u, v, x, y: (_box(u, v) < 1) & (np.sin(x * np.pi / 3) * np.sin(y * np.pi / 3) > 0),
    'target': lambda u, v, x, y: (_radius(u, v) < 1) & (np.sin(_radius(u, v) * 7) > 0),
    'disk': lambda u, v, x, y: _radius(u, v) < 1,
    'square': lambda u, v, x, y: _box(u, v) < 0.89,  # as large as the disk
    'plus': lambda u, v, x, y: (_box(u, v) < 1) & (np.minimum(np.abs(u), np.abs(v)) < 0.25),
    'x_cross': lambda u, v, x, y: (_box(u, v) < 1) & (np.abs(np.abs(u) - np.abs(v)) < 0.3),
    'circle': lambda u, v, x, y: np.abs(_radius(u, v) - 0.75) < 0.22,
    'frame': lambda u, v, x, y: np.abs(_box(u, v) - 0.75) < 0.22,
}


def synthesize(n, rng):
    """n images as CIFAR rows, uint8 (n, 3072), and their labels: 10 classes, as even as n allows.

    Each image is a random colour with a gradient, the class's shape at a random place and size
    in a colour that only leans towards the class's own, two label-free blobs, and noise. Tuned
    so that configs/demo.py reaches 60-85 % in 5 epochs (74 % on CPU): learnable, not trivial.
    """
    labels = rng.permutation(np.arange(n) % len(_SHAPES))
    y, x = np.mgrid[:32, :32].astype(np.float32)

    def uniform(low, high, shape=(n, 1, 1)):
        return rng.uniform(low, high, shape).astype(np.float32)

    half = uniform(7, 13)
    u, v = (x - uniform(8, 24)) / half, (y - uniform(8, 24)) / half
    mask = np.zeros((n, 32, 32, 1), np.float32)
    for c, shape in enumerate(_SHAPES.values()):
        mask[labels == c, ..., 0] = shape(u[labels == c], v[labels == c], x, y)
    palette = np.random.default_rng(10).uniform(0, 255, (len(_SHAPES), 1, 1, 3)).astype(np.float32)
    img = uniform(0, 255, (n, 1, 1, 3)) + (x[..., None] - 16) * uniform(-3, 3, (n, 1, 1, 3)) \
        + (y[..., None] - 16) * uniform(-3, 3, (n, 1, 1, 3))
    colour = 0.6 * palette[labels] + uniform(0, 0.4 * 255, (n, 1, 1, 3))
    img += uniform(0.8, 1.0, (n, 1, 1, 1)) * mask * (colour - img)
    for _ in range(2):
        cx, cy, size = uniform(0, 32), uniform(0, 32), uniform(2, 5)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * size ** 2))[..., None]
        img += blob * uniform(-40, 40, (n, 1, 1, 3))
    img += rng.standard_normal((n, 32, 32, 3), dtype=np.float32) * uniform(3, 8, (n, 1, 1, 1))
    return np.clip(img, 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).reshape(n, 3072), labels


def _write_atomically(path, payload):
    """Write bytes to a temporary file, then rename it: a killed run leaves no half file. -> md5"""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    with os.fdopen(fd, 'wb') as f:
        f.write(payload)
    os.replace(tmp, path)
    return hashlib.md5(payload).hexdigest()


MARK = re.compile(r'# \w+ generator=\d+ ')   # the start of the first line of our md5sums.txt


def check_ours(folder):
    """Refuse a folder that holds files this writer did not write (a real CIFAR download):
    only an empty folder, or one whose md5sums.txt starts with our header, is ours."""
    if not os.path.isdir(folder):
        return
    others = [f for f in os.listdir(folder) if not f.startswith('.tmp-')]   # ours: interrupted writes
    sums_path = os.path.join(folder, 'md5sums.txt')
    if not os.path.isfile(sums_path):
        if others:
            raise DatasetError(f'SyntheticCIFAR10: {folder!r} holds files the demo did not write '
                               f'({", ".join(sorted(others)[:3])}{", ..." if len(others) > 3 else ""}): refusing '
                               'to overwrite them; point data_prefix at an empty or new folder')
        return
    with open(sums_path, 'rb') as f:
        if MARK.match(f.readline().decode('latin1')) is None:
            raise DatasetError(f"SyntheticCIFAR10: {sums_path!r} is not the demo's (its first line is not "
                               "'# <name> generator=...'): refusing to overwrite the folder; point data_prefix "
                               'at an empty or new folder')


def write_batches(folder, seed, num_train_batches, batch_size, num_test, header):
    """Write the train batches, the test batch and batches.meta into `folder`, then
    `md5sums.txt` (first line `header`), whose sums stand in for the official ones.
    md5sums.txt is written first with the header alone (it marks the folder as ours, also if
    the run is killed), and last with the sums (it marks the set complete)."""
    check_ours(folder)
    os.makedirs(folder, exist_ok=True)
    _write_atomically(os.path.join(folder, 'md5sums.txt'), header.encode())
    rng = np.random.default_rng(seed)
    train_data, train_labels = synthesize(num_train_batches * batch_size, rng)
    test_data, test_labels = synthesize(num_test, rng)  # a call of its own: balanced too
    batches = [(f'data_batch_{i + 1}', f'training batch {i + 1} of {num_train_batches}',
                train_data[i * batch_size:(i + 1) * batch_size], train_labels[i * batch_size:(i + 1) * batch_size])
               for i in range(num_train_batches)]
    batches.append(('test_batch', 'testing batch 1 of 1', test_data, test_labels))
    sums = header
    for name, batch_label, data, labels in batches:
        entry = {'batch_label': batch_label, 'labels': labels.tolist(), 'data': data,
                 'filenames': [f'{name}_{i:05d}.png' for i in range(len(labels))]}
        sums += f'{_write_atomically(os.path.join(folder, name), pickle.dumps(entry, 4))}  {name}\n'
    meta = pickle.dumps({'num_cases_per_batch': batch_size, 'label_names': CLASSES, 'num_vis': 3072}, 4)
    sums += f'{_write_atomically(os.path.join(folder, "batches.meta"), meta)}  batches.meta\n'
    _write_atomically(os.path.join(folder, 'md5sums.txt'), sums.encode())


CLASSES = list(_SHAPES)


class SyntheticCIFAR10(CIFAR10):
    """A learnable CIFAR-10 look-alike that needs no download: the demo's dataset.

    When absent, it writes `<data_prefix>/cifar-10-batches-py` in the real format (see
    write_batches above), with an `md5sums.txt` whose sums stand in for the official ones. Then
    CIFAR10's reader reads it.
    Its size is set by the class attributes (e.g. `SyntheticCIFAR10.num_train_batches = 2`);
    files written with other settings are written again.
    """
    num_train_batches = 5  # of batch_size images: 5000 training images
    batch_size = 1000
    num_test = 1000
    seed = 0
    CLASSES = CLASSES
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)

    @property
    def train_list(self):
        return [(f'data_batch_{i}', None) for i in range(1, self.num_train_batches + 1)]

    def _header(self):  # first line of md5sums.txt: the settings the files were written with
        return (f'# {type(self).__name__} generator=1 seed={self.seed} num_train_batches='
                f'{self.num_train_batches} batch_size={self.batch_size} num_test={self.num_test}\n')

    def expected_md5s(self):
        path, sums = os.path.join(self.folder, 'md5sums.txt'), {}
        try:
            with open(path, encoding='ascii') as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f'{type(self).__name__}: {path!r} cannot be read ({e}). {self.how_to_fix()}') from None
        for number, line in enumerate(lines, 1):
            fields = line.split()
            if line.startswith('#') or not fields:
                continue
            if len(fields) != 2 or not re.fullmatch(r'[0-9a-f]{32}', fields[0]):
                raise DatasetError(f'{type(self).__name__}: {path!r} line {number} is not "<md5>  <file name>": '
                                   f'{line[:60]!r}. {self.how_to_fix()}')
            sums[fields[1]] = fields[0]
        return sums

    def how_to_fix(self):
        return f'Delete {self.folder!r}; the next run writes it again.'

    def prepare_files(self):
        sums_path = os.path.join(self.folder, 'md5sums.txt')
        if os.path.isfile(sums_path):
            with open(sums_path, 'rb') as f:
                header = f.readline().decode('latin1')
            names = [name for name, _ in self.train_list + self.test_list] + [self.meta['filename']]
            if header == self._header() and set(names) <= set(self.expected_md5s()):   # complete: read it
                return
        write_batches(self.folder, self.seed, self.num_train_batches, self.batch_size,
                                self.num_test, self._header())
