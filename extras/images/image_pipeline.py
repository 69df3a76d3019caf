"""Transforms for images read from files, mmcls 0.25's names and arguments: LoadImageFromFile,
RandomResizedCrop, Resize, CenterCrop (mmcls: datasets/pipelines/loading.py, transforms.py).
data.py's PIPELINES names them as 'extras.images.image_pipeline:<name>'; config.lookup imports this
file when a pipeline asks for one of them.

Decoding is PIL's (it comes with torchvision): it reads every format mmcls's CustomDataset lists
(jpg, png, ppm, bmp, pgm, tif), has a decompression-bomb limit (PIL.Image.MAX_IMAGE_PIXELS) and
is maintained; torchvision.io reads neither bmp, ppm, pgm nor tif and its decoders are
deprecated since torchvision 0.29 (docs/benchmarks.md has the speeds of both). mmcv decodes
with OpenCV's imdecode(IMREAD_COLOR), which opencv-free minicls reproduces: 3 channels whatever
the file holds (grey repeated, alpha dropped, palette expanded, 16 bits shifted to 8), EXIF
orientation applied, BGR order. Resizing is mmcv's cv2 bilinear (no antialias when shrinking):
torch's uint8 bilinear interpolation, within one grey level of cv2.resize (tests and
docs/benchmarks.md). Random draws come from Python's `random`, as mmcls's RandomResizedCrop.
Images are untrusted: what a transform makes has at most PIL.Image.MAX_IMAGE_PIXELS, the
limit a decoded image has (a 1 x 100000 PNG under Resize((256, -1)) would be 19.7 GB), and an
image a transform cannot take is a DatasetError naming its file.
"""
import math
import os
import random
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from config import ConfigError
from data import DatasetError
from extras.checks.regular_file import open_regular


def imread(path, flag='color'):
    """An HxWx3 uint8 BGR array, as mmcv.imread(path, flag) with its cv2 backend. flag:
    'color' applies the EXIF orientation, 'color_ignore_orientation' does not. A file that
    cannot be read or decoded is a DatasetError naming it."""
    where = f'LoadImageFromFile: {path!r}'
    try:
        with open_regular(path) as f, warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)   # refused below
            img = Image.open(f)      # reads the header only
            width, height = img.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit and width * height > limit:
                raise DatasetError(f'{where} is {width}x{height} pixels, more than PIL.Image.'
                                   f'MAX_IMAGE_PIXELS={limit} (a decompression bomb?)')
            img.load()
    except DatasetError:
        raise
    except Image.DecompressionBombError as e:       # PIL's own check: twice the limit
        raise DatasetError(f'{where} is a decompression bomb ({e})') from None
    except UnidentifiedImageError:
        what = 'empty (0 bytes)' if os.path.getsize(path) == 0 else 'not an image PIL can read'
        raise DatasetError(f'{where} is {what}') from None
    except (OSError, SyntaxError, ValueError) as e:   # truncated, unreadable, corrupt
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise DatasetError(f'{where} cannot be read or decoded ({reason})') from None
    if flag == 'color':
        ImageOps.exif_transpose(img, in_place=True)
    if img.mode.startswith('I;16'):       # 16-bit grey: cv2 keeps the high byte
        img = Image.fromarray((np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8))
    if img.mode != 'RGB':
        img = img.convert('RGB')          # grey, palette, alpha (dropped), CMYK...
    return np.array(img)[..., ::-1]      # writable, as mmcv's; BGR: a view, no copy


class LoadImageFromFile:
    """Read `img_prefix`/`img_info.filename` into results['img'] (HxWx3 uint8 BGR). mmcls: same
    name. color_type: mmcv's 'color' (the default) or 'color_ignore_orientation'; 'disk' is
    the only file client backend."""

    def __init__(self, to_float32=False, color_type='color',
                 file_client_args=dict(backend='disk')):
        if color_type not in ('color', 'color_ignore_orientation'):
            raise ConfigError(f'LoadImageFromFile: color_type={color_type!r} is not supported; '
                             "valid: 'color', 'color_ignore_orientation'")
        if not isinstance(file_client_args, dict) or file_client_args != {'backend': 'disk'}:
            raise ConfigError(f'LoadImageFromFile: file_client_args={file_client_args!r}: '
                             "only dict(backend='disk') is supported")
        self.to_float32, self.color_type = to_float32, color_type
        self.file_client_args = dict(file_client_args)

    def __call__(self, results):
        name = results['img_info']['filename']
        prefix = results.get('img_prefix')
        filename = os.path.join(prefix, name) if prefix is not None else name
        img = imread(filename, self.color_type)
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(filename=filename, ori_filename=name, img=img, img_shape=img.shape,
                       ori_shape=img.shape)
        results['img_norm_cfg'] = dict(mean=np.zeros(3, np.float32), std=np.ones(3, np.float32),
                                       to_rgb=False)
        return results

    def __repr__(self):
        return (f"LoadImageFromFile(to_float32={self.to_float32}, "
                f"color_type='{self.color_type}', file_client_args={self.file_client_args})")


def imresize(img, height, width):
    """mmcv.imresize(img, (width, height)) with cv2's bilinear: torch's uint8 bilinear without
    antialias (float images: float bilinear). A channel-reversed view (BGR of an RGB decode)
    is resized as it lies in memory and reversed again, with no copy."""
    reversed_channels = img.ndim == 3 and img.strides[2] < 0
    src = img[..., ::-1] if reversed_channels else img
    x = torch.from_numpy(np.ascontiguousarray(src))
    x = (x[..., None] if x.ndim == 2 else x).permute(2, 0, 1)[None]   # a view, channels last
    out = F.interpolate(x, (height, width), mode='bilinear', align_corners=False,
                        antialias=False)[0].permute(1, 2, 0).contiguous().numpy()   # HWC
    out = out[..., 0] if img.ndim == 2 else out
    return out[..., ::-1] if reversed_channels else out


def check_cv2_bilinear(name, interpolation, backend):
    if interpolation != 'bilinear' or backend != 'cv2':
        raise ConfigError(f"{name}: interpolation={interpolation!r}, backend={backend!r}: only "
                         "'bilinear' with 'cv2' (mmcls's default) is supported here")


def pair(size, name, allow_minus_one=False):
    """An int n -> (n, n); a 2-tuple or list (h, w) -> (h, w); each > 0 (w may be -1), and
    h x w no more pixels than PIL.Image.MAX_IMAGE_PIXELS, the limit a decoded image has."""
    pair_ = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    ok = (isinstance(pair_, (tuple, list)) and len(pair_) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in pair_)
          and pair_[0] > 0 and (pair_[1] > 0 or allow_minus_one and pair_[1] == -1))
    limit = Image.MAX_IMAGE_PIXELS
    if not ok or limit and pair_[0] * abs(pair_[1]) > limit:
        allowed = ', or (h, -1)' if allow_minus_one else ''
        raise ConfigError(f'{name}={size!r} is not valid; allowed: an int > 0, (h, w) > 0'
                         f'{allowed}, h x w at most PIL.Image.MAX_IMAGE_PIXELS={limit}')
    return tuple(pair_)


def check_output_size(name, results, shape, height, width):
    """What a transform makes of an image of `shape` (height x width) has sides > 0 and
    no more pixels than the image decoding limit (PIL.Image.MAX_IMAGE_PIXELS): a 1 x 100000
    PNG of 370 bytes under Resize((256, -1)) would ask for 19.7 GB."""
    limit = Image.MAX_IMAGE_PIXELS
    if height < 1 or width < 1 or limit and height * width > limit:
        allowed = f'at most {limit} pixels' if limit else 'no side 0'
        raise DatasetError(f"{name}: {results.get('filename', 'an image')!r} is "
                           f'{shape[0]}x{shape[1]} and would become {height}x{width}; '
                           f'allowed: {allowed} (PIL.Image.MAX_IMAGE_PIXELS)')


def check_range(name, value, low, high=math.inf):
    """(min, max), two finite numbers, low < min <= max <= high."""
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in value) and low < value[0] <= value[1] <= high)
    if not ok:
        top = '' if high == math.inf else f' <= {high}'
        raise ConfigError(f'{name}={value!r} is not valid; allowed: (min, max) with '
                          f'{low} < min <= max{top}, finite numbers')


class RandomResizedCrop:
    """A crop of random area (`scale` of the image's) and aspect ratio (`ratio`, drawn
    log-uniformly), resized to `size` (h, w). mmcls: RandomResizedCrop (not its
    efficientnet_style). After max_attempts draws that do not fit, the central crop of the
    largest box within `ratio`."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3. / 4., 4. / 3.), max_attempts=10,
                 interpolation='bilinear', backend='cv2'):
        self.size = pair(size, 'RandomResizedCrop: size')
        check_range('RandomResizedCrop: scale', scale, 0, 1)      # of the image's area
        check_range('RandomResizedCrop: ratio', ratio, 0)         # its log is drawn
        if not (isinstance(max_attempts, int) and max_attempts >= 0):
            raise ConfigError(f'RandomResizedCrop: max_attempts={max_attempts!r} must be an '
                             'int >= 0')
        check_cv2_bilinear('RandomResizedCrop', interpolation, backend)
        self.scale, self.ratio, self.max_attempts = tuple(scale), tuple(ratio), max_attempts
        self.interpolation, self.backend = interpolation, backend

    @staticmethod
    def get_params(img, scale, ratio, max_attempts=10):
        """(ymin, xmin, ymax, xmax), inclusive, drawn from `random` in mmcls's order."""
        height, width = img.shape[:2]
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(max_attempts):
            area = random.uniform(*scale) * height * width
            aspect = math.exp(random.uniform(*log_ratio))
            w, h = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                ymin, xmin = random.randint(0, height - h), random.randint(0, width - w)
                return ymin, xmin, ymin + h - 1, xmin + w - 1
        w, h = width, height                  # the fallback: the whole image, or its middle
        if width / height < min(ratio):
            h = int(round(width / min(ratio)))
        elif width / height > max(ratio):
            w = int(round(height * max(ratio)))
        ymin, xmin = (height - h) // 2, (width - w) // 2
        return ymin, xmin, ymin + h - 1, xmin + w - 1

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            img = results[key]
            ymin, xmin, ymax, xmax = self.get_params(img, self.scale, self.ratio,
                                                     self.max_attempts)
            results[key] = imresize(img[ymin:ymax + 1, xmin:xmax + 1], *self.size)
        return results

    def __repr__(self):
        return (f'RandomResizedCrop(size={self.size}, scale={self.scale}, ratio='
                f'{tuple(round(r, 4) for r in self.ratio)}, max_attempts={self.max_attempts})')


class Resize:
    """Resize to `size` (h, w), or with (h, -1) keep the aspect ratio: the `adaptive_side`
    ('short', 'long', 'height' or 'width') becomes h, the other side int(h * other / side);
    an image whose side is h already is left as it is. mmcls: Resize."""

    def __init__(self, size, interpolation='bilinear', adaptive_side='short', backend='cv2'):
        self.size = pair(size, 'Resize: size', allow_minus_one=True)
        if adaptive_side not in ('short', 'long', 'height', 'width'):
            raise ConfigError(f'Resize: adaptive_side={adaptive_side!r} is not one of '
                             "'short', 'long', 'height', 'width'")
        check_cv2_bilinear('Resize', interpolation, backend)
        self.adaptive_side, self.interpolation, self.backend = adaptive_side, interpolation, backend

    def target(self, h, w):
        """(height, width) for an h x w image; None to leave it as it is."""
        side = self.size[0]
        if self.size[1] != -1:
            return self.size
        if {'short': min(h, w), 'long': max(h, w), 'height': h, 'width': w}[self.adaptive_side] \
                == side:
            return None
        if (self.adaptive_side == 'short' and w < h or self.adaptive_side == 'long' and w > h
                or self.adaptive_side == 'width'):
            return int(side * h / w), side
        return side, int(side * w / h)

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            size = self.target(*results[key].shape[:2])
            if size is not None:
                check_output_size('Resize', results, results[key].shape, *size)
                results[key] = imresize(results[key], *size)
                results['img_shape'] = results[key].shape
        return results

    def __repr__(self):
        return f'Resize(size={self.size}, interpolation={self.interpolation})'


class CenterCrop:
    """The central crop_size (h, w) window. mmcls: CenterCrop (not its efficientnet_style).
    An image smaller than it is a DatasetError naming the file: mmcls keeps that side whole,
    and the batch then fails to stack with crops of crop_size (or of other small images)."""

    def __init__(self, crop_size):
        self.crop_size = pair(crop_size, 'CenterCrop: crop_size')

    def __call__(self, results):
        crop_h, crop_w = self.crop_size
        for key in results.get('img_fields', ['img']):
            img = results[key]
            h, w = img.shape[:2]
            check_crop_fits(results, img.shape, self.crop_size)
            y1, x1 = int(round((h - crop_h) / 2.)), int(round((w - crop_w) / 2.))
            results[key] = img[y1:y1 + crop_h, x1:x1 + crop_w]
            results['img_shape'] = results[key].shape
        return results

    def __repr__(self):
        return f'CenterCrop(crop_size={self.crop_size})'


def check_crop_fits(results, shape, crop_size):
    if shape[0] < crop_size[0] or shape[1] < crop_size[1]:
        raise DatasetError(f"CenterCrop: {results.get('filename', 'an image')!r} is "
                           f'{shape[0]}x{shape[1]}, smaller than crop_size={crop_size}: its '
                           'crop would not stack with the others; put a Resize before it, or '
                           'make crop_size smaller')
