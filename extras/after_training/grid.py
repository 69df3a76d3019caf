"""Pictures of images with captions, with PIL only (it comes with torchvision): what
vis_pipeline, analyze_results and the report put side by side. mmcls draws with OpenCV
(mmcv.imshow_infos); here a caption is a strip under the image, so a 32x32 image stays whole.

    tile = captioned(hwc_uint8_rgb, ['cat', 'score 0.93'])
    save_png(row([tile, other]), 'out.png')       # extras/after_training/common.py
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_EDGE = 128          # small images are enlarged (nearest: the pixels stay visible)
LINE = 13               # caption line height, in pixels
BACKGROUND = (255, 255, 255)


def to_pil(img, bgr=False):
    """An HxWx3 (or HxW) array, uint8 or float in 0..255, as a PIL RGB image; `bgr`: the
    array is in BGR order (mmcv's, LoadImageFromFile's)."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if bgr:
        img = img[..., ::-1]
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8) if img.dtype != np.uint8 else img
    return Image.fromarray(np.ascontiguousarray(img), 'RGB')


def enlarged(image, min_edge=MIN_EDGE):
    """The image scaled by a whole factor so that its short edge is at least min_edge."""
    factor = max(1, -(-min_edge // min(image.size)))
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def captioned(image, lines, min_edge=MIN_EDGE, colour=(0, 0, 0)):
    """The (enlarged) image with `lines` of text in a strip under it."""
    image = enlarged(image if isinstance(image, Image.Image) else to_pil(image), min_edge)
    font = ImageFont.load_default()
    width = max([image.width] + [int(font.getlength(t)) + 8 for t in lines])
    out = Image.new('RGB', (width, image.height + LINE * len(lines) + 6), BACKGROUND)
    out.paste(image, ((width - image.width) // 2, 0))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(lines):
        draw.text((4, image.height + 3 + LINE * i), text, fill=colour, font=font)
    return out


def row(images, gap=8):
    """Images side by side, top-aligned, on white."""
    width = sum(im.width for im in images) + gap * (len(images) - 1)
    out = Image.new('RGB', (width, max(im.height for im in images)), BACKGROUND)
    x = 0
    for im in images:
        out.paste(im, (x, 0))
        x += im.width + gap
    return out


def grid(images, columns, gap=8):
    """Images in rows of `columns`."""
    rows = [row(images[i:i + columns], gap) for i in range(0, len(images), columns)]
    width = max(r.width for r in rows)
    out = Image.new('RGB', (width, sum(r.height for r in rows) + gap * (len(rows) - 1)),
                    BACKGROUND)
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height + gap
    return out
