"""Exercise 10: read a training log with analyze_logs.

Every run writes <work_dir>/<timestamp>.log.json: a first line with the run's meta (env,
config), then one JSON object per log line: mode 'train' (every log_config.interval
iterations: epoch, iter within the epoch, lr, loss, ...) or 'val' (after each evaluation:
epoch, lr, accuracy_top-1, ...). tools/analyze_logs.py reads it (load_json_log) and plots
it (plot_curve; matplotlib is an optional extra: pip install matplotlib).

Two runs to look at (a minute each on a laptop), then their curves in one figure:

    python train.py --config configs/demo.py --work-dir work_dirs/ex10_a \\
        --cfg-options total_epochs=3 'lr_config.step=[2]' data.train.num_samples=1024 log_config.interval=2
    python train.py --config configs/demo.py --work-dir work_dirs/ex10_b \\
        --cfg-options total_epochs=3 lr_config.policy=fixed lr_config.step=None data.train.num_samples=1024 \\
        log_config.interval=2
    python tools/analyze_logs.py plot_curve work_dirs/ex10_a/*.log.json work_dirs/ex10_b/*.log.json \\
        --keys loss lr accuracy_top-1 --legend step fixed --out ex10.png

Part 1. Write the three functions below on top of load_json_log, the numbers behind the
picture. The checker runs two small real trainings and compares your numbers with the
logs'. x is the global iteration as plot_curve draws it (--x iter): (epoch - 1) *
iterations_per_epoch + iter, where iterations_per_epoch is the largest `iter` logged in
the first epoch.

Part 2. Run A's LR curve has a step. Explain it: which choice is right?
  'a': StepLrUpdaterHook sets lr = base * 0.1 in before_train_epoch of the epoch whose
       0-based index is in step ([2]: the 3rd epoch); every line of that epoch shows it.
  'b': the LR drops when CheckpointHook saves at the end of the 2nd epoch, which resets it.
  'c': the LR decays a little at every iteration; the log shows the change only at the
       epoch boundary, because the logger averages it.

Read first: tools/analyze_logs.py (load_json_log, plot_curve), hooks.py (TextLoggerHook,
StepLrUpdaterHook). Check: python -m pytest -q exercises/10_read_logs
"""
from tools.analyze_logs import load_json_log  # noqa: F401


def curve(log_path, key):
    """[(x, value)] of a train key ('loss', 'lr', ...), in the order of the log."""
    raise NotImplementedError


def lr_changes(log_path):
    """[(x, previous lr, new lr)] for every train record whose lr differs from the one before."""
    raise NotImplementedError


def last_val(log_path, key='accuracy_top-1'):
    """The value of `key` in the last evaluation (mode 'val') of the log."""
    raise NotImplementedError


LR_STEP_EXPLAINED = None           # 'a', 'b' or 'c'
