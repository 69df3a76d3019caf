"""What the checkers share: which file is checked, and a small real runner.

Which implementation a checker loads (the environment variable EXERCISE_IMPL):

    (unset)      your copy, exercises/work/exNN_<name>.py   (made by `python exercises/start.py NN`)
    start        the pristine exercises/NN_<name>/start.py
    solution     the reference solution, exercises/solutions/NN_<name>.py
    <path>       any file, e.g. exercises/02_lr_policy/wrong_floor_division.py
    wrong        every exercises/NN_<name>/wrong_*.py in turn (what CI runs: each must fail)

The file is loaded as the module `exNN_<name>`, the name a config uses to select code from
it ('ex02_lr_policy:HalfLifeLrUpdaterHook'), so a checker that builds a hook from a
config gets the class of the file under test.
"""
import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / 'work'
sys.path[:0] = [str(ROOT)]


def module_name(folder_name):
    """'02_lr_policy' -> 'ex02_lr_policy': the name of the student's copy and of its module."""
    return f'ex{folder_name}'


def wrong_answers(folder):
    return sorted(pathlib.Path(folder).glob('wrong_*.py'))


def source_of(folder, choice):
    name = folder.name
    if choice in (None, '', 'work'):
        return WORK / f'{module_name(name)}.py'
    if choice == 'start':
        return folder / 'start.py'
    if choice == 'solution':
        return HERE / 'solutions' / f'{name}.py'
    return pathlib.Path(choice).resolve()


def pytest_generate_tests(metafunc):
    """EXERCISE_IMPL=wrong: run every test of a checker once per wrong answer of its exercise."""
    if 'impl_path' in metafunc.fixturenames and os.environ.get('EXERCISE_IMPL') == 'wrong':
        folder = pathlib.Path(str(metafunc.definition.fspath)).parent
        paths = wrong_answers(folder)
        metafunc.parametrize('impl_path', paths, ids=[p.stem for p in paths], indirect=True)


@pytest.fixture
def impl_path(request):
    folder = pathlib.Path(str(request.fspath)).parent
    choice = getattr(request, 'param', None) or os.environ.get('EXERCISE_IMPL')
    path = source_of(folder, str(choice) if choice else None)
    if not path.is_file():
        if path.parent == WORK:
            pytest.fail(f'{path.relative_to(ROOT)} does not exist: start the exercise first with\n'
                        f'    python exercises/start.py {folder.name[:2]}', pytrace=False)
        pytest.fail(f'{path} does not exist', pytrace=False)
    return path


@pytest.fixture
def impl(impl_path, request):
    """The module under test, registered in sys.modules under its exercise's module name."""
    folder = pathlib.Path(str(request.fspath)).parent
    name = module_name(folder.name)
    spec = importlib.util.spec_from_file_location(name, impl_path)
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(name, None)
        pytest.fail(f'{impl_path.name} does not import: {type(e).__name__}: {e}', pytrace=False)
    yield module
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def stage(impl_path, folder_name, directory):
    """Copy the file under test to `directory/exNN_<name>.py` (for a train.py subprocess)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f'{module_name(folder_name)}.py'
    shutil.copyfile(impl_path, target)
    return target


def run_process(args, timeout=240, cwd=ROOT):
    """Run a command in its own process group; the whole group is killed when it is done
    or times out (a train.py and anything it started). Returns (returncode, stdout, stderr)."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, out, err


# The demo config shrunk to a tiny model and a few batches: a train.py run of seconds.
TINY = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4', 'model.backbone.num_stages=1',
        'model.backbone.out_indices=[0]', 'model.head.in_channels=4', 'data.samples_per_gpu=16',
        'data.workers_per_gpu=0', 'data.train.num_samples=32', 'data.val.num_samples=16', 'log_config.interval=1']


def train_py(config, work_dir, *options, validate=False, timeout=240):
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(config), '--work-dir', str(work_dir),
            '--seed', '0'] + ([] if validate else ['--no-validate']) + ['--cfg-options', *TINY, *options]
    return run_process(args, timeout=timeout)


def train_in_process(config, work_dir, *options, validate=False):
    """The run of `train_py`, made by train.py's own `cli` in this process: no second
    interpreter to start and no second import of torch, for a checker that makes runs of
    its own (exercise 10). Runs from the repository root, as `train_py` does. Returns
    (exit status, stdout, stderr)."""
    import contextlib
    import io
    import train
    args = ['--config', str(config), '--work-dir', str(work_dir), '--seed', '0'] + \
        ([] if validate else ['--no-validate']) + ['--cfg-options', *TINY, *options]
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding='utf-8') for _ in range(2))
    code, cwd = 0, os.getcwd()
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            train.cli(args)
    except SystemExit as e:
        code = e.code
    finally:
        os.chdir(cwd)
    out.flush()
    err.flush()
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()


# --- a small real runner -----------------------------------------------------------------

class Recorder:
    """A hook (made in `recorder()`, as hooks.py is imported late) that records per
    iteration what the tests look at."""


def tiny_model_and_loader(n=4, batch_size=1, seed=0):
    sys.path.insert(0, str(ROOT / 'tests'))
    from tiny import TinyModel, loader
    import torch
    torch.manual_seed(seed)
    return TinyModel(), loader(n=n, batch_size=batch_size)


def quiet_logger():
    import logging
    logger = logging.getLogger('minicls.exercises')
    logger.handlers.clear()
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def run(hooks, epochs=2, n=4, batch_size=1, lr_config='fixed', optimizer_config=None, optimizer_hook=True,
        custom_hooks=None, work_dir='/tmp/minicls_exercises', model=None, loader=None):
    """A real EpochBasedRunner on the tests' TinyModel; `hooks` = [(hook, priority)].
    lr_config: an LrConfig, 'fixed', or None (no LR hook at all)."""
    from config import LrConfig, OptimizerConfig, OptimizerHookConfig
    from runner import EpochBasedRunner, build_optimizer
    default_model, default_loader = tiny_model_and_loader(n, batch_size)
    model, loader = model or default_model, loader or default_loader
    optimizer = build_optimizer(model, optimizer_config or OptimizerConfig(lr=0.1, weight_decay=0.0))
    runner = EpochBasedRunner(model, optimizer, str(work_dir), quiet_logger(), meta={}, max_epochs=epochs)
    runner.register_training_hooks(LrConfig(policy='fixed') if lr_config == 'fixed' else lr_config,
                                   OptimizerHookConfig() if optimizer_hook else None,
                                   custom_hooks_config=custom_hooks)
    for hook, priority in hooks:
        runner.register_hook(hook, priority)
    runner.run([loader], [('train', 1)])
    return runner
