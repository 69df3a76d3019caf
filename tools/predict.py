"""Predict the class of an image, or of every image in a folder (mmcls 0.25: demo/image_demo.py
over apis/inference.py; the work is extras/after_training/inference.py's).

    python tools/predict.py cat.jpg configs/demo_folder.py work_dirs/demo_folder/epoch_5.pth
    python tools/predict.py photos/ CONFIG CHECKPOINT --topk 3 --out predictions.json

One line per image: its path, the predicted class, its score, and with --topk K the K best
classes with their scores. A folder's images (its files with an image extension, in its
subfolders too, sorted) go through the model data.samples_per_gpu at a time. --out writes
the same as JSON: a list of {path, pred_label, pred_score, pred_class, topk}.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import ConfigError  # noqa: E402
from extras.after_training.inference import init_model, predict_scores  # noqa: E402
from extras.after_training.testing import dump_json  # noqa: E402
from extras.images.image_folder import CustomDataset, list_files  # noqa: E402
from extras.after_training.common import run_tool  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Predict the class of images (mmcls: image_demo.py)')
    p.add_argument('img', help='an image file, or a folder of them')
    p.add_argument('config', help='config file (minicls or mmcls 0.x)')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--topk', type=int, default=1, help='also print the K best classes')
    p.add_argument('--device', default='cpu', help='cpu, cuda, cuda:N, mps or auto')
    p.add_argument('--out', help='write the predictions to this .json file')
    return p.parse_args(argv)


def images_of(path):
    """[path] for a file; a folder's image files, sorted, in subfolders too."""
    if os.path.isdir(path):
        found = [os.path.join(path, f) for f in list_files(path)
                 if f.lower().endswith(CustomDataset.EXTENSIONS)]
        if not found:
            raise ConfigError(f'{path!r} holds no image files '
                              f'({", ".join(CustomDataset.EXTENSIONS)})')
        return sorted(found)
    if not os.path.isfile(path):
        raise ConfigError(f'{path!r} is neither an image file nor a folder')
    return [path]


def predictions(paths, scores, classes, topk):
    """One dict per image: mmcls's pred_label, pred_score, pred_class, and the top K."""
    out = []
    for path, row in zip(paths, scores):
        best = np.argsort(-row, kind='stable')[:topk]      # ties: the lower label, as argmax
        out.append(dict(path=path, pred_label=int(best[0]), pred_score=float(row[best[0]]),
                        pred_class=classes[best[0]],
                        topk=[[classes[i], float(row[i])] for i in best]))
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.out and os.path.splitext(args.out)[1].lower() != '.json':
        raise ConfigError(f'--out {args.out!r}: only .json is written')
    paths = images_of(args.img)
    model = init_model(args.config, args.checkpoint, device=args.device)
    if not 1 <= args.topk <= len(model.CLASSES):
        raise ConfigError(f'--topk {args.topk}: allowed 1..{len(model.CLASSES)} '
                          '(the number of classes)')
    scores = predict_scores(model, paths, batch_size=model.cfg.data.samples_per_gpu)
    found = predictions(paths, scores, model.CLASSES, args.topk)
    for p in found:
        best = ', '.join(f'{name} {score:.4f}' for name, score in p['topk'][1:])
        print(f"{p['path']}  {p['pred_class']}  {p['pred_score']:.4f}"
              + (f'  (then {best})' if best else ''))
    if args.out:
        dump_json(found, args.out)


def cli(argv=None):
    """main(); a user's error is one line: exit 2 for a ConfigError, 1 for bad files."""
    sys.exit(run_tool(main, argv))


if __name__ == '__main__':
    cli()
