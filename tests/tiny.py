"""A tiny model and data for runner/hook tests: real training steps, milliseconds each."""
import logging
import os
import sys
import time
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hooks import Hook  # noqa: E402


class TinyModel(torch.nn.Module):
    """A linear classifier with the ImageClassifier step interface."""

    def __init__(self, in_features=4, num_classes=3):
        super().__init__()
        self.fc = torch.nn.Linear(in_features, num_classes)

    def forward(self, img, return_loss=True, gt_label=None):
        scores = self.fc(img)
        if return_loss:
            return {'loss': torch.nn.functional.cross_entropy(scores, gt_label)}
        return list(torch.softmax(scores, 1, dtype=torch.float32).numpy())

    def _parse_losses(self, losses):
        return losses['loss'], OrderedDict(loss=losses['loss'].detach())

    def train_step(self, data, optimizer=None):
        loss, log_vars = self._parse_losses(self(**data))
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data['img']))

    val_step = train_step


class TinyDataset(torch.utils.data.Dataset):
    CLASSES = ('a', 'b', 'c')

    def __init__(self, n=10, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.randint(0, 3, (n,), generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {'img': self.x[i], 'gt_label': self.y[i]}

    def evaluate(self, results, metric='accuracy', metric_options=None, logger=None):
        pred = torch.tensor([r.argmax() for r in results])
        return {'accuracy_top-1': float((pred == self.y).float().mean() * 100)}


def loader(n=10, batch_size=1, seed=0):
    return torch.utils.data.DataLoader(TinyDataset(n, seed), batch_size=batch_size, shuffle=False)


def quiet_logger():
    logger = logging.getLogger('minicls.test')
    logger.handlers.clear()
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


class PauseAt(Hook):
    """For a train.py that a test runs as a process: after iteration `iter` (0-based, over
    the run) write `<folder>/paused` and wait for `<folder>/go`, so that the test's signal
    arrives at a known iteration, whatever the machine's speed (procs.signal_when_paused).
    custom_hooks=[dict(type='tiny:PauseAt', iter=..., folder=...)], tests/ on PYTHONPATH."""

    def __init__(self, iter, folder):
        self.iter, self.folder = iter, folder

    def after_train_iter(self, runner):          # NORMAL: before StopSignalHook (LOWEST)
        if runner.iter == self.iter:
            open(os.path.join(self.folder, 'paused'), 'w').close()
            go, deadline = os.path.join(self.folder, 'go'), time.monotonic() + 300
            while not os.path.exists(go) and time.monotonic() < deadline:
                time.sleep(0.01)
