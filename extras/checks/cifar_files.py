"""CIFAR's pickle files read as untrusted input: data.py's CIFAR10 reaches these through its
EXTRAS table on every read (mmcls: `pickle.load` and nothing else, which runs any code
planted in the file, and takes whatever the file holds).

    CIFAR10._read          -> read_cifar_pickle     the restricted unpickler, str keys
    CIFAR10.load_annotations -> check_cifar_batch   (N, 3072) uint8 rows, N labels in range
"""
import hashlib
import os
import pickle

import numpy as np

from data import DatasetError

try:                                           # numpy 2; numpy.core would warn there
    from numpy._core.multiarray import _reconstruct
except ImportError:                            # numpy 1
    from numpy.core.multiarray import _reconstruct


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles what CIFAR files hold and nothing else: dicts, lists, str/bytes/numbers/None/
    bool (no global needed) and numpy arrays. Any other global (a class, a function such
    as os.system in a planted __reduce__) is refused before it is looked up, so no code
    from the file runs. (mmcls calls pickle.load, which runs it.)"""
    ALLOWED = {
        # what numpy 1 (and Python 2) wrote, and what numpy 2 writes
        ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # bytes (an array's buffer) in a protocol-2 pickle written by Python 3
        ('_codecs', 'encode'): lambda text, encoding: text.encode('latin1'),
        ('builtins', 'bytes'): lambda: b'',
        ('__builtin__', 'bytes'): lambda: b''}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'it holds {module}.{name}, which a CIFAR file never holds')
        return self.ALLOWED[module, name]


def md5(path):
    """The file's md5, as mmcls's check_integrity computes it."""
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_cifar_pickle(path, where):
    """The dict a CIFAR file holds, with str keys; `where` names it in a DatasetError."""
    try:
        with open(path, 'rb') as f:
            # Python 2 pickles: str keys read as str
            entry = _CifarUnpickler(f, encoding='latin1').load()
    except Exception as e:  # refused, truncated, not a pickle
        raise DatasetError(f'{where} is not a CIFAR pickle: {e}') from None
    if not isinstance(entry, dict):
        raise DatasetError(f'{where} holds a {type(entry).__name__}, not a dict')
    # re-saved from Python 3 with CIFAR's own recipe (encoding='bytes'), the keys are bytes
    return {k.decode('latin1') if isinstance(k, bytes) else k: v for k, v in entry.items()}


def check_cifar_batch(dataset, name, entry, num_classes):
    """(N, 3072) uint8 rows and N labels in 0..num_classes-1, or a DatasetError naming
    the file. -> (rows, labels as int64)."""
    where = f'{type(dataset).__name__}: {os.path.join(dataset.folder, name)!r}'
    rows = entry.get('data')
    labels = entry.get('labels', entry.get('fine_labels'))   # CIFAR-10 | CIFAR-100
    if rows is None or not isinstance(labels, (list, np.ndarray)):
        raise DatasetError(f"{where} has no 'data' and 'labels' (or 'fine_labels'); "
                           f'its keys: {", ".join(map(str, entry))}')
    if not (isinstance(rows, np.ndarray) and rows.dtype == np.uint8
            and rows.shape[1:] == (3072,)):
        raise DatasetError(f"{where}: 'data' must be uint8 rows of 3072 values "
                           f'(3 x 32 x 32), got {type(rows).__name__} '
                           f'{getattr(rows, "dtype", "")} {getattr(rows, "shape", "")}')
    if len(labels) != len(rows):
        raise DatasetError(f'{where}: {len(rows)} images but {len(labels)} labels')
    labels = np.array(labels, dtype=object if isinstance(labels, list) else None)
    if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
               for x in labels.tolist()):
        raise DatasetError(f'{where}: labels must be ints, e.g. {labels[:1].tolist()}')
    labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DatasetError(f'{where}: label {labels[bad[0]]} at index {bad[0]} '
                           f'is out of range 0..{num_classes - 1}')
    return rows, labels
