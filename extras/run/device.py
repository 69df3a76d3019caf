"""Which device a run or a tool uses (mmcls: utils/device.py auto_select_device; mmcv 1.7:
device/utils.py get_device): `--device` or cfg.device, one of 'auto', 'cpu', 'cuda', 'cuda:N',
'mps', checked against what torch sees here.

    device = resolve_device('cuda:1')    # 'cuda:1', or a ConfigError naming what is available

'auto' is 'cuda' when torch sees one, else 'cpu'. mmcv's get_device would also pick 'mps' (and
npu, mlu); here 'mps' is used only when asked for.
"""
import torch

from config import ConfigError


def auto_select_device():
    """'cuda' when torch sees a CUDA device, else 'cpu' (mmcls: auto_select_device)."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def available_devices():
    """The device names that work here: 'cpu', then 'cuda' and 'cuda:0'... , then 'mps'."""
    names = ['cpu']
    if torch.cuda.is_available():
        names += ['cuda'] + [f'cuda:{i}' for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append('mps')
    return names


def resolve_device(name):
    """`name` ('auto' resolved) if this machine has it; else one line naming what it has."""
    device = auto_select_device() if name == 'auto' else name
    available = available_devices()
    if device not in available:
        raise ConfigError(f'device {name!r} is not available here; available: '
                          f'{", ".join(available)}')
    return device
