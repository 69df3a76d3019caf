"""Shared by the benchmark scripts: the machine's description and the JSON/table output."""
import json
import logging
import os
import platform
import statistics
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(cpu=cpu, cores=os.cpu_count(), gpu=gpu, torch=torch.__version__, python=platform.python_version())


def quiet_logger(name):
    """A logger that drops everything: the runners' log lines are not part of what is timed."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def median(values):
    return statistics.median(values)


def report(name, rows, columns, out=None):
    """Print a markdown table and write {machine, rows} as JSON next to it."""
    print(f'\n{name}  ({machine()})')
    print('| ' + ' | '.join(columns) + ' |')
    print('|' + '---|' * len(columns))
    for row in rows:
        print('| ' + ' | '.join(str(row.get(c, '')) for c in columns) + ' |')
    path = out or os.path.join(os.environ.get('OUT', ROOT), f'{name}.json')
    with open(path, 'w') as f:
        json.dump({'machine': machine(), 'command': ' '.join(sys.argv), 'rows': rows}, f, indent=1)
    print(f'(written to {path})')
