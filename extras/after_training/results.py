"""The most confident right and wrong predictions of a test, as pictures (mmcls 0.25:
tools/analysis_tools/analyze_results.py).

    picked = pick_results(results, gt_labels, topk=8)     # {'success': [...], 'fail': [...]}
    write_results(dataset, picked, 'out')   # out/success/, out/fail/: a PNG each, a JSON each

`results` is the file tools/test.py --out writes (extras/after_training/common.py:
read_results); the true labels and the images come from the config's data.test. Each
picked entry has mmcls's keys (filename, gt_label, gt_class, pred_score, pred_label,
pred_class) and `index`, the sample's place in data.test.

Which ones: mmcls's documentation says the images with the highest scores; its code sorts
by pred_score in ascending order and keeps the first topk, the least confident ones. Here
the highest scores are kept, as its documentation says: a confident mistake is the one
worth a look.
"""
import os

from extras.after_training.common import make_dir, save_json, save_png, source_image, source_name
from extras.after_training.grid import captioned, grid, to_pil

GREEN, RED = (0, 110, 0), (190, 0, 0)


def pick_results(results, gt_labels, topk, classes=None):
    """{'success': [...], 'fail': [...]}: up to `topk` entries each, the highest pred_score
    first (a tie: the earlier sample first)."""
    entries = []
    for i, (gt, label, score) in enumerate(zip(gt_labels, results['pred_label'],
                                               results['pred_score'])):
        gt = int(gt)
        entries.append(dict(index=i, gt_label=gt, pred_label=int(label),
                            pred_score=float(score), pred_class=results['pred_class'][i],
                            gt_class=classes[gt] if classes else str(gt)))
    entries.sort(key=lambda e: -e['pred_score'])
    success = [e for e in entries if e['pred_label'] == e['gt_label']]
    fail = [e for e in entries if e['pred_label'] != e['gt_label']]
    return dict(success=success[:topk], fail=fail[:topk])


def tile(dataset, entry):
    """One picked image, enlarged, captioned with its true and predicted class."""
    img, bgr = source_image(dataset, entry['index'])
    colour = GREEN if entry['pred_label'] == entry['gt_label'] else RED
    return captioned(to_pil(img, bgr), [f'true: {entry["gt_class"]}',
                                        f'pred: {entry["pred_class"]}',
                                        f'score: {entry["pred_score"]:.3f}'], colour=colour)


def overview(dataset, entries, columns=8):
    """The picked images of one kind in one picture; None when there are none."""
    return grid([tile(dataset, e) for e in entries], columns) if entries else None


def write_results(dataset, picked, out_dir):
    """mmcls's layout: out_dir/<kind>/<kind>.json and one PNG per image, for kind in success,
    fail; and here also out_dir/<kind>.png, all of them in one picture. -> files written."""
    written = []
    for kind, entries in picked.items():
        folder = os.path.join(out_dir, kind)
        make_dir(folder)
        for e in entries:
            info = dataset.data_infos[e['index']]
            e['filename'] = source_name(info)
            stem = '' if e['filename'] is None else \
                '_' + os.path.splitext(os.path.basename(e['filename']))[0]
            path = os.path.join(folder, f'{e["index"]}{stem}.png')
            save_png(tile(dataset, e), path)
            written.append(path)
        save_json(entries, os.path.join(folder, f'{kind}.json'))
        picture = overview(dataset, entries)
        if picture is not None:
            save_png(picture, os.path.join(out_dir, f'{kind}.png'))
            written.append(os.path.join(out_dir, f'{kind}.png'))
    return written
