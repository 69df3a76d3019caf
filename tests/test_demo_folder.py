"""The folder demo's data (extras/demos/demo_folder.py): both of CustomDataset's layouts, the labels
the generator meant, written once, and never over a folder the demo did not write."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data import DatasetError  # noqa: E402
from extras.demos import demo_data  # noqa: E402
from extras.demos.demo_folder import DemoFolder  # noqa: E402


class Small(DemoFolder):
    num_train, num_val, size = 30, 20, (12, 20)


def test_both_layouts_hold_the_generators_labels(tmp_path):
    train = Small(str(tmp_path / 'demo' / 'train'))
    val = Small(str(tmp_path / 'demo' / 'val'), ann_file=str(tmp_path / 'demo' / 'meta' / 'val.txt'))
    _, labels = demo_data.synthesize(50, np.random.default_rng(Small.seed))
    meant = [demo_data.CLASSES[label] for label in labels]
    got = [train.CLASSES[i] for i in train.get_gt_labels()] + \
          [val.CLASSES[i] for i in val.get_gt_labels()]
    # the train split is listed class by class; the val split in file order
    assert sorted(got[:30]) == sorted(meant[:30]) and got[30:] == meant[30:]
    assert train.CLASSES == sorted(demo_data.CLASSES) == val.CLASSES
    info = val.data_infos[3]
    assert info['img_info']['filename'] == '00003.jpg'
    from PIL import Image
    with Image.open(os.path.join(info['img_prefix'], '00003.jpg')) as im:
        assert im.size == (20, 12) and im.format == 'JPEG'


def test_written_once_and_other_settings_refused(tmp_path):
    root = tmp_path / 'demo'
    Small(str(root / 'train'))
    stamp = os.stat(root / 'meta' / 'val.txt').st_mtime_ns
    Small(str(root / 'val'), ann_file=str(root / 'meta' / 'val.txt'))
    assert os.stat(root / 'meta' / 'val.txt').st_mtime_ns == stamp
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.demo_folder-')]

    class Other(Small):
        num_train = 40
    with pytest.raises(DatasetError, match='other settings'):
        Other(str(root / 'train'))


def test_a_folder_of_someone_elses_is_not_touched(tmp_path):
    (tmp_path / 'mine' / 'train').mkdir(parents=True)
    (tmp_path / 'mine' / 'notes.txt').write_text('keep me')
    with pytest.raises(DatasetError, match='did not write'):
        Small(str(tmp_path / 'mine' / 'train'))
    assert (tmp_path / 'mine' / 'notes.txt').read_text() == 'keep me'


def test_the_demo_then_its_fine_tuning_through_train_py(tmp_path, monkeypatch, capsys):
    """configs/demo_folder.py (shrunk: one epoch of 256 images), then
    configs/demo_folder_finetune.py from its checkpoint: the 10-class head is skipped and named
    in one warning line, the frozen stem and stage keep the loaded weights, and the 5-class
    val set is evaluated. train.py's cli runs in this process: its result is checked."""
    import torch
    import train
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.chdir(tmp_path)

    def run(config, *options):
        train.cli(['--config', os.path.join(root, 'configs', config), '--work-dir', config[:-3],
                   '--cfg-options', 'total_epochs=1', 'data.workers_per_gpu=0', *options])
        return capsys.readouterr().out
    run('demo_folder.py', 'data.train.num_samples=256', 'data.val.num_samples=64')
    out = run('demo_folder_finetune.py', 'load_from=demo_folder/epoch_1.pth')
    warnings = [line for line in out.splitlines() if 'do not match exactly' in line]
    assert len(warnings) == 1 and 'head.fc.weight: checkpoint (10, 64) vs model (5, 64)' in \
        warnings[0] and 'head.fc.bias' in warnings[0] and 'backbone' not in warnings[0]
    assert 'Epoch(val) [1][9]\taccuracy_top-1: ' in out         # 265 images of 5 classes
    before = torch.load(tmp_path / 'demo_folder' / 'epoch_1.pth', weights_only=True)['state_dict']
    after = torch.load(tmp_path / 'demo_folder_finetune' / 'epoch_1.pth',
                       weights_only=True)['state_dict']
    frozen = [k for k in after if k.startswith(('backbone.conv1', 'backbone.bn1',
                                                'backbone.layer1.'))]
    assert len(frozen) == 30 and all(torch.equal(before[k], after[k]) for k in frozen)
    assert not torch.equal(before['backbone.layer2.0.conv1.weight'],
                           after['backbone.layer2.0.conv1.weight'])
