"""`random_streams='mmcls'` (config.py's field, extras/bridge/mmcls_streams.py) draws as
mmcls 0.25 does, and a minicls checkpoint goes to mmcv. The tests that need mmcv 1.7.2 /
mmcls 0.25.0 run where $MMREF (benchmarks/mmcv_reference_setup.sh) holds them, and are
skipped elsewhere (CI: conftest.py's `mmref`); the others take a few seconds."""
import json
import os
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

import data
import procs
import train
from config import ConfigError, cfg, check_config, load_config
from extras.options.cfg_options import apply_cfg_options
from extras.bridge.mmcls_config import read_mmcls_text, to_mmcls_text
from extras.bridge.mmcls_streams import MmclsDistributedSampler, MmclsRandomSampler, build_dataloader
from model import build_classifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'benchmarks'))
import interop  # noqa: E402
import real_data  # noqa: E402

DEMO = str(ROOT / 'configs' / 'demo.py')
# configs/demo.py shrunk to a one-stage ResNet of width 4 and 32 / 16 images: ~0.2 s a run
TINY = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4', 'model.backbone.num_stages=1',
        'model.backbone.out_indices=[0]', 'model.head.in_channels=4', 'data.samples_per_gpu=8',
        'data.workers_per_gpu=0', 'data.train.num_samples=32', 'data.val.num_samples=16', 'total_epochs=2',
        'log_config.interval=1', 'lr_config.step=[1]', 'seed=0', 'num_threads=1']


# ---- The field ------------------------------------------------------------------------------

def test_random_streams_is_a_checked_field_that_travels_in_mmcls_text():
    assert cfg.random_streams == 'minicls'                      # exact resume stays the default
    check_config(replace(cfg, random_streams='mmcls'))
    with pytest.raises(ConfigError, match=r"^random_streams='numpy' is out of range; allowed: 'minicls' "
                                          r"\(exact resume\) or 'mmcls'"):
        check_config(replace(cfg, random_streams='numpy'))
    with pytest.raises(ConfigError, match='random_streams'):
        check_config(replace(cfg, random_streams=1))
    text = to_mmcls_text(replace(cfg, random_streams='mmcls'))  # mmcls never reads `minicls`
    assert "minicls = dict(random_streams='mmcls')" in text and 'random_streams' not in to_mmcls_text(cfg)
    assert read_mmcls_text(text).random_streams == 'mmcls'


# ---- The streams, against torch's classes (no mmcv needed) ------------------------------------

class Indices(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


@pytest.mark.parametrize('seed', [0, 7, 2 ** 32 - 1])
def test_the_sampler_gives_torchs_randomsampler_order_for_the_same_seed(seed):
    torch.manual_seed(seed)
    expected = [list(RandomSampler(range(37))) for _ in range(3)]
    torch.manual_seed(seed)
    sampler = MmclsRandomSampler(37, batch_size=8)
    assert [list(sampler) for _ in range(3)] == expected


def epochs(train_loader, val_loader, n=3):
    out = []
    for _ in range(n):            # a val pass after each epoch: its iterator draws a base seed too
        out += [[b.tolist() for b in train_loader], [b.tolist() for b in val_loader]]
    return out


def test_the_loaders_draw_from_torchs_global_stream_as_mmcls_dataloaders_do():
    """mmcls's one-process loaders: DataLoader(shuffle=True / False), no generator of their own."""
    ds = Indices(37)
    torch.manual_seed(3)
    expected = epochs(DataLoader(ds, 8, shuffle=True), DataLoader(ds, 8, shuffle=False))
    torch.manual_seed(3)
    assert epochs(build_dataloader(ds, 8, 0, seed=3), build_dataloader(ds, 8, 0, shuffle=False)) == expected
    torch.manual_seed(3)              # minicls's own streams: another order
    assert epochs(data.build_dataloader(ds, 8, 0, seed=3), data.build_dataloader(ds, 8, 0, shuffle=False)) != expected


@pytest.mark.parametrize('n, replicas', [(37, 3), (8, 4), (10, 1)])
def test_the_distributed_sampler_is_mmcls_one_seed_plus_epoch(n, replicas):
    """mmcls's DistributedSampler: torch's, seeded with seed + epoch, padded by repetition."""
    for shuffle in (True, False):
        for rank in range(replicas):
            mine = MmclsDistributedSampler(n, 4, replicas, rank, shuffle=shuffle, seed=11)
            ref = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=11)
            for epoch in (0, 1, 5):
                mine.set_epoch(epoch)
                ref.set_epoch(epoch)
                assert list(mine) == list(ref) and len(mine) == len(ref)


class Draws(Indices):
    def __getitem__(self, i):
        return torch.tensor([i, np.random.randint(2 ** 31), random.randrange(2 ** 31)])


def test_workers_draw_from_mmcls_worker_seeds_never_reseeded():
    """Worker w of rank 0 seeds np.random and random with w + seed (mmcls's worker_init_fn); batch
    b comes from worker b % workers; persistent workers carry their streams to the next epoch."""
    loader = build_dataloader(Draws(12), 1, 2, seed=5, persistent_workers=True)
    got = [b[0].tolist() for _ in range(2) for b in loader]
    streams = [(np.random.RandomState(5 + w), random.Random(5 + w)) for w in range(2)]
    expected = []
    for _ in range(2):
        order = [row[0] for row in got[len(expected):len(expected) + 12]]
        for b, i in enumerate(order):
            rs, r = streams[b % 2]
            expected.append([i, rs.randint(2 ** 31), r.randrange(2 ** 31)])
    assert got == expected and sorted(row[0] for row in got[:12]) == list(range(12))


def test_a_mid_epoch_resume_skips_the_batches_done():
    torch.manual_seed(0)
    sampler = MmclsRandomSampler(37, batch_size=8)
    full = list(sampler)
    torch.manual_seed(0)
    sampler.skip_batches = 2
    assert list(sampler) == full[16:] and sampler.skip_batches == 0


# ---- Through train.py -------------------------------------------------------------------------

def run_train(folder, work_dir, *options):
    cwd = os.getcwd()
    os.chdir(folder)                  # the demo's data: <folder>/data/demo_cifar10, made once
    try:
        train.cli(['--config', DEMO, '--work-dir', work_dir, '--cfg-options', *TINY, *options])
    finally:
        os.chdir(cwd)
    return folder / work_dir


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The tiny demo run with each streams value, in this process; the first one records the
    indices its datasets are asked for, in order."""
    base, seen = tmp_path_factory.mktemp('interop'), []
    original = data.CIFAR10.__getitem__

    def recording(self, idx):
        seen.append((self.test_mode, idx))
        return original(self, idx)
    data.CIFAR10.__getitem__ = recording
    try:
        out = dict(mmcls=run_train(base, 'mmcls', 'random_streams=mmcls'))
    finally:
        data.CIFAR10.__getitem__ = original
    out.update(again=run_train(base, 'again', 'random_streams=mmcls'),
               minicls=run_train(base, 'minicls', 'random_streams=minicls'), seen=seen)
    return out


def train_losses(work_dir):
    log = sorted(work_dir.glob('*.log.json'))[-1]
    return [(x['epoch'], x['iter'], x['loss']) for x in map(json.loads, log.open()) if x.get('mode') == 'train']


def test_a_tiny_run_with_mmcls_streams_draws_mmcls_order_through_train_py(runs):
    """After set_random_seed(0), mmcls 0.25 draws from torch's global generator: the model's
    initialisation, then per epoch the train loader's base seed and its RandomSampler's seed (no
    workers: a new iterator each epoch), then the val loader's base seed."""
    tiny = apply_cfg_options(load_config(DEMO), TINY)
    train.set_random_seed(0)
    build_classifier(tiny.model).init_weights()
    expected = []
    for _ in range(2):
        torch.empty((), dtype=torch.int64).random_()                 # the train iterator's base seed
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        expected += [(False, i) for i in torch.randperm(32, generator=torch.Generator().manual_seed(seed)).tolist()]
        torch.empty((), dtype=torch.int64).random_()                 # the val iterator's
        expected += [(True, i) for i in range(16)]
    assert runs['seen'] == expected
    meta = torch.load(runs['mmcls'] / 'epoch_2.pth', weights_only=True)['meta']
    assert json.loads(meta['minicls_config'])['random_streams'] == 'mmcls'
    assert read_mmcls_text(meta['config']).random_streams == 'mmcls'      # mmcls's text carries it too
    mmcls, again, own = (train_losses(runs[k]) for k in ('mmcls', 'again', 'minicls'))
    assert len(mmcls) == 8 and mmcls == again and mmcls != own   # reproducible; not minicls's streams


# ---- With the real mmcv / mmcls -----------------------------------------------------------------

def run_mmref(mmref, script, *args):
    env = dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps', OMP_NUM_THREADS='1')
    r = procs.run([sys.executable, '-W', 'ignore', '-c', script, *map(str, args)], cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_mmcv_reads_a_minicls_checkpoints_config_text(runs, mmref):
    got = run_mmref(mmref, '''if 1:
        import json, sys, torch
        from mmcv import Config
        c = Config.fromstring(torch.load(sys.argv[1], weights_only=True)['meta']['config'], file_format='.py')
        print(json.dumps(dict(epochs=c.runner.max_epochs, gpu_ids=list(c.gpu_ids), model=c.model.backbone.type,
                              lr=c.optimizer.lr, minicls=c.minicls)))''', runs['mmcls'] / 'epoch_2.pth')
    assert got['minicls']['random_streams'] == 'mmcls'
    assert got == dict(epochs=2, gpu_ids=[0], model='ResNet_CIFAR', lr=0.1, minicls=got['minicls'])


def test_mmcvs_epoch_based_runner_resumes_a_minicls_checkpoint(runs, mmref, tmp_path):
    """mmcv's own resume: the config text is parsed (gpu_ids), epoch, iter, weights, momentum."""
    got = run_mmref(mmref, '''if 1:
        import json, logging, sys, torch
        from mmcv import Config
        from mmcv.runner import EpochBasedRunner, build_optimizer
        from mmcls.models import build_classifier
        ckpt = torch.load(sys.argv[1], weights_only=True)
        c = Config.fromstring(ckpt['meta']['config'], file_format='.py')
        model = build_classifier(c.model)
        optimizer = build_optimizer(model, c.optimizer)
        runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=sys.argv[2], logger=logging.getLogger('t'),
                                  max_epochs=c.runner.max_epochs)
        runner.resume(sys.argv[1])
        sd, state = model.state_dict(), optimizer.state_dict()['state']
        print(json.dumps(dict(epoch=runner.epoch, iter=runner.iter,
                              weights=all(torch.equal(sd[k], v) for k, v in ckpt['state_dict'].items()),
                              momentum=all(torch.equal(state[k]['momentum_buffer'], v['momentum_buffer'])
                                           for k, v in ckpt['optimizer']['state'].items()),
                              lr=[g['lr'] for g in optimizer.param_groups])))''',
                    runs['mmcls'] / 'epoch_2.pth', tmp_path)
    assert got == dict(epoch=2, iter=8, weights=True, momentum=True, lr=[0.010000000000000002])


def digits_like(folder):
    """Random 8x8 'digits' in real_data.py's CIFAR-10 files: 96 train, 32 test."""
    rng = np.random.default_rng(0)
    imgs, labels = rng.integers(0, 17, (128, 8, 8), dtype=np.uint8), np.arange(128) % 10
    real_data.write_cifar(str(folder / 'digits' / 'cifar-10-batches-py'), imgs, labels, np.arange(96),
                          np.arange(96, 128))
    return folder / 'digits'


@pytest.mark.parametrize('workers', [0, 2])
def test_minicls_with_mmcls_streams_is_the_real_mmcls_run_bit_for_bit(workers, mmref, tmp_path):
    configs = interop.write_configs(str(tmp_path / 'configs'), digits_like(tmp_path), workers, epochs=2, steps=[1],
                                    every=2, width=4, batch=16)
    for system, line in (('minicls', 'cfg = replace(cfg, log_config=LogConfig(interval=1))'),
                         ('mmcls', "log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])")):
        with open(configs[system], 'a') as f:         # a log line per iteration: every loss compared
            f.write(line + '\n')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               MINICLS_MMCV_OPENCV=mmref_opencv(mmref))          # its Normalize
    mini = procs.run([sys.executable, str(ROOT / 'train.py'), '--config', configs['minicls'], '--work-dir',
                      tmp_path / 'mini', '--seed', '3', '--cfg-options', 'random_streams=mmcls'],
                     cwd=ROOT, env=env, timeout=600)
    assert mini.returncode == 0, mini.stderr[-3000:]
    mm = procs.run([sys.executable, '-W', 'ignore', interop.REAL_DATA, '--mmcls-driver', configs['mmcls'],
                    '--work-dir', tmp_path / 'mm', '--seed', '3'],
                   cwd=ROOT, env=dict(env, PYTHONPATH=f'{mmref}/src:{mmref}/deps'), timeout=600)
    assert mm.returncode == 0, mm.stderr[-3000:]
    a, b = (interop.read_epochs(str(tmp_path / d)) for d in ('mini', 'mm'))
    assert a['losses'] == b['losses'] and a['epoch_top1'] == b['epoch_top1'] and len(b['losses'][2]) == 96 // 16
    sa, sb = (torch.load(tmp_path / d / 'epoch_2.pth', weights_only=True)['state_dict'] for d in ('mini', 'mm'))
    assert list(sa) == list(sb) and [k for k in sb if not torch.equal(sa[k], sb[k])] == []


# ---- Normalize as mmcv.imnormalize computes it, by opencv version ---------------------------

class Images(torch.utils.data.Dataset):
    """Every uint8 value in each channel (a 16x16 BGR image), through a test pipeline."""

    def __init__(self, channels=3):
        from config import img_norm_cfg
        img = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), channels, 2)
        self.img = np.ascontiguousarray(img[..., ::-1] if channels == 3 else img)   # B != R
        mean, std = img_norm_cfg['mean'][:channels], img_norm_cfg['std'][:channels]
        norm = dict(type='Normalize', mean=mean, std=std, to_rgb=channels == 3)
        self.pipeline = data.Compose([norm, dict(type='Collect', keys=['img'])])

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return self.pipeline(dict(img=self.img.copy()))


def normalized(opencv, monkeypatch, channels=3):
    """The image as random_streams='mmcls' normalizes it with $MINICLS_MMCV_OPENCV=opencv."""
    if opencv is None:
        monkeypatch.delenv('MINICLS_MMCV_OPENCV', raising=False)
    else:
        monkeypatch.setenv('MINICLS_MMCV_OPENCV', opencv)
    images = Images(channels)
    return next(iter(build_dataloader(images, 1, 0, shuffle=False)))['img'][0].numpy(), images


def test_mmcls_streams_normalize_as_mmcv_does_under_the_opencv_named(monkeypatch):
    """opencv >= 5.1 (what `pip install mmcv==1.7.2` brings today) multiplies a 3-channel
    image by float32(1 / std); opencv <= 5.0 (4.x too) gives the float32 quotient, data.py's
    Normalize, the default streams' (measured against the real mmcv: docs/interop.md)."""
    from config import img_norm_cfg
    today, images = normalized(None, monkeypatch)
    mean, std = (np.array(img_norm_cfg[k], np.float32) for k in ('mean', 'std'))
    x = images.img[..., ::-1].astype(np.float32)
    product, quotient = (x - mean) * (1 / std.astype(np.float64)).astype(np.float32), (x - mean) / std
    assert (today == product).all() and (product != quotient).sum() == 176         # of 768
    assert (normalized('5.1.0', monkeypatch)[0] == product).all()
    for old in ('5.0.0', '5.0', '4.14.0'):
        assert (normalized(old, monkeypatch)[0] == quotient).all()
    gray, images = normalized('5.1.0', monkeypatch, channels=1)      # one channel: the quotient
    assert (gray == (images.img.astype(np.float32) - mean[:1]) / std[:1]).all()
    own = data.build_dataloader(Images(), 1, 0, shuffle=False)         # the default streams
    assert (next(iter(own))['img'][0].numpy() == quotient).all()
    with pytest.raises(ValueError, match=r"^MINICLS_MMCV_OPENCV='five' is not an opencv version"):
        normalized('five', monkeypatch)


@pytest.mark.parametrize('deps', ['deps', 'deps51'])
def test_mmcls_streams_normalize_is_mmcvs_imnormalize_with_its_opencv(deps, mmref):
    """The real mmcv.imnormalize with the opencv in $MMREF/<deps> (the setup script's 5.0.0.93;
    deps51: `pip install --target $MMREF/deps51 opencv-python-headless`, 5.1), on all 256
    values and on images of several shapes; MINICLS_MMCV_OPENCV is that cv2.__version__.
    opencv 5.1 misreads images of width 1 or 3 (mmcv's result is not normalized): left out."""
    if not os.path.isdir(f'{mmref}/{deps}/cv2'):
        pytest.skip(f'no opencv at {mmref}/{deps}')
    script = '''if 1:
        import json, os, sys, cv2, mmcv, numpy as np
        os.environ['MINICLS_MMCV_OPENCV'] = cv2.__version__
        from extras.bridge.mmcls_streams import use_mmcv_normalize
        import data
        from config import img_norm_cfg
        mean, std = (np.array(img_norm_cfg[k], np.float32) for k in ('mean', 'std'))
        rng, differ, values = np.random.default_rng(0), 0, 0
        shapes = [(16, 16), (32, 32), (37, 23), (2, 2), (1, 4), (224, 224)]
        imgs = [np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, 2)] + [
            rng.integers(0, 256, s + (3,), dtype=np.uint8) for s in shapes]
        class D:
            pipeline = data.Compose([dict(type='Normalize', **img_norm_cfg)])
        use_mmcv_normalize(D)
        for img in imgs:
            ours = D.pipeline(dict(img=img.copy()))['img']
            theirs = mmcv.imnormalize(img, mean, std, img_norm_cfg['to_rgb'])
            differ, values = differ + int((ours != theirs).sum()), values + img.size
        print(json.dumps(dict(opencv=cv2.__version__, differ=differ, values=values)))'''
    env = dict(os.environ, PYTHONPATH=f'{mmref}/{deps}:{mmref}/src:{mmref}/deps:{ROOT}')
    r = procs.run([sys.executable, '-W', 'ignore', '-c', script], cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got['differ'] == 0 and got['values'] == 768 + 3 * (256 + 1024 + 851 + 4 + 4 + 50176), got


def mmref_opencv(mmref, deps='deps'):
    """cv2.__version__ of the opencv in $MMREF/<deps> (mmcv.imnormalize's arithmetic)."""
    r = procs.run([sys.executable, '-c', 'import cv2; print(cv2.__version__)'], timeout=120,
                  env=dict(os.environ, PYTHONPATH=f'{mmref}/{deps}'))
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip()
