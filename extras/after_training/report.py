"""One self-contained HTML page of a training run: what a teacher collects, one file per
student (beyond mmcls, which has the pictures as separate tools).

    html_text, notes = build_report('work_dirs/demo_folder')

The page holds, from the work dir alone: the run's config (the mmcls text in the first line
of its .log.json, read as data, never run: extras/bridge/mmcls_config.py), the loss,
accuracy and LR curves of its .log.json files (read by tools/analyze_logs.py), the LR of every
iteration of its schedule (lr_curve.py), the confusion matrix and the most confident wrong
images of its newest checkpoint on data.test (confusion.py, results.py), and the hook table
of its .log, drawn as a timeline when the run had --trace (tools/hook_timeline.py).

Every picture is a PNG inside the page (a data: URI) and every text from a file is escaped
(html.escape): the page loads nothing, runs no script and opens from a file. A part that
cannot be made (no checkpoint yet, the test data absent, no matplotlib) says why in its
place, and in `notes`.
"""
import base64
import glob
import html
import io
import json
import os
from types import SimpleNamespace

from extras.after_training.common import USER_ERRORS, ToolError, png_bytes, quote

TOPK = 8


def png_uri(image):
    """A PIL image or a matplotlib figure as a data: URI."""
    return 'data:image/png;base64,' + base64.b64encode(png_bytes(image)).decode('ascii')


def find_logs(work_dir):
    """The work dir's .log.json files, oldest first (their names are timestamps)."""
    if not os.path.isdir(work_dir):
        raise ToolError(f'work dir {work_dir!r} is not a folder')
    logs = sorted(glob.glob(os.path.join(glob.escape(work_dir), '*.log.json')))
    if not logs:
        raise ToolError(f'work dir {work_dir!r} holds no .log.json: is it the --work-dir of a '
                        'train.py run?')
    return logs


def read_logs(logs, notes):
    """{'train': [...], 'val': [...]} of all the logs in order, and the newest one's meta."""
    from tools.analyze_logs import LogError, load_json_log
    records = {'train': [], 'val': []}
    for path in logs:
        try:
            one = load_json_log(path, notes)
        except LogError as e:
            raise ToolError(str(e)) from None
        records['train'] += one['train']
        records['val'] += one['val']
    with open(logs[-1], 'rb') as f:
        first = f.readline()
    try:
        meta = json.loads(first)
    except ValueError:
        raise ToolError(f'{logs[-1]}, line 1 is not the JSON meta of a run: '
                        f'{quote(first.decode("utf-8", "backslashreplace"))}') from None
    return records, meta if isinstance(meta, dict) else {}


def run_config(meta, source):
    """The run's Config from the mmcls text its log's meta keeps."""
    from extras.bridge.mmcls_config import read_mmcls_text
    if not isinstance(meta.get('config'), str):
        raise ToolError(f'{source}: its first line holds no config text')
    return read_mmcls_text(meta['config'], source, [])


def curves_figure(records, per_epoch=None):
    """Loss and LR against the iteration, the val metrics against the epoch. Without
    `per_epoch` (iterations per epoch), the last iteration logged in the first epoch stands
    for it, as tools/analyze_logs.py counts."""
    from extras.after_training.common import pyplot
    plt = pyplot()
    train, val = records['train'], records['val']
    per_epoch = per_epoch or max((r['iter'] for r in train if r['epoch'] == train[0]['epoch']),
                                 default=1)
    x = [(r['epoch'] - 1) * per_epoch + r['iter'] for r in train]
    metrics = sorted({k for r in val for k in r if k.startswith(('accuracy', 'precision',
                                                                 'recall', 'f1'))})
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, key in zip(axes[:2], ('loss', 'lr')):
        ax.plot([xi for xi, r in zip(x, train) if key in r], [r[key] for r in train if key in r])
        ax.set(xlabel='iteration', ylabel=key, title=f'train {key}')
    for key in metrics:
        axes[2].plot([r['epoch'] for r in val if key in r], [r[key] for r in val if key in r],
                     marker='o', label=key)
    axes[2].set(xlabel='epoch', ylabel='%', title='val')
    if metrics:
        axes[2].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def test_parts(cfg, checkpoint):
    """(confusion matrix figure, accuracy line, wrong images picture or None) of the
    checkpoint on data.test."""
    import numpy as np
    import torch
    from extras.after_training.confusion import confusion_matrix, plot_confusion_matrix
    from extras.after_training.results import overview, pick_results
    from extras.after_training.testing import test_checkpoint
    from extras.run.device import resolve_device
    dataset, outputs, _ = test_checkpoint(cfg, checkpoint, resolve_device(cfg.device))
    scores = torch.from_numpy(np.vstack(outputs))
    pred_score, pred_label = scores.max(1)
    classes = [str(c) for c in (dataset.CLASSES or range(scores.shape[1]))]
    results = dict(pred_score=pred_score.tolist(), pred_label=pred_label.tolist(),
                   pred_class=[classes[i] for i in pred_label.tolist()])
    gt = dataset.get_gt_labels()
    matrix = confusion_matrix(pred_label, gt, scores.shape[1])
    accuracy = (f'{int(matrix.trace())} of {int(matrix.sum())} test images right '
                f'({100 * matrix.trace().item() / matrix.sum().item():.2f} %)')
    fig = plot_confusion_matrix(matrix, classes, include_values=True)
    wrong = pick_results(results, gt, TOPK, classes)['fail']
    return fig, accuracy, overview(dataset, wrong, columns=4)


def hook_part(work_dir):
    """('png', figure bytes URI) with a --trace run's timeline, else ('text', the hook table)."""
    import tools.hook_timeline as ht
    logs = sorted(glob.glob(os.path.join(glob.escape(work_dir), '*.log')))
    if not logs:
        raise ToolError('no .log in the work dir')
    lines = ht.read_log(logs[-1])
    try:
        hooks, priority, columns = ht.timeline(lines)
    except ValueError:                       # no trace: the table every run prints
        table = ht.parse_hook_table(lines)
        if table is None:
            raise ToolError(f'{logs[-1]} holds no hook table') from None
        return 'text', '\n'.join(f'{stage}:\n' + '\n'.join(
            f'    ({table[1][h]}) {h}' for h in names) for stage, names in table[0])
    buffer = io.BytesIO()
    if not ht.render_png(hooks, priority, columns, buffer):
        return 'text', ht.render_text(hooks, priority, columns)
    return 'png', 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def build_report(work_dir, checkpoint=None):
    """(the HTML page as text, notes on what could not be made)."""
    notes = []
    logs = find_logs(work_dir)
    records, meta = read_logs(logs, notes)

    def made(title, make):
        """(title, parts); a user's error (a file missing, no matplotlib) is a note instead."""
        try:
            return title, make()
        except USER_ERRORS as e:
            text = ' '.join(str(e).split()) or type(e).__name__
            notes.append(f'{title}: not made: {text}')
            return title, [('p', f'Not made: {text}')]

    cfg = None
    try:
        cfg = run_config(meta, logs[-1])
    except USER_ERRORS as e:
        notes.append(f'config: {" ".join(str(e).split())}')
    curve = {}                      # the schedule's simulation: its iterations per epoch too

    def lr():
        from extras.after_training.lr_curve import plot_figure, simulate
        if cfg is None:
            raise ToolError("the run's config could not be read from its log")
        curve.update(simulate(cfg))
        title = "the run's config: the LR of every iteration"
        return [('img', png_uri(plot_figure(curve, title, cfg.momentum_config is not None)))]

    def test():
        from extras.run.work_dir import find_latest_checkpoint
        if cfg is None:
            raise ToolError("the run's config could not be read from its log")
        found = checkpoint or find_latest_checkpoint(SimpleNamespace(work_dir=work_dir), [])
        if found is None:
            raise ToolError(f'no checkpoint in {work_dir}')
        fig, accuracy, wrong = test_parts(cfg, found)
        parts = [('p', f'{found}: {accuracy}'), ('img', png_uri(fig)),
                 ('h3', f'The {TOPK} most confident wrong predictions')]
        return parts + ([('img', png_uri(wrong))] if wrong else [('p', 'none wrong')])

    lr_part = made('The LR of every iteration (vis_lr)', lr)    # first: curves use its count
    sections = [('Run', [('pre', summary(work_dir, logs, records))]),
                made('Loss, LR and accuracy (the .log.json)', lambda: [
                    ('img', png_uri(curves_figure(records, curve.get('iters_per_epoch'))))]),
                lr_part,
                made('Confusion matrix on data.test (confusion_matrix, analyze_results)', test),
                made('Hooks (hook_timeline)', lambda: [
                    ('img' if kind == 'png' else 'pre', value)
                    for kind, value in [hook_part(work_dir)]])]
    return render(os.path.basename(os.path.normpath(work_dir)), sections), notes


def summary(work_dir, logs, records):
    last = (records['val'] or [{}])[-1]
    evaluation = ', '.join(f'{k} {v}' for k, v in last.items()
                           if k not in ('mode', 'epoch', 'iter', 'lr'))
    return '\n'.join([f'work dir: {os.path.abspath(work_dir)}',
                      f'logs: {", ".join(map(os.path.basename, logs))}',
                      f'epochs logged: {max((r["epoch"] for r in records["train"]), default=0)}',
                      f'last evaluation: {evaluation or "none"}'])


def render(name, sections):
    """The page: inline style only; every text escaped, every picture a data: URI."""
    out = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
           f'<title>minicls report: {html.escape(name)}</title>',
           '<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}'
           'img{max-width:100%}pre{background:#f4f4f4;padding:.5em;overflow-x:auto}</style>',
           '</head><body>', f'<h1>minicls report: {html.escape(name)}</h1>']
    for title, parts in sections:
        out.append(f'<h2>{html.escape(title)}</h2>')
        for kind, value in parts:
            if kind == 'img':
                out.append(f'<img alt="{html.escape(title)}" src="{value}">')
            else:
                out.append(f'<{kind}>{html.escape(value)}</{kind}>')
    out.append('</body></html>')
    return '\n'.join(out) + '\n'
