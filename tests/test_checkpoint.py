"""Checkpoints: load_from vs resume, what each reports and refuses; files that are missing,
truncated or foreign; a non-finite loss stops training and keeps the last good checkpoint."""
import logging
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from tiny import TinyModel
from checkpoint import CheckpointError, read_checkpoint
from config import OptimizerConfig
from runner import build_optimizer
from runner import EpochBasedRunner
import procs

ROOT = Path(__file__).resolve().parent.parent


def make_runner(tmp_path, model=None):
    model = model or TinyModel()
    return EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path),
                            logging.getLogger('minicls.ckpt'), max_epochs=1)


def test_load_from_takes_mmcls_layout_and_reports_keys(tmp_path, caplog):
    source = TinyModel().state_dict()
    wrapped = {'meta': {'mmcls_version': '0.25.0'},
               'state_dict': OrderedDict([('module.fc.weight', source['fc.weight']),
                                          ('module.head.extra', torch.zeros(1))])}
    torch.save(wrapped, tmp_path / 'mmcls.pth')
    runner = make_runner(tmp_path)
    with caplog.at_level('WARNING', logger='minicls.ckpt'):
        runner.load_checkpoint(str(tmp_path / 'mmcls.pth'))
    assert torch.equal(runner.model.fc.weight, source['fc.weight'])
    assert 'missing keys in source state_dict: fc.bias' in caplog.text
    assert 'unexpected keys in source state_dict: head.extra' in caplog.text
    torch.save({'fc.weight': torch.zeros(5, 4), 'fc.bias': torch.zeros(5)}, tmp_path / 'bare.pth')
    with pytest.raises(CheckpointError) as e:
        runner.load_checkpoint(str(tmp_path / 'bare.pth'))
    assert 'fc.weight: checkpoint (5, 4) vs model (3, 4)' in str(e.value) and 'fc.bias: checkpoint (5,)' in str(e.value)


def test_resume_refuses_another_model_naming_the_first_difference(tmp_path):
    runner = make_runner(tmp_path)
    runner.save_checkpoint(str(tmp_path))
    other = make_runner(tmp_path, TinyModel(in_features=6))
    with pytest.raises(CheckpointError, match='does not match the model of this config: fc.weight: checkpoint'):
        other.resume(str(tmp_path / 'epoch_1.pth'))
    torch.save(TinyModel().state_dict(), tmp_path / 'weights_only.pth')
    with pytest.raises(CheckpointError, match='not a training checkpoint.*--load-from'):
        runner.resume(str(tmp_path / 'weights_only.pth'))


def test_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match='does not exist'):
        read_checkpoint(str(tmp_path / 'nope.pth'))
    runner = make_runner(tmp_path)
    path = runner.save_checkpoint(str(tmp_path))
    data = Path(path).read_bytes()
    (tmp_path / 'half.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or not a checkpoint'):
        read_checkpoint(str(tmp_path / 'half.pth'))
    (tmp_path / 'text.pth').write_text('hello')
    with pytest.raises(CheckpointError, match='text.pth is not a checkpoint'):
        read_checkpoint(str(tmp_path / 'text.pth'))


def test_checkpoint_holds_rng_states_and_restores_them(tmp_path):
    runner = make_runner(tmp_path)
    torch.manual_seed(123)
    path = runner.save_checkpoint(str(tmp_path))
    expected = torch.rand(3)
    torch.manual_seed(999)
    runner.resume(path)
    assert torch.equal(torch.rand(3), expected)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', 'w', '--no-validate', '--cfg-options', 'model.backbone.base_channels=4',
            'model.backbone.stem_channels=4', 'model.backbone.num_stages=1', 'model.backbone.out_indices=[0]',
            'model.head.in_channels=4', 'data.workers_per_gpu=0', 'total_epochs=2',
            'lr_config.step=[1]', 'lr_config.gamma=1e30']        # epoch 2 trains at lr 1e29
    r = procs.run(args, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert 'the loss is' in r.stderr and 'at epoch 2, iter' in r.stderr
    assert (tmp_path / 'w' / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1


def test_unwritable_work_dir(tmp_path):
    (tmp_path / 'file').write_text('x')
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', 'file/sub']
    r = procs.run(args, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and "file/sub' cannot be written: Not a directory" in r.stderr


# ---- Moved from tests/test_planted_bugs.py (issue 31): item 23 ----------------------------------
from test_data_hardening import GADGETS, gadgets  # noqa: E402
from test_lr_updater import bare_runner  # noqa: E402


@pytest.mark.parametrize('which', GADGETS)
def test_checkpoint_gadgets_are_refused_by_resume_and_load_and_run_nothing(tmp_path, which):
    """Checkpoints are read with torch.load(weights_only=True): a gadget anywhere in one is
    refused with the project's message, by resume and by load_checkpoint, and never runs."""
    model = TinyModel()
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': model.state_dict(),
                'payload': gadgets(tmp_path / 'pwned')[which]}, tmp_path / 'evil.pth')
    runner = bare_runner(tmp_path / 'w', 1, model=model)
    for load in (runner.resume, runner.load_checkpoint):
        with pytest.raises(RuntimeError) as e:
            load(str(tmp_path / 'evil.pth'))
        assert type(e.value).__name__ == 'CheckpointError'
        assert 'evil.pth holds pickled Python objects' in str(e.value)
        assert 'could run code' in str(e.value) and '--trust-checkpoint' in str(e.value)
    assert not (tmp_path / 'pwned').exists()
    assert runner.epoch == 0 and runner.iter == 0
