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
import train

ROOT = Path(__file__).resolve().parent.parent


def make_runner(tmp_path, model=None):
    model = model or TinyModel()
    return EpochBasedRunner(model, build_optimizer(model, OptimizerConfig()), str(tmp_path),
                            logging.getLogger('ckpt_test'), max_epochs=1)


def test_load_from_takes_mmcls_layout_and_reports_keys(tmp_path, caplog):
    source = TinyModel().state_dict()
    wrapped = {'meta': {'mmcls_version': '0.25.0'},
               'state_dict': OrderedDict([('module.fc.weight', source['fc.weight']),
                                          ('module.head.extra', torch.zeros(1))])}
    torch.save(wrapped, tmp_path / 'mmcls.pth')
    runner = make_runner(tmp_path)
    with caplog.at_level('WARNING', logger='ckpt_test'):
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


def demo_cli(*args, capsys):
    """train.py's cli on configs/demo.py in this process: (exit status, stderr's lines)."""
    with pytest.raises(SystemExit) as stop:
        train.cli(['--config', str(ROOT / 'configs' / 'demo.py'), *args])
    return stop.value.code, capsys.readouterr().err.strip().splitlines()


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    """A process: after this stop, in this process, epoch_1.pth's background write may still be
    running (EpochBasedRunner.run waits for it only when the run ends normally)."""
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', 'w', '--no-validate', '--cfg-options', 'model.backbone.base_channels=4',
            'model.backbone.stem_channels=4', 'model.backbone.num_stages=1',
            'model.backbone.out_indices=[0]', 'model.head.in_channels=4', 'data.workers_per_gpu=0',
            'data.samples_per_gpu=16', 'data.train.num_samples=128', 'total_epochs=2',
            'lr_config.step=[1]', 'lr_config.gamma=1e30']        # epoch 2 trains at lr 1e29
    r = procs.run(args, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert 'the loss is' in r.stderr and 'at epoch 2, iter' in r.stderr
    assert (tmp_path / 'w' / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1


def test_unwritable_work_dir(tmp_path, monkeypatch, capsys):
    (tmp_path / 'file').write_text('x')
    monkeypatch.chdir(tmp_path)
    code, err = demo_cli('--work-dir', 'file/sub', capsys=capsys)
    assert code == 2 and len(err) == 1 and "file/sub' cannot be written: Not a directory" in err[0]


# ---- Pickle gadgets in a checkpoint run nothing --------------------------------------------
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


# ---- Files that are not what they say ------------------------------------------------------
import os  # noqa: E402
import struct  # noqa: E402
import zipfile  # noqa: E402

from checkpoint import atomic_write  # noqa: E402


def deflate_bomb(path):
    """torch.save's file of 108 floats, its zip directory rewritten to declare 2 GB for them."""
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': {'w': torch.zeros(108)}}, path)
    data = bytearray(path.read_bytes())
    member = next(m for m in zipfile.ZipFile(path).infolist() if m.filename.endswith('/data/0'))
    central = data.index(b'PK\x01\x02')
    while True:                        # the member's central directory record
        name_len = struct.unpack_from('<H', data, central + 28)[0]
        if data[central + 46:central + 46 + name_len].decode() == member.filename:
            break
        central = data.index(b'PK\x01\x02', central + 4)
    struct.pack_into('<I', data, central + 24, 2_000_000_000)                  # uncompressed
    struct.pack_into('<I', data, member.header_offset + 22, 2_000_000_000)     # local header
    path.write_bytes(bytes(data))


def test_a_deflate_bomb_is_named_before_anything_is_read(tmp_path):
    deflate_bomb(tmp_path / 'bomb.pth')
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(str(tmp_path / 'bomb.pth'))
    assert str(e.value).startswith(f'{tmp_path / "bomb.pth"}: its zip directory declares ')
    assert 'decompression bomb' in str(e.value) and 'samples_per_gpu' not in str(e.value)
    torch.save({'w': torch.zeros(108)}, tmp_path / 'fine.pth')            # the same, undamaged
    assert torch.equal(read_checkpoint(str(tmp_path / 'fine.pth'))['w'], torch.zeros(108))


def test_only_a_regular_file_is_read_as_a_checkpoint_and_a_fifo_never_blocks(tmp_path):
    os.mkfifo(tmp_path / 'epoch_9.pth')              # nobody writes it: open() would block
    with pytest.raises(CheckpointError, match=r'epoch_9.pth is not a regular file \(a FIFO'):
        read_checkpoint(str(tmp_path / 'epoch_9.pth'))
    os.mkdir(tmp_path / 'folder.pth')
    with pytest.raises(CheckpointError, match='folder.pth is a directory, not a file'):
        read_checkpoint(str(tmp_path / 'folder.pth'))


def test_a_file_that_cannot_be_read_names_the_permission(tmp_path, monkeypatch):
    torch.save({'w': torch.zeros(1)}, tmp_path / 'theirs.pth')
    real_open = os.open

    def denied(path, *args, **kwargs):      # root reads every file: deny as another user's would
        if str(path).endswith('theirs.pth'):
            raise PermissionError(13, 'Permission denied')
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, 'open', denied)
    with pytest.raises(CheckpointError, match=r'theirs.pth cannot be read: Permission denied'):
        read_checkpoint(str(tmp_path / 'theirs.pth'))


def test_files_written_honour_the_umask(tmp_path):
    old = os.umask(0o002)                     # a shared group work dir
    try:
        atomic_write(str(tmp_path / 'last_checkpoint'), b'epoch_1.pth')
        runner = make_runner(tmp_path)
        path = runner.save_checkpoint(str(tmp_path))
    finally:
        os.umask(old)
    for name in ('last_checkpoint', os.path.basename(path)):
        assert oct(os.stat(tmp_path / name).st_mode & 0o777) == oct(0o664), name
