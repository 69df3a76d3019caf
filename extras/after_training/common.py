"""What the after-training tools share: a config and its test set, the result file of
`tools/test.py --out`, a PNG written safely, matplotlib on demand, and the one-line errors of
their command lines. The model and its scores on data.test are testing.py's and inference.py's.

    cfg = load_cfg('configs/demo_folder.py')
    results = read_results('results.json', num_samples=len(build_test_set(cfg)))

A user's mistake (a missing file, a file that is not what it should be) raises ConfigError,
DatasetError, CheckpointError or ToolError, and `run_tool` turns it into `error: <one line>`
with a non-zero exit status; any other exception is a bug and keeps its traceback.
"""
import io
import json
import os
import sys

from checkpoint import CheckpointError, atomic_write
from config import ConfigError, check_config, load_config
from data import DatasetError, build_dataset
from extras.run.logger import escape


class ToolError(ValueError):
    """A bad input of an after-training tool (a result file, an image, a work dir)."""


USER_ERRORS = (ConfigError, DatasetError, CheckpointError, ToolError, OSError)


def run_tool(main, argv=None):
    """main(argv) -> exit status; a user's error is one line on stderr and status 1 (2 for a
    ConfigError, as train.py)."""
    try:
        return main(argv) or 0
    except USER_ERRORS as e:
        text = ' '.join(str(e).split()) or type(e).__name__
        print(f'error: {escape(text)}', file=sys.stderr)      # file content quoted: escaped
        return 2 if isinstance(e, ConfigError) else 1


def quote(text, limit=60):
    """A piece of a file for a message: escaped (repr), cut short."""
    return repr(text[:limit]) + ('...' if len(text) > limit else '')


# ---- Reading: the config, the test set, the images ----------------------------------------------

def load_cfg(path, cfg_options=None):
    """The config file (a minicls or an mmcls one), with --cfg-options, checked."""
    cfg = load_config(path)
    if cfg_options:
        from extras.options.cfg_options import apply_cfg_options
        cfg = apply_cfg_options(cfg, cfg_options)
    check_config(cfg)
    return cfg


def build_test_set(cfg):
    """data.test, the set tools/test.py evaluates (mmcls: build_dataset(cfg.data.test))."""
    return build_dataset(cfg.data.test)


def source_image(dataset, index):
    """(the image of sample `index` as stored, is it BGR?) without the pipeline: a CIFAR
    array (RGB), or a file read as LoadImageFromFile reads it (BGR, as mmcv)."""
    info = dataset.data_infos[index]
    if 'img' in info:
        return info['img'], False
    from extras.images.image_pipeline import imread
    return imread(source_name(info)), True


def source_name(info):
    """The file of a sample (mmcls's analyze_results: img_prefix joined to the filename);
    None for a CIFAR array."""
    if 'img_info' not in info:
        return None
    prefix = info.get('img_prefix')
    name = info['img_info']['filename']
    return os.path.join(prefix, name) if prefix is not None else name


# ---- The result file of tools/test.py --out (mmcls 0.25's layout) -------------------------

RESULT_KEYS = ('class_scores', 'pred_score', 'pred_label', 'pred_class')


def read_results(path, num_samples=None):
    """The JSON that `tools/test.py --out` writes: a dict of `class_scores` (N x C),
    `pred_score`, `pred_label`, `pred_class` (N each) and the metrics. Checked: one line
    naming the file and what is wrong; with `num_samples`, N must be the test set's size."""
    where = f'result file {path!r}'
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise ToolError(f'{where} cannot be read ({e.strerror})') from None
    try:
        results = json.loads(raw)
    except (ValueError, RecursionError):
        text = raw[:60].decode('utf-8', 'backslashreplace')
        raise ToolError(f'{where} is not JSON (it starts {quote(text)}); give the file '
                        'that tools/test.py --out wrote') from None
    if not isinstance(results, dict) or not all(k in results for k in RESULT_KEYS):
        found = sorted(results)[:8] if isinstance(results, dict) else type(results).__name__
        raise ToolError(f'{where} has no {", ".join(RESULT_KEYS)} (found {found}); write it '
                        'with tools/test.py --out (its --out-items all)')
    n = len(results['pred_label']) if isinstance(results['pred_label'], list) else -1
    scores = results['class_scores']
    rows_ok = (isinstance(scores, list) and len(scores) == n and all(
        isinstance(r, list) and r and len(r) == len(scores[0]) for r in scores))
    if n < 1 or not rows_ok or any(
            not isinstance(results[k], list) or len(results[k]) != n for k in RESULT_KEYS):
        raise ToolError(f'{where}: {", ".join(RESULT_KEYS)} must be lists of the same length '
                        '(class_scores: one list of C scores per image)')
    num_classes = len(scores[0])
    if not all(isinstance(x, int) and 0 <= x < num_classes for x in results['pred_label']):
        raise ToolError(f'{where}: pred_label holds a value that is not a class index '
                        f'0..{num_classes - 1}')
    if num_samples is not None and n != num_samples:
        raise ToolError(f'{where} has {n} results, but the config\'s data.test has '
                        f'{num_samples} images: give the config it was tested with')
    return results


# ---- Writing: a PNG, never through a link -------------------------------------------------

def save_png(image, path):
    """A PIL image or a matplotlib figure (closed then) to `path` as PNG, written atomically
    (a link planted at `path` is replaced, not followed)."""
    data = png_bytes(image)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ToolError(f'{path!r}: the folder {folder!r} does not exist')
    atomic_write(path, data)


def png_bytes(image):
    """A PIL image or a matplotlib figure as PNG bytes; the figure is closed (pyplot keeps
    every open figure)."""
    buffer = io.BytesIO()
    if hasattr(image, 'savefig'):
        image.savefig(buffer, format='png', dpi=image.dpi)
        import matplotlib.pyplot as plt
        plt.close(image)
    else:
        image.save(buffer, format='PNG', optimize=True)
    return buffer.getvalue()


def save_json(data, path):
    atomic_write(path, (json.dumps(data) + '\n').encode())


def make_dir(path):
    """An output folder (made if missing); a file of that name is an error."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ToolError(f'--out-dir {path!r} exists and is not a folder')
    os.makedirs(path, exist_ok=True)


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display); an optional extra."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        raise ToolError('this picture needs matplotlib, an optional extra: '
                        'pip install matplotlib') from None
    return plt
