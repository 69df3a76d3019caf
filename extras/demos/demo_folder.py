"""The folder demo's dataset, DemoFolder: the demo's ten shapes (extras/demos/demo_data.py) as JPEG
files in the two layouts mmcls reads, written the first time it is used, then read by
CustomDataset (extras/images/image_folder.py) like any folder of one's own photos:

    data/demo_folder/
        train/<class>/<n>.jpg        one subfolder per class: the class names, sorted
        val/<n>.jpg                  one flat folder ...
        meta/val.txt                 ... and an ann_file of `<n>.jpg <label>` lines (ImageNet's)
        meta/train5.txt, val5.txt    a small set of 5 of the classes, for fine-tuning
        demo_folder.txt              what wrote the files, with which settings

The images are 48x64 (height x width, not square, as photos are): the 32x32 images of the CIFAR
demo's generator, enlarged. The whole folder is written in a hidden folder beside it and
renamed into place, so a killed first run leaves no half-written set.
"""
import io
import os
import shutil
import tempfile

import numpy as np
from PIL import Image

from data import DatasetError
from extras.demos.demo_data import CLASSES, synthesize
from extras.images.image_folder import CustomDataset


class DemoFolder(CustomDataset):
    """CustomDataset over data/demo_folder, written when absent. data_prefix is the split's
    folder (`<root>/train` or `<root>/val`); the settings are the class attributes."""
    CLASSES = sorted(CLASSES)           # the folder names, as CustomDataset sorts them
    num_train = 2000
    num_val = 500
    size = (48, 64)                     # height, width of every image
    seed = 0

    def __init__(self, data_prefix, pipeline=(), classes=None, ann_file=None, **kwargs):
        root = os.path.dirname(os.path.normpath(os.path.expanduser(data_prefix)))
        write_demo_folder(root, self.header())
        super().__init__(data_prefix, pipeline, classes, ann_file, **kwargs)

    @classmethod
    def header(cls):
        return (f'DemoFolder generator=2 seed={cls.seed} num_train={cls.num_train} '
                f'num_val={cls.num_val} size={cls.size[0]}x{cls.size[1]}\n')


def write_demo_folder(root, header):
    """Write the demo's folder at `root` unless it is there with the same header; refuse a
    folder that something else wrote."""
    mark = os.path.join(root, 'demo_folder.txt')
    if os.path.isfile(mark):
        with open(mark, 'rb') as f:
            found = f.read(200).decode('latin1')
        if found == header:
            return
        raise DatasetError(f'DemoFolder: {mark!r} was written with other settings ({found!r}); '
                           f'delete {root!r} and the next run writes it again')
    if os.path.exists(root) and os.listdir(root):
        raise DatasetError(f'DemoFolder: {root!r} holds files the demo did not write; refusing '
                           'to touch them: point data_prefix at a new folder')
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.demo_folder-', dir=parent)
    try:
        fill(tmp, header)
        if os.path.isdir(root):          # an empty folder of the user's: ours to fill
            os.rmdir(root)
        os.rename(tmp, root)             # another process may have won: its set is as good
    except OSError:
        if not os.path.isfile(mark):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fill(folder, header):
    rng = np.random.default_rng(int(header.split('seed=')[1].split()[0]))
    settings = dict(item.split('=') for item in header.split()[2:])
    height, width = map(int, settings['size'].split('x'))
    num_train, num_val = int(settings['num_train']), int(settings['num_val'])
    rows, labels = synthesize(num_train + num_val, rng)
    images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)       # CIFAR rows -> HWC RGB
    lines = []
    names = sorted(CLASSES)              # a label is the index of its folder's sorted name
    for i, (img, label) in enumerate(zip(images, labels)):
        label = names.index(CLASSES[label])
        if i < num_train:
            name = os.path.join('train', names[label], f'{i:05d}.jpg')
        else:
            name = os.path.join('val', f'{i - num_train:05d}.jpg')
            lines.append(f'{os.path.basename(name)} {label}\n')
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(img).resize((width, height), Image.BICUBIC).save(buffer, 'JPEG',
                                                                          quality=90)
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(buffer.getvalue())
    os.makedirs(os.path.join(folder, 'meta'))
    with open(os.path.join(folder, 'meta', 'val.txt'), 'w') as f:
        f.writelines(lines)
    # configs/demo_folder_finetune.py's own small set: the first 5 classes (labels 0-4 stay),
    # 40 training images of each, listed by ann_file as a teacher would list a class's photos
    with open(os.path.join(folder, 'meta', 'train5.txt'), 'w') as f:
        for label, name in enumerate(names[:5]):
            files = sorted(os.listdir(os.path.join(folder, 'train', name)))[:40]
            f.writelines(f'{name}/{file} {label}\n' for file in files)
    with open(os.path.join(folder, 'meta', 'val5.txt'), 'w') as f:
        f.writelines(line for line in lines if int(line.split()[1]) < 5)
    with open(os.path.join(folder, 'demo_folder.txt'), 'w') as f:   # last: the set is complete
        f.write(header)
