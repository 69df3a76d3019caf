"""Every bad input ends with one line on stderr that names the field or the file, a non-zero
exit status, no traceback, and nothing written: config fields are checked before any data
is read. One parametrised table: the input, the exit status, words the message must hold."""
import copy
import os
import pickle
import shutil

import pytest
import torch

import train
from extras.run import work_dir
from test_work_dir import CONFIG
from test_image_folder import bad_folder_config

OPTIMIZER_DICT = CONFIG + "cfg = replace(cfg, optimizer=dict(type='SGD', lr=0.1, momentum=0.9))\n"
OTHER_CONFIG_PY = '''import importlib.util, sys
spec = importlib.util.spec_from_file_location('config_copy', {copy!r})
copy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(copy)
cfg = copy.cfg
'''
LOG_CONFIG_NONE = CONFIG + 'cfg = replace(cfg, log_config=None)\n'
CONFIG_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'config.py')
MMCLS_R18 = '_base_ = {!r}\n'.format(os.path.join(os.path.dirname(CONFIG_PY), 'tests', 'fixtures', 'mmcls',
                                                'resnet', 'resnet18_8xb16_cifar10.py'))
NAN_LR = CONFIG + "cfg = replace(cfg, optimizer=replace(cfg.optimizer, lr=float('nan')))\n"

# (name, extra files to write {name: text}, args, exit status, words in the message)
CASES = [
    ('metric unknown', {}, ['--cfg-options', 'evaluation.metric="mAP"'], 2, ['evaluation.metric', 'accuracy']),
    # refused before any data is read: config.py's CIFAR-10 is not in the test's folder
    ('optimizer option typo', {}, ['--config', CONFIG_PY, '--cfg-options', "optimizer.options={'nesterovv': 1}"],
     2, ["optimizer.type='SGD' does not accept", "'nesterovv'"]),
    ('logger hook unknown', {}, ['--config', CONFIG_PY, '--cfg-options',
                                 "log_config.hooks=[{'type': 'TensorboardLoggerHook'}]"], 2,
     ["log_config.hooks: type='TensorboardLoggerHook' is not known", 'TextLoggerHook']),
    ('logger hook not a dict', {}, ['--config', CONFIG_PY, '--cfg-options', "log_config.hooks=['x']"], 2,
     ["log_config.hooks[0]='x' is not valid", "dict(type='TextLoggerHook', ...)"]),
    ('topk not int', {}, ['--cfg-options', "evaluation.metric_options={'topk': 'a'}"], 2,
     ['evaluation.metric_options', 'topk']),
    ('val-only workflow', {}, ['--cfg-options', "workflow=[('val', 1)]"], 2, ['workflow', "('train', epochs)"]),
    ('negative gamma', {}, ['--cfg-options', 'lr_config.gamma=-1'], 2, ['lr_config.gamma', '> 0']),
    ('negative max_norm', {}, ['--cfg-options', 'optimizer_config.grad_clip.max_norm=-1'], 2,
     ['grad_clip.max_norm', '> 0']),
    ('epochs a float', {}, ['--cfg-options', 'total_epochs=1e30'], 2, ['total_epochs', 'expected int']),
    ('log level', {}, ['--cfg-options', 'log_level="LOUD"'], 2, ['log_level', 'INFO']),
    ('custom hook a name', {}, ['--cfg-options', "custom_hooks=['EMAHook']"], 2, ['custom_hooks[0]', 'dict(type=']),
    ('custom hook unknown', {}, ['--cfg-options', "custom_hooks=[{'type': 'EMA'}]"], 2,
     ["custom_hooks: type='EMA' is not known", 'EMAHook']),
    ('lr policy unknown', {}, ['--cfg-options', 'lr_config.policy="cosine"'], 2, ['lr_config.policy', 'CosineAnnealing']),
    ('mmcv optimizer dict', {'cfg2.py': OPTIMIZER_DICT}, ['--config', 'cfg2.py'], 2,
     ['optimizer is a dict', 'OptimizerConfig(']),
    ('another config.py', {'cfg3.py': 'COPY'}, ['--config', 'cfg3.py'], 2, ['another copy of config.py']),
    ('config is a directory', {}, ['--config', '.'], 2, ["'.' is a directory"]),
    ('config missing', {}, ['--config', 'missing.py'], 2, ["'missing.py' does not exist"]),
    ('resume is a directory', {}, ['--resume', '.'], 1, ['is a directory']),
    ('resume a log', {'x.log.json': '{"mode": "train"}\n'}, ['--resume', 'x.log.json'], 1, ['not a checkpoint']),
    ('resume and load-from', {}, ['--resume', 'a.pth', '--load-from', 'b.pth'], 2, ['conflict']),
    ('resume missing', {}, ['--resume', 'nope.pth'], 1, ['nope.pth does not exist']),
    ('plain pickle', {'pickle.pth': 'PICKLE'}, ['--resume', 'pickle.pth'], 1, ['pickled Python objects',
                                                                               '--trust-checkpoint']),
    ('meta without epoch', {'m.pth': 'NO_EPOCH'}, ['--resume', 'm.pth'], 1, ['m.pth', 'meta epoch=None is not valid', 'int >= 0']),
    ('meta a list', {'m.pth': 'META_LIST'}, ['--resume', 'm.pth'], 1, ['m.pth', 'meta is a list, not a dict']),
    ('hook_states not a dict', {'m.pth': 'HOOK_STATES'}, ['--resume', 'm.pth'], 1, ['m.pth', 'hook_states is a list, not a dict']),
    ('malformed rng', {'m.pth': 'BAD_RNG'}, ['--resume', 'm.pth'], 1, ['m.pth', 'random states (rng) are malformed']),
    ('adam into sgd', {'m.pth': 'ADAM'}, ['--resume', 'm.pth'], 1, ['does not fit SGD', 'betas']),
    ('epoch 99', {'m.pth': 'EPOCH_99'}, ['--resume', 'm.pth'], 2, ['is at epoch 99 and total_epochs=3',
                                                                   'nothing is left to train']),
    ('work dir is a file', {'afile': 'x'}, ['--work-dir', 'afile/w'], 2, ['cannot be written']),
    # values no one means: huge, infinite, negative; names a lookup refuses
    ('epochs a huge int', {}, ['--cfg-options', 'total_epochs=' + '1' * 31], 2,
     ['total_epochs=1111', 'cannot be meant']),
    ('lr inf', {}, ['--cfg-options', 'optimizer.lr=1e999'], 2, ['optimizer.lr=inf', 'finite']),
    ('lr nan in a file', {'nan.py': NAN_LR}, ['--config', 'nan.py'], 2, ['optimizer.lr=nan', 'finite']),
    ('negative loss weight', {}, ['--cfg-options', 'model.head.loss.loss_weight=-1'], 2,
     ['model.head.loss.loss_weight=-1.0', '>= 0']),
    ('empty work dir', {}, ['--work-dir', ''], 2, ["work_dir=''", 'not empty']),
    ('config calls sys.exit', {'exit.py': 'import sys\nsys.exit(0)\n'}, ['--config', 'exit.py'], 2,
     ['exit.py failed to run: SystemExit']),
    ('field typo', {}, ['--cfg-options', 'total_epoch=3'], 2,
     ["no field 'total_epoch'", "did you mean 'total_epochs'"]),
    ('policy typo', {}, ['--cfg-options', 'lr_config.policy="Stepp"'], 2,
     ["lr_config.policy='Stepp'", "did you mean 'Step'"]),
    ('custom hook runs os.system', {}, ['--cfg-options', "custom_hooks=[{'type': 'os:system'}]"], 2,
     ["custom_hooks: type='os:system'", 'not a subclass of Hook']),
    ('custom hook module missing', {}, ['--cfg-options', "custom_hooks=[{'type': 'nomodule:Hook'}]"], 2,
     ["custom_hooks: type='nomodule:Hook'", 'cannot import']),
    ('negative meta epoch', {'m.pth': 'NEG_EPOCH'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'meta epoch=-1 is not valid']),
    ('negative batches_done', {'m.pth': 'NEG_BATCHES'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'meta batches_done=-3 is not valid']),
    ('batches_done past the end', {'m.pth': 'PAST_END'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'meta batches_done=5', 'has 4 batches']),
    ('hook_msgs a list', {'m.pth': 'HOOK_MSGS'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'hook_msgs is a list, not a dict']),
    ('hook state of another shape', {'m.pth': 'BAD_HOOK_STATE'},
     ['--resume', 'm.pth', '--cfg-options', "custom_hooks=[{'type': 'EMAHook'}]"], 1,
     ['m.pth', "hook_states['EMAHook'] does not fit this run"]),
    ('warmup without iters', {}, ['--cfg-options', "lr_config.warmup='linear'"], 2,
     ['lr_config.warmup_iters=None', '> 0 when lr_config.warmup is set']),
    ('warmup ratio 0', {}, ['--cfg-options', "lr_config.warmup='linear'", 'lr_config.warmup_iters=5',
                            'lr_config.warmup_ratio=0'], 2, ['lr_config.warmup_ratio=0.0', 'in (0, 1]']),
    ('eval rule', {}, ['--cfg-options', "evaluation.rule='bigger'"], 2, ["evaluation.rule='bigger'"]),
    ('eval start', {}, ['--cfg-options', 'evaluation.start=-1'], 2, ['evaluation.start=-1', '>= 0']),
    ('negative momentum', {}, ['--cfg-options', 'optimizer.momentum=-.5'], 2,
     ['optimizer.momentum=-0.5', '>= 0']),
    ('negative seed', {}, ['--cfg-options', 'seed=-1'], 2, ['seed=-1', '0 <= seed < 2**32']),
    ('warmup capitalised', {}, ['--cfg-options', 'lr_config.warmup="Linear"', 'lr_config.warmup_iters=3'],
     2, ["lr_config.warmup='Linear'", "'linear'"]),
    ('momentum step 0', {}, ['--cfg-options', "momentum_config.policy='step'", 'momentum_config.step=0'], 2,
     ['momentum_config.step=0', 'an int > 0']),
    ('lr step list with 0', {}, ['--cfg-options', 'lr_config.step=[0, 5]'], 2, ['lr_config.step=[0, 5]']),
    ('val num_samples 0', {}, ['--cfg-options', 'data.val.num_samples=0'], 2,
     ['data.val.num_samples=0', '>= 1 or None']),
    # names are looked up before any data is read: config.py's CIFAR-10 is not here
    ('policy typo before data', {}, ['--config', CONFIG_PY, '--cfg-options', 'lr_config.policy=cosine'], 2,
     ["lr_config.policy='cosine' is not known", 'CosineAnnealing']),
    ('optimizer typo before data', {}, ['--config', CONFIG_PY, '--cfg-options', 'optimizer.type=SDG'], 2,
     ["optimizer.type='SDG' is not known", "did you mean 'SGD'"]),
    ('metric list', {}, ['--cfg-options', "evaluation.metric=['accuracy', 'mAP']"], 2,
     ["evaluation.metric=['accuracy', 'mAP']", 'one or a list of']),
    # the mmcls bridge, before any data is read (no CIFAR-10 here)
    ('checkpoint as config', {'m.pth': 'NO_EPOCH'}, ['--config', 'm.pth'], 2,
     ["'m.pth' is not a .py file", '--from-checkpoint m.pth']),
    ('mmcls optimizer typo', {'mm.py': MMCLS_R18 + 'optimizer = dict(momentun=0.9)\n'},
     ['--config', 'mm.py'], 2, ['mm.py: optimizer.momentun=0.9', "did you mean 'momentum'"]),
    ('mmcls logger hook', {'mm.py': MMCLS_R18 + "log_config = dict(hooks=[dict(type='TensorboardLoggerHook')])\n"},
     ['--config', 'mm.py'], 2, ["log_config.hooks[0]: type='TensorboardLoggerHook'", 'TextLoggerHook']),
    ('mmcls num_stages', {'mm.py': MMCLS_R18 + 'model = dict(backbone=dict(num_stages=5 * 10 ** 6))\n'},
     ['--config', 'mm.py'], 2, ['mm.py: model.backbone.num_stages=5000000 is out of range', '1..4']),
    # image files: one line naming the file, exit 1; ann_file lines before training
    *[(f'image: {kind}', {'img.py': f'IMAGES:{kind}'}, ['--config', 'img.py'], 1, words) for kind, words in [
        ('truncated', ["LoadImageFromFile: '", "c0/0.jpg' cannot be read or decoded"]),
        ('truncated in a worker', ["error: LoadImageFromFile: '", "c0/0.jpg' cannot be read or decoded",
                                   'in a DataLoader worker']),     # the message, not its type
        ('not an image', ["c0/0.jpg' is not an image PIL can read"]),
        ('empty', ["c0/0.jpg' is empty (0 bytes)"]),
        ('bomb', ["c0/0.jpg' is a decompression bomb"]),
        ('not UTF-8 name', [r"c0/\udcff\udcfe.jpg'", 'is empty (0 bytes)']),
        ('symlink loop', ["c1/up/c1' is '", "' again: a symlink loop"]),
        ('missing file', ["ann.txt' line 2: 'c0/nope.jpg' is not a file in"]),
        ('label out of range', ["ann.txt' line 1: label 7 is out of range 0..1"]),
        ('blank line', ["ann.txt' line 2 is blank"]),
        ('thin bomb', ["Resize: '", "c0/0.jpg' is 1x100000 and would become 256x25600000",
                       'MAX_IMAGE_PIXELS']),
        ('thin to a 0 side', ["c0/0.jpg' is 1x100 and would become 0x8"]),
        ('smaller than CenterCrop', ["CenterCrop: '", "c0/0.jpg' is 8x7, smaller than crop_size=(8, 10)"])]],
    # image transforms' arguments: refused when the pipeline is built, before any image is read
    *[(f'transform: {name}', {}, ['--cfg-options', f'data.train.pipeline={pipeline}'], 2, words) for name, pipeline, words in [
        ('scale negative', "[{'type': 'RandomResizedCrop', 'size': 8, 'scale': (-1, 1)}]",
         ['RandomResizedCrop: scale=(-1, 1) is not valid', '0 < min <= max <= 1']),
        ('scale inf', "[{'type': 'RandomResizedCrop', 'size': 8, 'scale': (0.5, 1e999)}]",
         ['RandomResizedCrop: scale=(0.5, inf) is not valid', 'finite']),
        ('ratio 3 values', "[{'type': 'RandomResizedCrop', 'size': 8, 'ratio': (0.5, 1, 2)}]",
         ['RandomResizedCrop: ratio=(0.5, 1, 2) is not valid', '0 < min <= max']),
        ('size too big', "[{'type': 'Resize', 'size': (100000, 100000)}]",
         ['Resize: size=(100000, 100000) is not valid', 'at most PIL.Image.MAX_IMAGE_PIXELS']),
        ('file_client_args None', "[{'type': 'LoadImageFromFile', 'file_client_args': None}]",
         ['LoadImageFromFile: file_client_args=None', "dict(backend='disk')"])]],
    ('frozen_stages past num_stages', {}, ['--cfg-options', 'model.backbone.frozen_stages=5'], 2,
     ['model.backbone.frozen_stages=5 is out of range', '-1..1 (num_stages=1)']),
    # checkpoints that trained on silently wrong, or ended in a traceback from torch
    ('classes renamed', {'m.pth': 'CLASSES_RENAMED'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'other classes', r"'\x1b[2J\x1b[31mtruck\n'", "now ['h_stripes',"]),
    ('load-from a list', {'m.pth': 'A_LIST'}, ['--load-from', 'm.pth'], 1, ['m.pth', 'a list, not']),
    ('load-from a tensor', {'m.pth': 'A_TENSOR'}, ['--load-from', 'm.pth'], 1, ['m.pth', 'a Tensor, not']),
    ('load-from: no weight fits', {'m.pth': 'NO_SHAPE_FITS'}, ['--load-from', 'm.pth'], 1,
     ['m.pth: none of its', 'weights fits this model']),
    ('load-from: another prefix', {'m.pth': 'OTHER_PREFIX'}, ['--load-from', 'm.pth'], 1,
     ['m.pth: none of its', "'foo.backbone.conv1.weight'"]),
    ('int64 weights: resume', {'m.pth': 'INT64_WEIGHTS'}, ['--resume', 'm.pth'], 1,
     ['m.pth', 'torch.int64', 'floating point']),
    ('int64 weights: load-from', {'m.pth': 'INT64_WEIGHTS'}, ['--load-from', 'm.pth'], 1,
     ['m.pth', 'torch.int64', 'floating point']),
    ('momentum buffer of another shape', {'m.pth': 'MOMENTUM_SHAPE'}, ['--resume', 'm.pth'], 1,
     ['m.pth', "optimizer state[0]['momentum_buffer']", '(5,)', '(4, 3, 3, 3)']),
    ('initial_lr a str', {'m.pth': 'INITIAL_LR'}, ['--resume', 'm.pth'], 1,
     ['m.pth', "param_groups[0]['initial_lr']='abc'"]),
    ('best_score a str', {'m.pth': 'BEST_SCORE'}, ['--resume', 'm.pth', '--cfg-options', "evaluation.save_best='auto'"],
     1, ["m.pth: meta hook_msgs['best_score']='\\x1b[2Jtop' is not valid", 'a number']),
    ('fp16 dtype', {'fp.py': CONFIG + "cfg = replace(cfg, fp16=Fp16Config(dtype='int8'))\n"},
     ['--config', 'fp.py'], 2, ["fp16.dtype='int8' is not known"]),
    ('topk None', {}, ['--cfg-options', "evaluation.metric_options={'topk': None}"], 2,
     ["evaluation.metric_options={'topk': None} is out of range"]),
    ('mmcls topk None', {'mm.py': MMCLS_R18 + 'evaluation = dict(metric_options=dict(topk=None))\n'},
     ['--config', 'mm.py'], 2, ['mm.py: evaluation.metric_options', 'topk']),
    ('mmcls minicls None', {'mm.py': MMCLS_R18 + 'minicls = None\n'}, ['--config', 'mm.py'], 2,
     ['mm.py: minicls=None is not a dict']),
]


@pytest.fixture(scope='module')
def good_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp('good')
    (folder / 'tiny.py').write_text(CONFIG.format(data=str(folder / 'data')))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        train.cli(['--config', 'tiny.py', '--no-validate', '--cfg-options', 'total_epochs=1'])
    finally:
        os.chdir(cwd)
    return torch.load(folder / 'w' / 'epoch_1.pth', weights_only=True), str(folder / 'data')


def planted(kind, checkpoint):
    """The content of a planted checkpoint: a good one, damaged as `kind` says."""
    ckpt = {k: v for k, v in checkpoint.items()}
    meta = dict(ckpt['meta'])
    if kind == 'NO_EPOCH':
        meta.pop('epoch')
    elif kind == 'META_LIST':
        meta = [1, 2]
    elif kind == 'HOOK_STATES':
        ckpt['hook_states'] = [1]
    elif kind == 'BAD_RNG':
        ckpt['rng'] = {'python': 'x'}
    elif kind == 'ADAM':
        model = torch.nn.Linear(1, 1)
        ckpt['optimizer'] = torch.optim.Adam(model.parameters()).state_dict()
    elif kind == 'EPOCH_99':
        meta['epoch'] = 99
    elif kind == 'NEG_EPOCH':
        meta['epoch'] = -1
    elif kind == 'NEG_BATCHES':
        meta.update(epoch=0, batches_done=-3)
    elif kind == 'PAST_END':              # 64 samples, batch 16: 4 batches an epoch (4: its end)
        meta.update(epoch=0, batches_done=5)
    elif kind == 'HOOK_MSGS':
        meta['hook_msgs'] = [1]
    elif kind == 'BAD_HOOK_STATE':
        ckpt['hook_states'] = {'EMAHook': {'x': 1}}
    elif kind == 'BEST_SCORE':
        meta['hook_msgs'] = {'best_score': '\x1b[2Jtop'}
    elif kind == 'CLASSES_RENAMED':       # the folders renamed: the same count, another order
        meta['CLASSES'] = ['\x1b[2J\x1b[31mtruck\n'] + list(reversed(meta['CLASSES']))[1:]
    elif kind in ('A_LIST', 'A_TENSOR'):
        return [ckpt['state_dict']] if kind == 'A_LIST' else torch.zeros(3)
    elif kind == 'NO_SHAPE_FITS':         # num_batches_tracked (a scalar) would fit
        ckpt['state_dict'] = {k: v if k.endswith('num_batches_tracked') else torch.zeros(7)
                              for k, v in ckpt['state_dict'].items()}
    elif kind == 'OTHER_PREFIX':
        ckpt['state_dict'] = {'foo.' + k: v for k, v in ckpt['state_dict'].items()}
    elif kind == 'INT64_WEIGHTS':
        ckpt['state_dict'] = {k: v.long() for k, v in ckpt['state_dict'].items()}
    elif kind in ('MOMENTUM_SHAPE', 'INITIAL_LR'):
        ckpt['optimizer'] = optimizer = copy.deepcopy(ckpt['optimizer'])
        if kind == 'MOMENTUM_SHAPE':
            optimizer['state'][0]['momentum_buffer'] = torch.zeros(5)
        else:
            optimizer['param_groups'][0]['initial_lr'] = 'abc'
    ckpt['meta'] = meta
    return ckpt


@pytest.mark.parametrize('name, files, args, status, words', CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line(name, files, args, status, words, tmp_path, monkeypatch, capsys,
                                       good_checkpoint):
    checkpoint, data = good_checkpoint
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'tiny.py').write_text(CONFIG.format(data=data))
    for file, text in files.items():
        if text.startswith('IMAGES:'):    # a folder of images with one bad (test_image_folder.py)
            text = bad_folder_config(tmp_path, text[len('IMAGES:'):])
        if text == 'COPY':
            shutil.copy(os.path.join(os.path.dirname(train.__file__), 'config.py'), tmp_path / 'config_copy.py')
            text = OTHER_CONFIG_PY.format(copy=str(tmp_path / 'config_copy.py'))
        if text == 'PICKLE':
            (tmp_path / file).write_bytes(pickle.dumps({'state_dict': {}, 'meta': object()}))
        elif text.isupper() and '_' in text or text in ('ADAM', 'HOOK_MSGS'):
            torch.save(planted(text, checkpoint), tmp_path / file)
        else:
            (tmp_path / file).write_text(text.format(data=data) if '{data!r}' in text else text)
    argv = ['--config', 'tiny.py'] + args if '--config' not in args else args
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SystemExit) as e:
        train.cli(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert e.value.code == status, err
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'Traceback' not in err, err
    assert all(w in lines[0] for w in words), lines[0]
    if status == 2:                       # a config or usage error: nothing trained, no checkpoint
        assert not any(f.endswith('.pth') for f in set(os.listdir(tmp_path)) - set(before))
        assert not (tmp_path / 'w').exists() or not any(f.endswith('.pth') for f in os.listdir(tmp_path / 'w'))


def test_log_config_none_in_a_config_file_runs(tmp_path, monkeypatch, good_checkpoint):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'c.py').write_text(LOG_CONFIG_NONE.format(data=good_checkpoint[1]))
    train.cli(['--config', 'c.py', '--cfg-options', 'total_epochs=1'])
    assert (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_a_checkpoint_without_optimizer_warns_that_it_starts_fresh(tmp_path, monkeypatch, capsys, good_checkpoint):
    checkpoint, data = good_checkpoint
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'tiny.py').write_text(CONFIG.format(data=data))
    torch.save({k: v for k, v in checkpoint.items() if k != 'optimizer'}, tmp_path / 'nopt.pth')
    train.cli(['--config', 'tiny.py', '--resume', 'nopt.pth', '--no-validate'])
    assert 'holds no optimizer state: the optimizer starts fresh' in capsys.readouterr().out


def test_ctrl_c_during_start_up_is_one_line_and_130(tmp_path, monkeypatch, capsys, good_checkpoint):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'tiny.py').write_text(CONFIG.format(data=good_checkpoint[1]))

    def interrupted(*args, **kwargs):       # Ctrl-C while the datasets are being read
        raise KeyboardInterrupt
    monkeypatch.setattr(train, 'build_dataset', interrupted)
    with pytest.raises(SystemExit) as e:
        train.cli(['--config', 'tiny.py'])
    err = capsys.readouterr().err
    assert e.value.code == 130 and err.strip() == 'error: interrupted (Ctrl-C); nothing was saved after the last checkpoint'
    os.close(work_dir.lock(str(tmp_path / 'w')))         # the lock was released: this one is granted


def test_a_bool_is_not_an_int_and_every_seed_the_message_allows_is_taken():
    """True is an int to Python, never to a config; seeds 2**31 .. 2**32 - 1 were
    refused as "the wrong type" while the range's message allows seed < 2**32."""
    from config import ConfigError, cfg, check_config, replace
    for changed, field in ((dict(total_epochs=True), 'total_epochs=True'),
                           (dict(data=replace(cfg.data, samples_per_gpu=True)),
                            'data.samples_per_gpu=True'),
                           (dict(seed=False), 'seed=False')):
        with pytest.raises(ConfigError, match=f'^{field} has the wrong type; expected int'):
            check_config(replace(cfg, **changed))
    for seed in (0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1):
        check_config(replace(cfg, seed=seed))
    for seed in (-1, 2 ** 32, 2 ** 40):
        with pytest.raises(ConfigError, match=rf'^seed={seed} is out of range; allowed: 0 <= seed < 2\*\*32$'):
            check_config(replace(cfg, seed=seed))


@pytest.mark.parametrize('field, value, allowed', [
    ('samples_per_gpu', 65537, '1..65536'), ('samples_per_gpu', 0, '1..65536'),
    ('workers_per_gpu', 257, '0..256')])
def test_loader_sizes_are_bounded_as_the_mmcls_bridge_bounds_them(field, value, allowed):
    """A size nobody means (the bridge's extras/bridge/mmcls_checks.py bounds these too)."""
    from config import ConfigError, cfg, check_config, replace
    with pytest.raises(ConfigError, match=f'^data.{field}={value} is out of range; allowed: {allowed}$'):
        check_config(replace(cfg, data=replace(cfg.data, **{field: value})))
    check_config(replace(cfg, data=replace(cfg.data, samples_per_gpu=65536, workers_per_gpu=256)))


def test_meta_epoch_true_in_a_checkpoint_is_refused(tmp_path, monkeypatch, capsys, good_checkpoint):
    checkpoint, data = good_checkpoint
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'tiny.py').write_text(CONFIG.format(data=data))
    for key in ('epoch', 'iter'):
        torch.save(dict(checkpoint, meta=dict(checkpoint['meta'], **{key: True})), tmp_path / 'b.pth')
        with pytest.raises(SystemExit) as e:
            train.cli(['--config', 'tiny.py', '--resume', 'b.pth'])
        err = capsys.readouterr().err
        assert e.value.code == 1 and err.startswith(f'error: b.pth: meta {key}=True is not valid'), err


def test_a_val_label_past_num_classes_is_refused_before_training(tmp_path, monkeypatch, capsys):
    """A CustomDataset with an ann_file and no classes takes any label >= 0 (as mmcls's): a val
    label past model.head.num_classes is never predicted, so it would be counted wrong in a run
    that ends 0. Refused, as a train label is, before any epoch."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'val.txt').write_text('c0/0.jpg 0\nc1/1.jpg 5\n')
    (tmp_path / 'c.py').write_text(bad_folder_config(tmp_path, 'none') + (
        f"cfg = replace(cfg, data=replace(cfg.data, val=replace(cfg.data.val, "
        f"ann_file={str(tmp_path / 'val.txt')!r})))\n"))
    with pytest.raises(SystemExit) as e:
        train.cli(['--config', 'c.py'])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith('error: model.head.num_classes=2, but data.val (CustomDataset at ') \
        and 'has labels up to 5; set num_classes to 6 or more' in err, err
    assert 'Epoch [1]' not in out and not (tmp_path / 'w' / 'epoch_1.pth').exists()


# Where a ValueError or TypeError is a bug's (a caller's code), not a user's value: it keeps its
# traceback (train.py's cli re-raises it). Every other one would be a user's value refused with
# a traceback, so it must be a ConfigError (exit 2) or a CheckpointError / DatasetError (exit 1).
BUG_RAISES = {
    ('extras/after_training/inference.py', 'read_config'): "an API caller's argument type",
    ('extras/after_training/testing.py', 'plain'): "json.dump's `default` protocol wants TypeError",
    ('extras/checks/api_checks.py', 'check_new_hook'): "register_hook's arguments (mmcv asserts)",
    ('extras/checks/api_checks.py', 'check_optimizer_cfg'): 'build_optimizer called with a dict',
    ('extras/models/losses.py', 'forward'): "scores as wide as the loss's num_classes: the model's code",
    ('extras/options/lr_policies.py', 'get_lr'): "progress past the periods: the policy's arithmetic",
    ('data.py', 'to_tensor'): 'a value no tensor can hold, from a transform before ToTensor',
    ('data.py', 'check_batch'): 'collate called on something not a list',
    ('data.py', 'check_metrics'): 'evaluate given another number of results than images',
    ('model.py', 'reduce_loss'): "mmcls's own check of its arguments (avg_factor with sum)",
    ('model.py', 'check_losses'): "a head's loss dict",
    ('hooks.py', 'check_dataloader'): "EvalHook's argument",
    ('runner.py', 'check_run'): "mmcv's run asserts its arguments",
    ('runner.py', 'save_checkpoint'): "mmcv's save_checkpoint checks meta's type",
}


def test_every_value_or_type_error_raised_is_a_bugs_or_a_users_error_class():
    """An AST walk over extras/ and the core: each `raise ValueError(...)` / `raise
    TypeError(...)` is on BUG_RAISES (with why it is a bug's); a user's value is refused with
    a ConfigError, which train.py turns into one line (fp16.dtype='int8' was a traceback)."""
    import ast
    import glob
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = sorted(glob.glob(os.path.join(root, 'extras', '**', '*.py'), recursive=True)) + [
        os.path.join(root, f) for f in ('config.py', 'data.py', 'model.py', 'hooks.py', 'runner.py',
                                        'checkpoint.py', 'train.py')]
    found = {}                          # (file, innermost function) -> a line
    for path in files:
        rel, where, raises = os.path.relpath(path, root), {}, []
        for node in ast.walk(ast.parse(open(path).read())):     # outer functions first
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where.update({id(n): node.name for n in ast.walk(node) if isinstance(n, ast.Raise)})
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and getattr(node.exc.func, 'id', None) in ('ValueError', 'TypeError'):
                raises.append(node)
        found.update({(rel, where.get(id(n))): n.lineno for n in raises})
    unlisted = [f'{f}:{line} in {fn}' for (f, fn), line in found.items() if (f, fn) not in BUG_RAISES]
    assert unlisted == [], "a user's value refused with a traceback: raise ConfigError there"
    assert set(BUG_RAISES) <= set(found), 'BUG_RAISES names a raise that is gone'


def test_minicls_none_in_a_checkpoints_config_text_is_refused(good_checkpoint):
    """`minicls = None` (the key that carries minicls's own fields) in the mmcls text a
    checkpoint keeps (tools/convert_config.py --from-checkpoint reads it) was taken as {}."""
    import re
    from config import ConfigError
    from extras.bridge.mmcls_config import read_mmcls_text
    text = good_checkpoint[0]['meta']['config']
    text = re.sub(r'(?ms)^minicls = .*?(?=^\w|\Z)', '', text) + '\nminicls = None\n'
    with pytest.raises(ConfigError, match=r"^m.pth: meta\['config'\]: minicls=None is not a dict$"):
        read_mmcls_text(text, "m.pth: meta['config']", [])
