"""The LR (and momentum) of every iteration of a config's schedule, computed by the project's
own hooks without training (mmcls 0.25: tools/visualizations/vis_lr.py).

    curve = simulate(cfg, dataset_size=5000)     # {'lr': [[group 0, ...] per iteration], ...}
    plot_curve(curve, 'lr.png', title='demo')

A DummyEpochBasedRunner (mmcls's name) runs the real runner's epochs and calls the hooks at
every stage, but steps no model: before_train_iter has set this iteration's values when they
are read, as the OptimizerHook would use them. The hooks are the ones the config names,
built as train.py builds them (register_training_hooks): lr_config's (hooks.py, extras/
options/lr_policies.py) and momentum_config's (extras/options/momentum.py). mmcls's tool
registers lr_config and custom_hooks and records the LR only.

Iterations per epoch are mmcls's: a DataLoader over `dataset_size` items with batches of
samples_per_gpu x ngpus, so ceil(dataset_size / (samples_per_gpu * ngpus)); without
--dataset-size, the size of data.train as built.
"""
import logging
import math
import os

import torch

from runner import EpochBasedRunner, build_optimizer


class SimpleModel(torch.nn.Module):
    """A model that is never run: the optimizer needs parameters (mmcls: the same name)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 1)


class FakeLoader:
    """All the runner asks a train loader here: its length."""

    def __init__(self, num_batches):
        self.num_batches = num_batches

    def __len__(self):
        return self.num_batches


class DummyEpochBasedRunner(EpochBasedRunner):
    """EpochBasedRunner whose train() calls the hooks around each iteration and records the LR
    and momentum in between, without a batch or a step (mmcls: vis_lr.py, the same name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lrs, self.momentums = [], []

    def train(self, data_loader):
        self.mode = 'train'
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(data_loader)
        self.call_hook('before_train_epoch')
        for i in range(len(data_loader)):
            self._inner_iter = i
            self.call_hook('before_train_iter')
            self.lrs.append(self.current_lr())
            self.momentums.append(self.current_momentum())
            self.call_hook('after_train_iter')
            self._iter += 1
        self.call_hook('after_train_epoch')
        self._epoch += 1


def iters_per_epoch(cfg, dataset_size, ngpus=1):
    """mmcls's vis_lr: len(DataLoader(range(dataset_size), batch_size=samples_per_gpu*ngpus))."""
    return math.ceil(dataset_size / (cfg.data.samples_per_gpu * ngpus))


def simulate(cfg, dataset_size=None, ngpus=1):
    """The schedule of `cfg` -> a dict: 'lr' and 'momentum' (per iteration, a list with one
    value per param group), 'iters_per_epoch', 'max_epochs', 'dataset_size', 'ngpus'."""
    if dataset_size is None:
        from data import build_dataset
        dataset_size = len(build_dataset(cfg.data.train))
    num_batches = iters_per_epoch(cfg, dataset_size, ngpus)
    logger = logging.getLogger('minicls.vis_lr')
    model = SimpleModel()
    runner = DummyEpochBasedRunner(model, build_optimizer(model, cfg.optimizer), logger=logger,
                                   max_epochs=cfg.total_epochs)
    runner.register_training_hooks(lr_config=cfg.lr_config,
                                   momentum_config=cfg.momentum_config)
    runner.run([FakeLoader(num_batches)], [('train', 1)])
    return dict(lr=runner.lrs, momentum=runner.momentums, iters_per_epoch=num_batches,
                max_epochs=cfg.total_epochs, dataset_size=dataset_size, ngpus=ngpus,
                samples_per_gpu=cfg.data.samples_per_gpu)


def plot_curve(curve, save_path, title, momentum=True):
    """plot_figure's picture, saved as a PNG."""
    from extras.after_training.common import save_png
    save_png(plot_figure(curve, title, momentum), save_path)


def plot_figure(curve, title, momentum=True):
    """The LR per iteration (one line per param group), with a second axis in epochs as mmcls's;
    with `momentum`, a second panel for the momentum."""
    from extras.after_training.common import pyplot
    plt = pyplot()
    panels = [('lr', 'Learning Rate')] + ([('momentum', 'Momentum')] if momentum else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels) + 0.6),
                             squeeze=False)
    per_epoch = curve['iters_per_epoch']
    for ax, (key, label) in zip(axes[:, 0], panels):
        columns = list(zip(*curve[key]))            # one line per param group
        for g, values in enumerate(columns):
            ax.plot(range(len(values)), values, linewidth=1.2,
                    label=f'param group {g}' if len(columns) > 1 else None)
        ax.set_ylabel(label)
        ax.set_xlabel('Iters')
        ax.grid(alpha=0.3)
        epochs = ax.secondary_xaxis('top', functions=(lambda x: x / per_epoch,
                                                      lambda e: e * per_epoch))
        epochs.set_xlabel('Epochs')
        if len(columns) > 1:
            ax.legend(fontsize=8)
    axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def default_title(config_path):
    return f'{os.path.basename(config_path)} Learning Rate curve'     # mmcls's
