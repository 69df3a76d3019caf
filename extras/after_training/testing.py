"""Test a checkpoint: its metrics on the config's data.test, and each image's scores
(mmcls: tools/test.py; apis/test.py single_gpu_test, multi_gpu_test). tools/test.py is the
command line over it.

    dataset, outputs, classes = test_checkpoint(cfg, 'epoch_5.pth', device='cpu')
    metrics = dataset.evaluate(outputs, ['accuracy', 'f1_score'], {'topk': (1, 5)})
    print(''.join(metric_lines(metrics)))     # mmcls's lines: '\\naccuracy_top-1 : 71.3'

The evaluation is hooks.py's single_gpu_test, the function EvalHook calls during training, and
BaseDataset.evaluate (data.py; precision, recall, f1_score, support: extras/options/metrics.py).
With --launcher pytorch each process tests its share and rank 0 gathers them in order
(extras/options/distributed.py: collect_results), as mmcls's multi_gpu_test.
"""
import ast
import json
import os
from numbers import Number

import numpy as np
import torch

from checkpoint import atomic_write
from config import METRICS, ConfigError
from data import build_dataloader, build_dataset
from hooks import single_gpu_test
from extras.after_training.inference import init_model

OUT_ITEMS = ('class_scores', 'pred_score', 'pred_label', 'pred_class')
METRIC_OPTIONS = ('topk', 'thrs', 'average_mode')


def test_checkpoint(cfg, checkpoint, device='cpu', distributed=False):
    """(data.test, the scores of each of its images in order, the class names); with
    `distributed`, the scores on rank 0 only (None elsewhere). mmcls: tools/test.py's main."""
    model = init_model(cfg, checkpoint, device)     # a checkpoint that does not fit: no data read
    dataset = build_dataset(cfg.data.test)
    check_fits(checkpoint, model.CLASSES, dataset, cfg)
    layout = torch.channels_last if cfg.channels_last else torch.preserve_format
    model.to(memory_format=layout)
    # mmcls: data.samples_per_gpu and workers_per_gpu (val_samples_per_gpu is the val loader's)
    data = cfg.data
    loader = build_dataloader(dataset, data.samples_per_gpu, data.workers_per_gpu,
                              dist=distributed, shuffle=False, round_up=True,
                              pin_memory=data.pin_memory, persistent_workers=False)
    to_device = lambda batch: {  # noqa: E731
        k: v.to(device, memory_format=layout) if torch.is_tensor(v) and v.dim() == 4
        else v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    rank = torch.distributed.get_rank() if distributed else 0
    outputs = single_gpu_test(model, loader, to_device, progress=rank == 0)
    if distributed:
        from extras.options.distributed import collect_results
        outputs = collect_results(outputs, len(dataset))
    return dataset, (outputs if rank == 0 else None), model.CLASSES


def check_fits(checkpoint, classes, dataset, cfg):
    """The checkpoint's classes are data.test's: the same names (when both have them), and
    every label below the head's size."""
    test = cfg.data.test
    where = f'data.test ({test.type} at {test.data_prefix!r})'
    names = None if dataset.CLASSES is None else list(dataset.CLASSES)
    if names is not None and names != classes:
        raise ConfigError(f'{checkpoint} was trained on {len(classes)} classes '
                          f'({short(classes)}), {where} has {len(names)} ({short(names)})')
    labels = dataset.get_gt_labels()
    if len(labels) and labels.max() >= len(classes):
        raise ConfigError(f'{checkpoint} has a head of {len(classes)} classes, {where} has '
                          f'labels up to {labels.max()}')


def short(names, limit=4):
    return ', '.join(map(repr, names[:limit])) + (', ...' if len(names) > limit else '')


# ---- --metrics, --metric-options: checked before the model runs ---------------------------

def parse_metric_options(items):
    """['topk=(1,5)', 'thrs=0.5', 'average_mode=none'] -> dict; values are Python literals,
    a bare word a string (mmcv: DictAction). `topk=1,5` is the tuple (1, 5)."""
    options = {}
    for item in items:
        key, sep, text = item.partition('=')
        if not sep:
            raise ConfigError(f'--metric-options: {item!r} is not of the form key=value')
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
    return options


def check_metric_args(metrics, options, num_classes):
    """The names BaseDataset.evaluate knows, and options it can use (mmcls ignores an
    unknown option, and fails inside torch.topk on a topk above the number of classes)."""
    for name in metrics:
        if name not in METRICS:
            raise ConfigError(f'--metrics: {name!r} is not a metric; valid: {", ".join(METRICS)}')
    for key in options:
        if key not in METRIC_OPTIONS:
            raise ConfigError(f'--metric-options: {key!r} is not an option; valid: '
                              f'{", ".join(METRIC_OPTIONS)}')
    topk = options.get('topk', (1, 5))
    ks = topk if isinstance(topk, (tuple, list)) else (topk,)
    if not ks or not all(type(k) is int and 1 <= k <= num_classes for k in ks):
        raise ConfigError(f'--metric-options: topk={topk!r}; allowed: an int 1..{num_classes} '
                          '(the number of classes) or a tuple of them, e.g. topk=(1,5)')
    thrs = options.get('thrs')
    values = thrs if isinstance(thrs, (tuple, list)) else (thrs,)
    if not all(v is None or isinstance(v, Number) and not isinstance(v, bool) for v in values):
        raise ConfigError(f'--metric-options: thrs={thrs!r}; allowed: a number or a tuple of '
                          'them, e.g. thrs=0.5 or thrs=(0,0.5)')
    if options.get('average_mode', 'macro') not in ('macro', 'none'):
        raise ConfigError(f"--metric-options: average_mode={options['average_mode']!r}; "
                          "allowed: macro, none")
    # a list would not give mmcls's keys: the same as its tuple
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


# ---- What tools/test.py prints and writes --------------------------------------------------

def metric_lines(eval_results):
    """mmcls's printed lines, `\\n{key} : {value}`, numbers rounded to 2 places."""
    lines = []
    for key, value in eval_results.items():
        if isinstance(value, np.ndarray):
            value = [round(v, 2) for v in value.tolist()]
        else:
            value = round(value, 2)
        lines.append(f'\n{key} : {value}')
    return lines


def out_items(outputs, classes, items):
    """The per-image items of --out-items ('all', 'none' or some of OUT_ITEMS)."""
    if 'none' in items:
        return {}
    scores = np.vstack(outputs)
    pred_label = np.argmax(scores, axis=1)
    found = dict(class_scores=scores, pred_score=np.max(scores, axis=1), pred_label=pred_label,
                 pred_class=[classes[i] for i in pred_label])
    return found if 'all' in items else {key: found[key] for key in items}


def dump_json(results, path):
    """results (metrics and out-items; numpy values) -> JSON at `path`, as mmcv.dump writes it
    (arrays as lists), atomically: a link at `path` is replaced, not followed."""
    def plain(value):
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f'{type(value).__name__} is not JSON serializable')
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f'--out {path!r}: the folder {folder!r} does not exist')
    atomic_write(path, json.dumps(results, default=plain).encode())
