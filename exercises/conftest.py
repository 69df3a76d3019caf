"""Loads the code under test: your `start.py`, or the reference solution when
EXERCISE_IMPL=solution (that is what CI checks, together with "start.py fails")."""
import importlib.util
import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / 'tests')]


@pytest.fixture
def impl(request):
    folder = pathlib.Path(str(request.fspath)).parent
    path = (HERE / 'solutions' / f'{folder.name}.py' if os.environ.get('EXERCISE_IMPL') == 'solution'
            else folder / 'start.py')
    spec = importlib.util.spec_from_file_location(f'impl_{folder.name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(hooks, epochs=2, n=4, batch_size=1, lr_config=None, optimizer_config=None, optimizer_hook=True):
    """A real EpochBasedRunner on the tests' TinyModel; `hooks` = [(hook, priority)]."""
    from config import LrConfig, OptimizerConfig, OptimizerHookConfig
    from optimizer import build_optimizer
    from runner import EpochBasedRunner
    from tiny import TinyModel, loader, quiet_logger
    import torch
    torch.manual_seed(0)
    model = TinyModel()
    optimizer = build_optimizer(model, optimizer_config or OptimizerConfig(lr=0.1, weight_decay=0.0))
    runner = EpochBasedRunner(model, optimizer, '/tmp/minicls_exercises', quiet_logger(), meta={}, max_epochs=epochs)
    runner.register_training_hooks(lr_config or LrConfig(policy='fixed'),
                                   OptimizerHookConfig() if optimizer_hook else None)
    for hook, priority in hooks:
        runner.register_hook(hook, priority)
    runner.run([loader(n=n, batch_size=batch_size)], [('train', 1)])
    return runner
