"""tools/convert_torchvision.py. torchvision's resnet18 (random init, no
download) -> mmcls's keys -> model.py's ResNet gives torchvision's logits; and back."""
import sys
from pathlib import Path

import pytest
import torch

import tiny  # noqa: F401  (puts the repository on sys.path)
import procs
from config import BackboneConfig, HeadConfig, ModelConfig
from model import build_classifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import convert_torchvision  # noqa: E402

torchvision = pytest.importorskip('torchvision')


def torchvision_resnet18(path):
    """torchvision's resnet18, random weights and BN statistics away from 0 and 1, saved."""
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None)
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t, low in ((m.weight.data, 0.2), (m.bias.data, -0.1), (m.running_mean, -0.1),
                           (m.running_var, 0.5)):
                t.copy_(torch.rand(t.shape, generator=g) * 0.4 + low)
    torch.save(net.state_dict(), path)
    return net.eval()


def test_torchvision_weights_give_torchvision_logits_and_convert_back(tmp_path, capsys):
    reference = torchvision_resnet18(tmp_path / 'resnet18.pth')
    assert convert_torchvision.main([str(tmp_path / 'resnet18.pth'), str(tmp_path / 'mm.pth')]) == 0
    assert capsys.readouterr().out.strip().endswith('mm.pth: 122 tensors')
    model = build_classifier(ModelConfig(backbone=BackboneConfig(type='ResNet', depth=18),
                                         head=HeadConfig(num_classes=1000, in_channels=512)))
    model.load_state_dict(torch.load(tmp_path / 'mm.pth'), strict=True)
    model.eval()
    x = torch.randn(2, 3, 64, 80)                      # non-square
    with torch.no_grad():
        ours = model.simple_test(x, softmax=False, post_process=False)
        theirs = reference(x)
    assert (ours - theirs).abs().max() <= 1e-4 and theirs.abs().max() > 1e-2
    # and back: the same tensors under torchvision's keys, in the same order
    assert convert_torchvision.main(['--to-torchvision', str(tmp_path / 'mm.pth'),
                                     str(tmp_path / 'back.pth')]) == 0
    back, original = torch.load(tmp_path / 'back.pth'), torch.load(tmp_path / 'resnet18.pth')
    assert list(back) == list(original) and all(torch.equal(back[k], original[k]) for k in back)
    torchvision.models.resnet18().load_state_dict(back, strict=True)


def test_a_minicls_checkpoint_converts_to_torchvision(tmp_path):
    model = build_classifier(ModelConfig(backbone=BackboneConfig(type='ResNet', depth=18),
                                         head=HeadConfig(num_classes=7, in_channels=512)))
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, tmp_path / 'epoch_1.pth')
    convert_torchvision.convert(str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'tv.pth'), True)
    torchvision.models.resnet18(num_classes=7).load_state_dict(torch.load(tmp_path / 'tv.pth'))


def test_a_torchvision_file_given_to_load_from_says_to_convert_it(tmp_path):
    """Its keys (conv1.weight, fc.weight) are none of the model's (backbone.conv1.weight):
    the error says which tool turns them into mmcls's."""
    from checkpoint import CheckpointError, load_checkpoint
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / 'r18.pth')
    model = build_classifier(ModelConfig(backbone=BackboneConfig(type='ResNet', depth=18),
                                         head=HeadConfig(num_classes=10, in_channels=512)))
    with pytest.raises(CheckpointError, match=r"r18.pth: none of its keys is a key of the model "
                                              r".*; a torchvision ResNet's keys: convert the file "
                                              r'with tools/convert_torchvision.py$'):
        load_checkpoint(model, str(tmp_path / 'r18.pth'))


def test_errors_are_one_line_and_nothing_is_overwritten(tmp_path, capsys):
    torch.save({'w': torch.zeros(1)}, tmp_path / 'other.pth')
    (tmp_path / 'taken.pth').write_bytes(b'keep me')
    cases = [([str(tmp_path / 'other.pth'), str(tmp_path / 'a.pth')],
              'other.pth: not the state_dict of a torchvision ResNet (no conv1.weight and fc.weight; '
              'its first keys: w)'),
             (['--to-torchvision', str(tmp_path / 'other.pth'), str(tmp_path / 'a.pth')],
              "other.pth: not the state_dict of an mmcls ResNet classifier (keys under backbone. and "
              "head.fc.; it has 'w')"),
             ([str(tmp_path / 'other.pth'), str(tmp_path / 'taken.pth')],
              'taken.pth exists; it is not overwritten (pick another name)')]
    for args, message in cases:
        assert convert_torchvision.main(args) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and message in err, err
    assert (tmp_path / 'taken.pth').read_bytes() == b'keep me' and not (tmp_path / 'a.pth').exists()
    r = procs.run([sys.executable, str(ROOT / 'tools' / 'convert_torchvision.py'),
                   str(tmp_path / 'nope.pth'), str(tmp_path / 'a.pth')], timeout=120, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip() == f"error: checkpoint {tmp_path / 'nope.pth'} does not exist"
