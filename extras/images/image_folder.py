"""Datasets of image files, mmcls 0.25's CustomDataset and ImageNet (mmcls: datasets/custom.py,
imagenet.py), reached through data.py's DATASETS table:

    data_prefix/                       or  ann_file, `path label` per line, paths relative
        cat/1.jpg, cat/more/2.png          to data_prefix:   cat/1.jpg 0
        dog/3.jpg                                            dog/3.jpg 1

From a folder the class names are the sorted subfolders (a hidden one too, as mmcv lists it)
and each class's files are walked recursively, hidden files skipped, sorted by their path
inside the class folder, kept when the extension (any case) is one of `extensions`. The
data_infos are mmcls's: {'img_prefix', 'img_info': {'filename'}, 'gt_label': int64 array},
file names only: the images are read by LoadImageFromFile (extras/images/image_pipeline.py) when
an item is asked for. Checked before the first iteration, where mmcls is silent or fails
later: a symlink loop (mmcv walks it ~40 times over), an ann_file or classes file that is no
regular file (a FIFO would hang the run), a blank classes line, an ann_file line that is
blank, not `path label`, outside data_prefix, names a missing file or a label out of range.
Names reach the log escaped (repr): a folder name could hold a newline or an escape sequence.
"""
import logging
import os

import numpy as np

from config import ConfigError
from data import BaseDataset, Compose, DatasetError
from extras.checks.regular_file import open_regular

logger = logging.getLogger('minicls')
IMAGENET_CLASSES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'imagenet_classes.txt')
MAX_CLASSES = 100_000          # config.py's bound on model.head.num_classes


def read_lines(path, what):
    """The lines of a text file (mmcv: list_from_file), from a regular file only (a FIFO
    would hang the run); a name that is not UTF-8 stays the bytes it was (surrogate escapes),
    so it still opens."""
    try:
        with open_regular(path, 'r', encoding='utf-8', errors='surrogateescape',
                          newline='') as f:
            return [line.rstrip('\n\r') for line in f]
    except OSError as e:
        raise DatasetError(f'{what} {path!r} cannot be read ({e.strerror or e})') from None


def list_files(folder):
    """Relative paths of the files under `folder`, recursively, as mmcv's
    HardDiskBackend.list_dir_or_file(list_dir=False, recursive=True): hidden files skipped,
    links followed. A link back to a folder it is in is a DatasetError, not a loop."""
    found, ancestors = [], {}           # (device, inode) -> path, of the folders walked into

    def walk(path):
        stat = os.stat(path)
        key = (stat.st_dev, stat.st_ino)
        if key in ancestors:
            raise DatasetError(f'CustomDataset: {path!r} is {ancestors[key]!r} again: a symlink '
                               'loop; remove the link')
        ancestors[key] = path
        try:
            entries = list(os.scandir(path))
        except OSError as e:
            raise DatasetError(f'CustomDataset: folder {path!r} cannot be listed '
                               f'({e.strerror or e})') from None
        for entry in entries:
            if not entry.name.startswith('.') and entry.is_file():
                found.append(os.path.relpath(entry.path, folder))
            elif entry.is_dir():
                walk(entry.path)
        del ancestors[key]

    walk(folder)
    return found


class CustomDataset(BaseDataset):
    """Images in class folders under data_prefix, or listed in ann_file. mmcls: CustomDataset.
    classes: names (a list), a file of names (one a line), or None (the folder names; with an
    ann_file: the class's CLASSES, None for CustomDataset as in mmcls)."""
    EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')

    def __init__(self, data_prefix, pipeline=(), classes=None, ann_file=None,
                 extensions=EXTENSIONS, test_mode=False, file_client_args=None, batched=False):
        if batched:
            raise ConfigError(f'{type(self).__name__}: batched=True stacks raw images, and image '
                             'files differ in size; use batched=False')
        if file_client_args not in (None, {'backend': 'disk'}):
            raise ConfigError(f'{type(self).__name__}: file_client_args={file_client_args!r}: '
                             "only None or dict(backend='disk') is supported")
        self.extensions = tuple(dict.fromkeys(e.lower() for e in extensions))
        self.data_prefix = os.path.expanduser(str(data_prefix))
        if not (ann_file is None or isinstance(ann_file, str)):    # mmcls: a TypeError
            raise ConfigError(f'{type(self).__name__}: ann_file={ann_file!r} must be a file name '
                              '(a str) or None')
        self.pipeline = Compose(pipeline, allow_empty=True)
        self.CLASSES = self.get_classes(classes)
        self.ann_file = os.path.expanduser(ann_file) if ann_file is not None else None
        self.test_mode, self.batched = test_mode, False
        self.data_infos = self.load_annotations()

    @classmethod
    def get_classes(cls, classes=None):
        """mmcls: BaseDataset.get_classes; a list or tuple is kept as given (as mmcls), a
        file's blank line is an error (mmcls would make it a class named '')."""
        if classes is None:
            return cls.CLASSES
        if isinstance(classes, str):
            path = os.path.expanduser(classes)
            names = read_lines(path, f'{cls.__name__}: classes file')
            blank = next((i for i, name in enumerate(names, 1) if not name.strip()), None)
            if blank is not None:
                raise DatasetError(f'{cls.__name__}: classes file {path!r} line {blank} is blank; '
                                   'the file holds one class name a line')
            return names
        if isinstance(classes, (tuple, list)):
            return classes
        raise ConfigError(f'{cls.__name__}: classes={classes!r} must be a list of names, '
                         'a file of names or None')

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.CLASSES)}

    def get_cat_ids(self, idx):
        return [int(self.data_infos[idx]['gt_label'])]

    def is_valid_file(self, filename):
        return filename.lower().endswith(self.extensions)

    def load_annotations(self):
        if not os.path.isdir(self.data_prefix):
            raise DatasetError(f'{type(self).__name__}: data_prefix {self.data_prefix!r} is not '
                               'a folder')
        samples = self._find_samples() if self.ann_file is None else self._read_ann_file()
        label = {i: np.array(i, dtype=np.int64) for i in {s[1] for s in samples}}  # shared
        return [{'img_prefix': self.data_prefix, 'img_info': {'filename': name},
                 'gt_label': label[i]} for name, i in samples]

    def _find_samples(self):
        """[(class folder/relative path, label)]. mmcls: CustomDataset._find_samples."""
        where = f'{type(self).__name__}: {self.data_prefix!r}'
        folders = sorted(entry.name for entry in os.scandir(self.data_prefix) if entry.is_dir())
        samples, empty = [], []
        for i, folder in enumerate(folders):
            files = sorted(f for f in list_files(os.path.join(self.data_prefix, folder))
                           if self.is_valid_file(f))
            samples += [(os.path.join(folder, f), i) for f in files]
            empty += [] if files else [folder]
        if not samples:
            raise DatasetError(f'{where}: found 0 files in its subfolders; supported '
                               f'extensions are: {", ".join(self.extensions)}')
        if self.CLASSES is not None and len(self.CLASSES) != len(folders):
            raise DatasetError(f'{where} has {len(folders)} subfolders but {len(self.CLASSES)} '
                               f'classes are given ({type(self).__name__}.CLASSES or classes)')
        if self.CLASSES is None:
            self.CLASSES = folders
        if empty:   # mmcls warns (warnings.warn); here it goes to the log, names escaped
            logger.warning(f'Found no valid file in the folder {", ".join(map(repr, empty))}. '
                           f'Supported extensions are: {", ".join(self.extensions)}')
        self.folder_to_idx = {folder: i for i, folder in enumerate(folders)}
        self.empty_classes = empty       # classes all the same (as mmcls); train.py names them
        return samples

    def _read_ann_file(self):
        """[(path, label)] from `path label` lines, each checked (mmcls checks none)."""
        samples, missing = [], []
        num_classes = len(self.CLASSES) if self.CLASSES is not None else None
        for number, line in enumerate(read_lines(self.ann_file, 'ann_file'), 1):
            where = f'ann_file {self.ann_file!r} line {number}'
            path, _, label = line.strip().rpartition(' ')
            if not line.strip():
                raise DatasetError(f'{where} is blank; every line is `relative/path label`')
            try:
                label = int(label) if path else None
            except ValueError:
                label = None
            if label is None:
                raise DatasetError(f'{where} ({line[:80]!r}) is not `relative/path label` '
                                   '(an integer label after the last space)')
            if os.path.isabs(path) or os.path.normpath(path).split(os.sep)[0] == os.pardir:
                raise DatasetError(f'{where}: {path!r} is outside data_prefix; paths are '
                                   f'relative to {self.data_prefix!r}')
            if not 0 <= label < (num_classes or MAX_CLASSES):
                allowed = f'0..{(num_classes or MAX_CLASSES) - 1}'
                raise DatasetError(f'{where}: label {label} is out of range {allowed}')
            if not os.path.isfile(os.path.join(self.data_prefix, path)):
                missing.append((number, path))
            samples.append((path, label))
        if missing:
            (number, path), more = missing[0], len(missing) - 1
            raise DatasetError(f'ann_file {self.ann_file!r} line {number}: {path!r} is not a '
                               f'file in {self.data_prefix!r}'
                               + (f' (and {more} more lines name missing files)' if more else ''))
        return samples


class ImageNet(CustomDataset):
    """ImageNet (mmcls: ImageNet): CustomDataset with ImageNet-1k's 1000 class names
    (extras/images/imagenet_classes.txt, mmcls's list) unless `classes` is given."""
    CLASSES = read_lines(IMAGENET_CLASSES, 'ImageNet classes file')

    def __init__(self, data_prefix, pipeline=(), classes=None, ann_file=None, test_mode=False,
                 file_client_args=None, batched=False):
        super().__init__(data_prefix, pipeline, classes, ann_file, self.EXTENSIONS, test_mode,
                         file_client_args, batched)
