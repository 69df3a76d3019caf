"""The log buffer: per-iteration values and their averages (mmcv: runner/log_buffer.py).

    runner.log_buffer.update({'loss': loss, 'time': 0.18}, count=num_samples)   # every iteration
    runner.log_buffer.average(100)      # the logger, every 100 iterations -> .output, .ready
"""
from collections import OrderedDict

import torch


class LogBuffer:
    """Per-iteration values (loss, time, ...) and their averages (mmcv: LogBuffer).

    Averages are weighted by the number of samples of each update, so a short last
    batch counts for what it is."""

    def __init__(self):
        self.val_history, self.n_history = OrderedDict(), OrderedDict()
        self.output = OrderedDict()
        self.ready = False

    def clear(self):
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self):
        self.output.clear()
        self.ready = False

    def update(self, values, count=1):
        for key, value in values.items():
            if key not in self.val_history:
                self.val_history[key], self.n_history[key] = [], []
            self.val_history[key].append(value)
            self.n_history[key].append(count)

    def average(self, n=0):
        """Average the latest n values (all when n == 0) into `output`. Values may be
        floats or 0-d tensors (still on the GPU): those are copied over in one go here."""
        for key, values in self.val_history.items():
            values, counts = values[-n:], self.n_history[key][-n:]
            if torch.is_tensor(values[0]):
                values = torch.stack(values).tolist()
            self.output[key] = sum(v * c for v, c in zip(values, counts)) / sum(counts)
        self.ready = True
