"""mmcls 0.x configs here (extras/bridge/mmcls_config.py, tools/convert_config.py): the fixtures written
in mmcls 0.25's own format against config.py and configs/resnet18_cifar10.py, every translation
rule and refusal, `_base_` merging as mmcv merges, a checkpoint's config text read as data only,
the round trips, the converter, and train.py running an mmcls file."""
import argparse
import importlib.util
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

import pytest

import tiny  # noqa: F401  (puts the repository on sys.path)
import config
import procs
from config import ConfigError, config_changes, load_config, replace
from extras.bridge.mmcls_config import SKIPPED, read_mmcls_config, read_mmcls_text, to_mmcls_text
from extras.bridge.mmcls_files import resolve_file

ROOT = Path(__file__).resolve().parent.parent
MMCLS = ROOT / 'tests' / 'fixtures' / 'mmcls'
R18 = MMCLS / 'resnet' / 'resnet18_8xb16_cifar10.py'
R50 = MMCLS / 'resnet' / 'resnet50_8xb16_cifar10.py'
SEED, TINY = MMCLS / 'seed_resnet50_cifar10.py', MMCLS / 'tiny_synthetic.py'
BASES = [str(MMCLS / '_base_' / p) for p in ('models/resnet18_cifar.py', 'datasets/cifar10_bs16.py',
                                              'schedules/cifar10_bs128.py', 'default_runtime.py')]
# Where mmcls 0.25 and config.py's `cfg` (the seed article's values) genuinely differ
MMCLS_NOT_CONFIG_PY = ['data.pin_memory: True',                 # build_dataloader(pin_memory=True)
                       "work_dir: 'work_dirs/{stem}'",          # tools/train.py: ./work_dirs/<name>
                       "dist_params: {{'backend': 'nccl'}}"]    # the article's; cfg: {} (nccl/gloo)


def mmcls_file(tmp_path, text, bases=BASES):
    """tmp_path/child.py: an mmcls config over the ResNet-18 zoo recipe's _base_ files, + `text`."""
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = {bases!r}\n' + textwrap.dedent(text))
    return path


def read(tmp_path, text, bases=BASES):
    return read_mmcls_config(str(mmcls_file(tmp_path, text, bases)), [])


def refused(tmp_path, text, *words, bases=BASES):
    with pytest.raises(ConfigError) as e:
        read(tmp_path, text, bases)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def with_config_py_values(c, cfg):
    """`c` with the three values of MMCLS_NOT_CONFIG_PY taken from `cfg`."""
    return replace(c, data=replace(c.data, pin_memory=cfg.data.pin_memory), work_dir=cfg.work_dir,
                   dist_params=cfg.dist_params)


# ---- the fixtures: mmcls 0.25's zoo and the seed article, against this project's configs ----

def test_the_seed_config_is_config_py_but_for_three_values_where_mmcls_025_differs():
    c = read_mmcls_config(str(SEED))
    assert config_changes(c) == [x.format(stem='seed_resnet50_cifar10') for x in MMCLS_NOT_CONFIG_PY]
    assert with_config_py_values(c, config.cfg) == config.cfg
    assert c.total_epochs == 200 and c.lr_config == config.LrConfig(policy='step', step=[100, 150])
    assert c.data.train.pipeline[2]['to_rgb'] is True and c.data.val.test_mode is True


def test_the_resnet18_zoo_config_is_configs_resnet18_cifar10_but_for_its_batch():
    r18 = load_config(str(ROOT / 'configs' / 'resnet18_cifar10.py'))
    c = read_mmcls_config(str(R18))
    assert config_changes(c, r18) == [
        'data.samples_per_gpu: 16', 'data.val_samples_per_gpu: None',
        'data.pin_memory: True', "work_dir: 'work_dirs/resnet18_8xb16_cifar10'",
        "dist_params: {'backend': 'nccl'}"]
    fixed = with_config_py_values(c, r18)            # to_rgb=False and the pipelines agree
    assert replace(fixed, data=replace(fixed.data, samples_per_gpu=128, val_samples_per_gpu=512)) == r18


def test_the_resnet50_zoo_config():
    c = read_mmcls_config(str(R50))
    assert [line.split(':')[0] for line in config_changes(c)] == [
        'data.samples_per_gpu', 'data.pin_memory', 'data.train.pipeline',
        'data.val.pipeline', 'data.test.pipeline', 'work_dir', 'dist_params']
    assert c.data.samples_per_gpu == 16 and c.data.train.pipeline[2]['to_rgb'] is False
    assert (c.model.backbone.depth, c.model.head.in_channels, c.total_epochs) == (50, 2048, 200)


def test_load_config_sends_an_mmcls_file_here():
    assert load_config(str(SEED)) == read_mmcls_config(str(SEED))   # no `cfg`, a `model` dict


def test_load_config_sends_a_file_of_only_base_files_here():
    assert load_config(str(R50)) == read_mmcls_config(str(R50))


# ---- translation rules ---------------------------------------------------------------------

def test_runner_and_the_older_total_epochs(tmp_path):
    assert read(tmp_path, "runner = dict(type='EpochBasedRunner', max_epochs=7)").total_epochs == 7
    assert read(tmp_path, '''
        runner = dict(_delete_=True, type='EpochBasedRunner', max_epochs=3)
        total_epochs = 3''').total_epochs == 3
    refused(tmp_path, 'total_epochs = 5', 'cifar10_bs128.py: runner=', 'with total_epochs=5')
    refused(tmp_path, "runner = dict(_delete_=True, type='IterBasedRunner', max_iters=100)",
            "runner.type='IterBasedRunner' cannot be expressed", "only 'EpochBasedRunner'")
    refused(tmp_path, 'runner = dict(max_iters=100)', 'runner.max_iters', 'no field')
    no_schedule = [b for b in BASES if 'schedules' not in b]
    schedule = '''
        optimizer = dict(type='SGD', lr=0.1)
        optimizer_config = dict(grad_clip=None)
        lr_config = dict(policy='step', step=[2])
        '''
    assert read(tmp_path, schedule + 'total_epochs = 4', no_schedule).total_epochs == 4
    refused(tmp_path, schedule, 'runner={} with total_epochs=None', 'needs runner = dict(', bases=no_schedule)


def test_mmcls_defaults_are_filled_in_where_config_py_differs(tmp_path):
    c = read(tmp_path, '''
        checkpoint_config = dict(_delete_=True, by_epoch=True)
        data = dict(val=dict(_delete_=True, type='CIFAR10', data_prefix='d', pipeline=[]))''')
    assert c.model.head.topk == (1,) and c.data.pin_memory is True and c.data.persistent_workers is True
    assert c.data.val.test_mode is True and c.data.test.test_mode is True and c.data.train.test_mode is False
    assert c.checkpoint_config.interval == -1      # mmcv's CheckpointHook: only at the end
    assert c.evaluation == config.EvalConfig()     # no `evaluation`: mmcls's EvalHook defaults
    assert read(tmp_path, 'model = dict(head=dict(topk=(1, 5)))').model.head.topk == (1, 5)
    assert read(tmp_path, 'model = dict(head=dict(topk=1))').model.head.topk == (1,)


def test_keys_renamed_or_regrouped(tmp_path):
    c = read(tmp_path, '''
        data = dict(val_dataloader=dict(samples_per_gpu=64), pin_memory=False)
        optimizer = dict(nesterov=True, constructor='DefaultOptimizerConstructor',
                         paramwise_cfg=dict(norm_decay_mult=0.0))
        optimizer_config = dict(_delete_=True, type='GradientCumulativeOptimizerHook',
                                cumulative_iters=4, grad_clip=dict(max_norm=5))
        lr_config = None
        momentum_config = dict(policy='CosineAnnealing', min_momentum_ratio=0.9)
        fp16 = dict(loss_scale=512.)
        custom_hooks = [dict(type='EMAHook', priority='ABOVE_NORMAL')]
        evaluation = dict(interval=2, by_epoch=True, save_best='auto')
        work_dir = 'runs/here'
        cudnn_benchmark = True
        seed = 3
        workflow = [('train', 1), ('val', 1)]''')
    assert c.data.val_samples_per_gpu == 64 and c.data.pin_memory is False
    assert c.optimizer == config.OptimizerConfig(
        lr=0.1, momentum=0.9, weight_decay=0.0001, options={'nesterov': True},
        paramwise_cfg=config.ParamwiseConfig(norm_decay_mult=0.0))
    assert c.optimizer_config == config.OptimizerHookConfig(config.GradClipConfig(5), cumulative_iters=4)
    assert c.lr_config == config.LrConfig(policy='fixed')      # mmcv: no LR hook, the LR stays
    assert c.momentum_config == config.MomentumConfig(policy='CosineAnnealing', min_momentum_ratio=0.9)
    assert c.fp16 == config.Fp16Config(loss_scale=512.0) and c.cudnn_benchmark is True
    assert (c.work_dir, c.seed, c.workflow) == ('runs/here', None, [('train', 1), ('val', 1)])
    assert c.custom_hooks == [dict(type='EMAHook', priority='ABOVE_NORMAL')]
    assert c.evaluation == config.EvalConfig(interval=2, save_best='auto')
    refused(tmp_path, 'data = dict(val_dataloader=dict(shuffle=True))', 'data.val_dataloader.shuffle')


def test_mmcls_defaults_given_explicitly_are_accepted_other_values_refused(tmp_path):
    c = read(tmp_path, '''
        model = dict(
            pretrained=None,
            backbone=dict(in_channels=3, deep_stem=False, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
                          norm_cfg=dict(type='BN', requires_grad=True)),
            neck=dict(dim=2),
            head=dict(loss=dict(use_sigmoid=False)))
        data = dict(train=dict(ann_file=None, classes=None))
        optimizer_config = dict(type='OptimizerHook')''')
    assert c == replace(read_mmcls_config(str(R18)), work_dir=c.work_dir)
    refused(tmp_path, 'model = dict(backbone=dict(with_cp=True))', 'model.backbone.with_cp=True',
            'only False', 'child.py')
    refused(tmp_path, 'model = dict(backbone=dict(strides=(1, 1, 2, 2)))', 'model.backbone.strides')
    two_stages = 'model = dict(backbone=dict(num_stages=2, out_indices=(1, ), strides=(1, 2, 2, 2)))'
    refused(tmp_path, two_stages, 'model.backbone.strides')
    assert read(tmp_path, '''
        model = dict(backbone=dict(num_stages=2, out_indices=(1, ), strides=(1, 2), dilations=(1, 1)),
                     head=dict(in_channels=128))''').model.backbone.num_stages == 2
    refused(tmp_path, "optimizer = dict(constructor='LayerDecayOptimizerConstructor')",
            'optimizer.constructor')


def test_keys_minicls_cannot_express_are_refused_naming_key_and_the_file_that_set_it(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text("model = dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18, "
                    'with_cp=True))\n')
    refused(tmp_path, '''
        model = dict(backbone=dict(type='ResNet_CIFAR'), neck=dict(type='GlobalAveragePooling'),
                     head=dict(type='LinearClsHead', num_classes=10, in_channels=512))''',
            f'{base}: model.backbone.with_cp', bases=[str(base)] + BASES[1:])
    refused(tmp_path, "sampler = dict(type='RepeatAugSampler')", f"{tmp_path / 'child.py'}: sampler=")
    refused(tmp_path, "custom_imports = dict(imports=['my_module'])", 'custom_imports', 'no field')
    refused(tmp_path, "evaluation = dict(greater_keys=['acc'])", 'evaluation.greater_keys')
    refused(tmp_path, 'data = dict(train_dataloader=dict(shuffle=False))', 'data.train_dataloader')
    refused(tmp_path, '''
        model = dict(head=dict(_delete_=True, type='LinearClsHead', num_classes=10, in_channels=512,
                               init_cfg=None))''', 'model.head.init_cfg')


@pytest.mark.parametrize('text, key', [
    ('''data = dict(_delete_=True, samples_per_gpu=8, workers_per_gpu=0,
                    train=dict(type='CIFAR10', data_prefix='d', pipeline=[]),
                    val=dict(type='CIFAR10', data_prefix='d', pipeline=[]))''', 'data.test'),
    ("model = dict(backbone=dict(_delete_=True, type='ResNet_CIFAR'))", 'model.backbone.depth'),
    ("data = dict(train=dict(_delete_=True, type='CIFAR10', pipeline=[]))", 'data.train.data_prefix'),
    ('lr_config = dict(_delete_=True, step=[3])', 'lr_config.policy'),
    ('optimizer_config = dict(_delete_=True, grad_clip=dict(norm_type=2))',
     'optimizer_config.grad_clip.max_norm'),
    ('data = 5', 'data.samples_per_gpu'),
])
def test_what_mmcls_cannot_run_without_is_required(tmp_path, text, key):
    refused(tmp_path, text, f"{tmp_path / 'child.py'}: {key}", 'is missing')


def test_minicls_own_fields_travel_in_minicls_and_nowhere_else(tmp_path):
    c = read(tmp_path, '''
        minicls = {'channels_last': True, 'data.train.num_samples': 8, 'device': 'cpu'}
        device = 'cuda' ''')      # mmcls's tools/train.py overwrites a config's device: skipped
    assert (c.channels_last, c.data.train.num_samples, c.device) == (True, 8, 'cpu')
    assert read(tmp_path, "device = 'cuda'").device == 'auto'
    refused(tmp_path, 'channels_last = True', "channels_last is minicls's own", "minicls = {'channels_last'")
    refused(tmp_path, 'data = dict(train=dict(num_samples=8))', 'data.train.num_samples', 'minicls')
    refused(tmp_path, 'data = dict(val_samples_per_gpu=8)', 'data.val_samples_per_gpu', 'minicls')
    refused(tmp_path, "minicls = {'total_epochs': 3}", "minicls['total_epochs']", 'channels_last')


def test_keys_that_mean_nothing_here_are_skipped_with_a_note(tmp_path, caplog):
    notes = []
    c = read_mmcls_config(str(mmcls_file(tmp_path, '''
        gpu_ids = [0]
        opencv_num_threads = 0
        mp_start_method = 'fork'
        evaluation = dict(by_epoch=True)''')), notes)
    assert [n.split(':')[0] for n in notes] == [
        'skipped dataset_type', 'skipped img_norm_cfg', 'skipped train_pipeline', 'skipped test_pipeline',
        'skipped gpu_ids', 'skipped opencv_num_threads', 'skipped mp_start_method',
        'skipped evaluation.by_epoch']
    assert all(SKIPPED[n.split(':')[0][len('skipped '):]] in n for n in notes)    # with the reason
    assert c == read(tmp_path, '')
    logger = logging.getLogger('minicls')           # train.py's logger may not propagate
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger='minicls'):
            read_mmcls_config(str(R18))             # no list given: one logged note
    finally:
        logger.removeHandler(caplog.handler)
    assert 'skipped img_norm_cfg' in caplog.records[-1].getMessage()


def test_values_out_of_range_are_named_with_the_file(tmp_path):
    child = tmp_path / 'child.py'
    refused(tmp_path, 'optimizer = dict(lr=-1)', f'{child}: optimizer.lr=-1 is out of range')
    refused(tmp_path, "log_level = 'LOUD'", f'{child}: log_level=')
    refused(tmp_path, 'model = dict(neck=None)', 'model.neck', 'wrong type')


# ---- _base_ as mmcv resolves it --------------------------------------------------------------

def test_base_merging_key_by_key_delete_and_nested_bases(tmp_path):
    (tmp_path / 'sub').mkdir()
    mid = tmp_path / 'sub' / 'mid.py'     # a base with a base of its own, given as a string
    mid.write_text(f'_base_ = {BASES[3]!r}\nlog_config = dict(interval=7)\n')
    c = read(tmp_path, '''
        optimizer = dict(lr=0.01)
        checkpoint_config = dict(_delete_=True, interval=2)
        lr_config = dict(step=[30, 60])''', BASES[:3] + ['sub/mid.py'])
    assert c.optimizer == config.OptimizerConfig(lr=0.01, momentum=0.9, weight_decay=0.0001)  # merged
    assert c.log_config == config.LogConfig(interval=7)        # merged over its own base's
    assert c.checkpoint_config == config.CheckpointConfig(interval=2)     # replaced
    assert c.lr_config.step == [30, 60]                         # a list is replaced, not merged
    assert c.data.samples_per_gpu == 16 and c.load_from is None
    # mmcv pops _delete_ only where the base has the key; elsewhere it stays, and is refused
    refused(tmp_path, 'fp16 = dict(_delete_=True, loss_scale=512.)', 'fp16._delete_')


def test_base_mistakes_are_named(tmp_path):
    refused(tmp_path, '', 'two _base_ files set model', 'mmcv refuses', bases=BASES + [BASES[0]])
    refused(tmp_path, "optimizer = 'SGD'", 'optimizer.type', 'no dict')     # a string replaces a dict
    (tmp_path / 'a.py').write_text("_base_ = 'b.py'\nmodel = dict()\n")
    (tmp_path / 'b.py').write_text("_base_ = ['a.py']\n")
    with pytest.raises(ConfigError, match='b.py: _base_ file .*a.py leads back to itself'):
        read_mmcls_config(str(tmp_path / 'a.py'))
    (tmp_path / 'b.py').write_text('log_config = 1\n')
    refused(tmp_path, 'log_config = dict(interval=3)', 'child.py: log_config is a dict here, a int',
            '_delete_=True', bases=[str(tmp_path / 'b.py')])
    refused(tmp_path, '', 'missing.py', bases=[str(tmp_path / 'missing.py')])


def test_references_to_base_values_and_to_the_file_name_are_substituted_as_mmcv_does():
    """mmcv's `{{ _base_.a.b }}` takes the value the _base_ files give (not the file's own
    override of it), anywhere in dicts, lists and tuples; `{{ fileDirname }}` and its three
    siblings are written into the text. The same dict as mmcv 1.7.2's Config.fromfile (checked
    with $MMREF below)."""
    child = MMCLS / 'references' / 'child.py'
    values, origins = resolve_file(str(child), [], {})
    shear = dict(type='Shear', magnitude_key='magnitude', magnitude_range=(0, 0.3))
    assert values['pipeline'] == [
        dict(type='RandAugment', policies=[shear, dict(type='Invert')], num_policies=2),
        dict(type='RandomResizedCrop', size=224), dict(type='Resize', size=(256, -1))]
    assert values['sizes'] == dict(test=(320, -1), train=dict(crop=224))
    assert values['work_dir'] == './work_dirs/child'
    assert values['where'] == f'{child.parent}/child.py.py'
    assert origins['pipeline'] == str(child) and origins['policies'].endswith('policies.py')
    values['pipeline'][0]['policies'].append(None)      # a copy, not the base's own list
    assert values['policies'] == [shear, dict(type='Invert')]


@pytest.mark.parametrize('text, words', [
    ('x = {{_base_.nothing}}', ['child.py: {{_base_.nothing}} names nothing', "no 'nothing'"]),
    ('x = {{ _base_.model.backbone.nope }}', ['{{_base_.model.backbone.nope}}', "no 'nope'"]),
    ('x = {{_base_.optimizer.lr.more}}', ["no 'more'"]),      # a number has no keys
])
def test_a_reference_to_nothing_names_the_file_and_the_reference(tmp_path, text, words):
    refused(tmp_path, text, *words)
    (tmp_path / 'alone.py').write_text(text + '\n')     # no _base_ at all
    with pytest.raises(ConfigError, match='alone.py: {{_base_'):
        read_mmcls_config(str(tmp_path / 'alone.py'))


def test_the_same_resolution_and_text_as_the_real_mmcv(mmref, tmp_path):
    """With mmcv 1.7.2 at $MMREF: Config.fromfile resolves the fixtures as resolve_file does, mmcv
    reads to_mmcls_text, and its pretty_text of it (a checkpoint's) reads back to the same Config."""
    demo = load_config(str(ROOT / 'configs' / 'demo.py'))
    (tmp_path / 'demo.txt').write_text(to_mmcls_text(demo, world_size=2))
    script = textwrap.dedent(f'''
        import json, sys, warnings
        warnings.simplefilter('ignore')
        sys.path.insert(0, {str(ROOT)!r})
        from mmcv import Config
        from extras.bridge.mmcls_config import resolve_file
        for f in {[str(R18), str(SEED), str(TINY), str(MMCLS / 'resnet' / 'resnet18_b16x8_cifar10.py'),
                   str(MMCLS / 'references' / 'child.py')]!r}:
            mmcv = Config.fromfile(f)._cfg_dict.to_dict()
            assert json.dumps(resolve_file(f, [], dict())[0], default=str) == json.dumps(mmcv, default=str), f
        c = Config.fromstring(open({str(tmp_path / 'demo.txt')!r}).read(), file_format='.py')
        assert c.gpu_ids == [0, 1] and c.runner.max_epochs == 5
        print(c.pretty_text)''')
    r = procs.run([sys.executable, '-c', script], timeout=120,
                  env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_mmcls_text(r.stdout, 'pretty_text') == demo


def test_every_config_of_the_mmcls_wheel_resolves_as_mmcv_resolves_it(mmref):
    """Each config file the wheel ships in its folders that mmcv reads (269, with their
    `{{ _base_.* }}` references) gives the same dict through resolve_file as through mmcv's
    Config.fromfile."""
    script = textwrap.dedent(f'''
        import glob, json, sys, warnings
        warnings.simplefilter('ignore')
        sys.path.insert(0, {str(ROOT)!r})
        from mmcv import Config
        from extras.bridge.mmcls_files import resolve_file
        from config import ConfigError
        same, differ = 0, []
        for f in sorted(glob.glob({mmref!r} + '/src/mmcls/.mim/configs/*/*.py')):
            try:
                theirs = json.dumps(Config.fromfile(f)._cfg_dict.to_dict(), default=str)
            except Exception:           # a _base_ file the wheel does not ship: refused here too
                try:
                    resolve_file(f, [], {{}})
                    differ.append(f)
                except ConfigError:
                    pass
                continue
            ours = json.dumps(resolve_file(f, [], {{}})[0], default=str)
            same, differ = (same + 1, differ) if ours == theirs else (same, differ + [f])
        print(same, differ)''')
    r = procs.run([sys.executable, '-c', script], timeout=300,
                  env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
    assert r.returncode == 0, r.stderr[-2000:]
    count, differ = r.stdout.split(' ', 1)
    assert int(count) >= 269 and differ.strip() == '[]', r.stdout


# ---- a checkpoint's config text: data, not code ----------------------------------------------

TEXT = to_mmcls_text(config.cfg)


@pytest.mark.parametrize('line, words', [
    ("model = __import__('os').system('echo owned')", ['line', 'is code']),
    ('import os', ['is code']),
    ('x = os.system', ["'x = os.system' is code"]),
    ("model = dict(a=open('/etc/passwd').read())", ['is code']),
    ('model = [i for i in range(3)]', ['is code']),
    ('model = lambda: 0', ['is code']),
    ("model = f'{1}'", ['is code']),
    ("model = dict(**{'a': 1})", ['is code']),
    ('gpu_ids = range(0, 10 ** 12)', ['is code']),
    ('gpu_ids = range(0, 5000)', ['is code']),         # no config has 5,000 GPUs; 1e12 ints fill memory
    ("custom_hooks = [dict(type='os:system', priority='NORMAL')]",
     ["type='os:system' names code to import"]),
    ("lr_config = dict(policy='my_policy:MyLrUpdaterHook')", ['policy=', 'names code to import']),
    ("data = dict(train=dict(type='extras.demos.demo_data:SyntheticCIFAR10'))", ['names code to import']),
    ("_base_ = ['../x.py']", ['_base_']),
    ('model = dict(', ['never closed']),
])
def test_the_checkpoint_text_parser_refuses_code(line, words, tmp_path):
    canary = tmp_path / 'canary'
    with pytest.raises(ConfigError) as e:
        read_mmcls_text(TEXT + line.replace('echo owned', f'touch {canary}') + '\n', 'epoch_3.pth')
    assert str(e.value).startswith('epoch_3.pth') and not canary.exists()
    for w in words:
        assert w in str(e.value)


def test_the_checkpoint_text_parser_reads_what_mmcv_writes():
    notes = []
    c = read_mmcls_text(TEXT + textwrap.dedent('''\
        gpu_ids = range(0, 8)
        device = 'cuda'
        seed = 5
        optimizer = dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001,
            paramwise_cfg=dict(custom_keys=dict({'backbone.layer1': dict(lr_mult=0.1)})))
        '''), 'epoch_3.pth', notes)
    assert c.seed == 5 and c.optimizer.paramwise_cfg.custom_keys == {'backbone.layer1': {'lr_mult': 0.1}}
    assert sorted(n.split(':')[0] for n in notes) == ['skipped device', 'skipped gpu_ids']
    assert read_mmcls_text(TEXT.replace("work_dir = 'work_dirs'\n", ''), 'x').work_dir == 'work_dirs'


# ---- round trips -------------------------------------------------------------------------------

def everything():
    """config.py's cfg with every part away from its default, minicls's own fields too."""
    c, C = config.cfg, config
    backbone = replace(c.model.backbone, depth=18, num_stages=2, out_indices=(0, 1), frozen_stages=1,
                       norm_eval=True, zero_init_residual=False)
    paramwise = C.ParamwiseConfig(custom_keys={'backbone.layer1': dict(lr_mult=0.1)})
    return replace(
        c, model=replace(c.model, backbone=backbone,
                         head=replace(c.model.head, in_channels=128, topk=(1,), cal_acc=True)),
        data=replace(c.data, val_samples_per_gpu=256, pin_memory=True, persistent_workers=False,
                     train=replace(c.data.train, num_samples=100, batched=True)),
        optimizer=C.OptimizerConfig(type='AdamW', lr=0.001, weight_decay=0.05,
                                    options={'betas': (0.9, 0.999)}, paramwise_cfg=paramwise),
        optimizer_config=C.OptimizerHookConfig(grad_clip=C.GradClipConfig(max_norm=5.0), cumulative_iters=4),
        lr_config=C.LrConfig(policy='CosineAnnealing', min_lr=0.0, warmup='linear', warmup_iters=5,
                             by_epoch=False),
        momentum_config=C.MomentumConfig(policy='CosineAnnealing', min_momentum_ratio=0.9),
        fp16=C.Fp16Config(loss_scale=512.0, dtype='bfloat16'), total_epochs=3,
        checkpoint_config=C.CheckpointConfig(interval=2, max_keep_ckpts=3, out_dir='/tmp/x',
                                             save_optimizer=False),
        log_config=None,
        evaluation=C.EvalConfig(interval=2, metric_options={'topk': (1,)}, save_best='auto', start=1),
        custom_hooks=[dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')],
        workflow=[('train', 1), ('val', 1)], work_dir='runs/x', load_from='a.pth', seed=7,
        deterministic=True, device='cpu', cudnn_benchmark=True, channels_last=True, compile=True,
        num_threads=3, log_level='DEBUG', dist_params={'backend': 'gloo'}, sync_bn=True)


@pytest.mark.parametrize('name', ['config.py', 'configs/resnet18_cifar10.py', 'configs/demo.py',
                                  'everything'])
def test_to_mmcls_text_reads_back_to_the_same_config(name):
    cfg = everything() if name == 'everything' else load_config(str(ROOT / name))
    text = to_mmcls_text(cfg, world_size=2)
    assert read_mmcls_text(text, name) == cfg
    names = {}
    exec(compile(text, name, 'exec'), {}, names)    # our own text, run as mmcv's Config.fromstring does
    assert names['runner'] == dict(type='EpochBasedRunner', max_epochs=cfg.total_epochs)
    assert names['gpu_ids'] == [0, 1] and {'model', 'data', 'optimizer', 'optimizer_config', 'lr_config',
                                            'checkpoint_config', 'log_config', 'evaluation', 'workflow',
                                            'work_dir', 'load_from', 'resume_from', 'dist_params',
                                            'log_level', 'seed'} <= set(names)
    assert names['model']['backbone']['strides'] == (1,) + (2,) * (cfg.model.backbone.num_stages - 1)


def test_a_translated_mmcls_file_writes_back_to_a_text_that_reads_the_same():
    for path in (SEED, R18, TINY):
        cfg = read_mmcls_config(str(path))
        assert read_mmcls_text(to_mmcls_text(cfg), str(path)) == cfg


# ---- tools/convert_config.py -----------------------------------------------------------------

def convert(*args):
    return procs.run([sys.executable, str(ROOT / 'tools' / 'convert_config.py'), *map(str, args)],
                     cwd=ROOT, timeout=120)


def convert_here(capsys, *args):
    """tools/convert_config.py's main in this process (torch is loaded already): status, stderr."""
    spec = importlib.util.spec_from_file_location('convert_config', ROOT / 'tools' / 'convert_config.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    status = module.main([str(a) for a in args])
    return status, capsys.readouterr().err


@pytest.mark.parametrize('path', [SEED, R18, R50, TINY], ids=lambda p: p.stem)
def test_the_converted_file_gives_the_same_config(path, tmp_path):
    r = convert(path)
    assert r.returncode == 0, r.stderr
    (tmp_path / 'converted.py').write_text(r.stdout)
    assert load_config(str(tmp_path / 'converted.py')) == read_mmcls_config(str(path))
    assert 'from config import' in r.stdout and 'cfg = replace(\n    cfg,' in r.stdout
    assert '# skipped img_norm_cfg' in r.stdout


def test_the_converted_zoo_file_names_its_pipelines_as_mmcls_does():
    out = convert(R18).stdout
    assert out.count('\ntrain_pipeline = [') == out.count('\ntest_pipeline = [') == 1
    assert 'val=replace(cfg.data.val, pipeline=test_pipeline)' in out


def test_the_converted_seed_changes_only_what_differs():
    assert convert(SEED).stdout.split('\ncfg = ')[1] == textwrap.dedent('''\
        replace(
            cfg,
            data=replace(cfg.data, pin_memory=True),
            work_dir='work_dirs/seed_resnet50_cifar10',
            dist_params=dict(backend='nccl'),
        )
        ''')


def test_convert_from_an_mmcls_checkpoint(tmp_path, capsys):
    import torch
    text = to_mmcls_text(read_mmcls_config(str(R18)), world_size=8).replace(
        'gpu_ids = [0, 1, 2, 3, 4, 5, 6, 7]', 'gpu_ids = range(0, 8)')   # as mmcls writes it
    meta = dict(mmcv_version='1.7.2', mmcls_version='0.25.0', config=text, CLASSES=['airplane'] * 10,
                epoch=10, iter=3910, env_info='sys.platform: linux', seed=1, time='Tue Dec  2 09:00:00 2026')
    torch.save(dict(meta=meta, state_dict={'head.fc.bias': torch.zeros(10)}), tmp_path / 'epoch_10.pth')
    r = convert('--from-checkpoint', tmp_path / 'epoch_10.pth')
    assert r.returncode == 0, r.stderr
    (tmp_path / 'converted.py').write_text(r.stdout)
    assert load_config(str(tmp_path / 'converted.py')) == read_mmcls_config(str(R18), [])
    torch.save(dict(meta=dict(meta, config=json.dumps({'model': {}}))), tmp_path / 'minicls.pth')
    torch.save(dict(meta=dict(meta, config=text + "x = __import__('os')\n")), tmp_path / 'evil.pth')
    torch.save(dict(meta=meta, objects=argparse.Namespace()), tmp_path / 'objects.pth')   # not data
    for name, words in [('minicls.pth', 'JSON'), ('evil.pth', 'is code'), ('missing.pth', 'cannot be read'),
                        ('objects.pth', 'cannot be read')]:
        status, err = convert_here(capsys, '--from-checkpoint', tmp_path / name)
        assert status == 2 and words in err and err.count('\n') == 1, err
    (tmp_path / 'global.pth').write_bytes(b'c\x1b[2Jmod\nname\n.')   # a pickle naming a global
    status, err = convert_here(capsys, '--from-checkpoint', tmp_path / 'global.pth')
    assert status == 2 and 'cannot be read' in err and err[:-1].isprintable(), err


def test_convert_usage_errors():
    assert convert().returncode == 2
    assert convert(R18, '--from-checkpoint', 'x.pth').returncode == 2
    r = convert(MMCLS / '_base_' / 'default_runtime.py')
    assert r.returncode == 2 and 'model is missing' in r.stderr and r.stderr.count('\n') == 1


# ---- train.py, end to end ----------------------------------------------------------------------

def test_train_py_runs_an_mmcls_config_file(tmp_path):
    train = [sys.executable, str(ROOT / 'train.py'), '--config']
    r = procs.run(train + [str(TINY), '--work-dir', 'w'], cwd=tmp_path, timeout=300,
                  env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Epoch [1][2/2]' in r.stdout and 'Epoch(val) [1]' in r.stdout
    assert (tmp_path / 'w' / 'epoch_1.pth').exists()
    bad = tmp_path / 'bad.py'
    bad.write_text(f'_base_ = {str(TINY)!r}\nmodel = dict(backbone=dict(with_cp=True))\n')
    r = procs.run(train + [str(bad), '--work-dir', 'w2'], cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and f'{bad}: model.backbone.with_cp=True' in r.stderr
    assert r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr


# ---- hostile input: a file's data never costs more than reading it --------------------------

def one_line(error, *words, longest=400):
    """The message of `error`: one line of printable text, cut short, holding `words`."""
    message = str(error.value)
    assert message.isprintable() and len(message) <= longest, message[:1000]
    for w in words:
        assert w in message, (w, message)
    return message


@pytest.mark.parametrize('old, new, key', [
    ('num_stages=4', 'num_stages=5', 'model.backbone.num_stages=5'),
    ('num_stages=4', 'num_stages=10 ** 7', 'model.backbone.num_stages=10000000'),
    ('num_stages=4', 'num_stages=1000000000', 'model.backbone.num_stages=1000000000'),
    ('num_stages=4', 'num_stages=1e9', 'model.backbone.num_stages=1000000000.0'),
    ('num_stages=4', "num_stages='4'", "model.backbone.num_stages='4'"),
    ('num_stages=4', 'num_stages=None', 'model.backbone.num_stages=None'),
    ('base_channels=64', 'base_channels=10 ** 8', 'model.backbone.base_channels=100000000'),
    ('stem_channels=64', 'stem_channels=0', 'model.backbone.stem_channels=0'),
    ('num_classes=10', 'num_classes=10 ** 9', 'model.head.num_classes=1000000000'),
    ('in_channels=2048', 'in_channels=10 ** 9', 'model.head.in_channels=1000000000'),
    ('samples_per_gpu=128', 'samples_per_gpu=10 ** 9', 'data.samples_per_gpu=1000000000'),
    ('workers_per_gpu=2', 'workers_per_gpu=10 ** 6', 'data.workers_per_gpu=1000000'),
])
def test_every_size_is_bounded_by_what_the_model_can_be_before_anything_is_built(old, new, key):
    import tracemalloc
    text = TEXT.replace(old, new.replace(' ** ', '**').replace('10**7', '10000000')
                        .replace('10**8', '100000000').replace('10**9', '1000000000')
                        .replace('10**6', '1000000'), 1)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as e:
            read_mmcls_text(text, 'epoch_3.pth')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_line(e, 'epoch_3.pth', key)
    assert peak < 20 * 2 ** 20, peak        # a text of 3 KB: no list of num_stages strides


DEEP = 200_000


@pytest.mark.parametrize('line, words', [
    ('model = ' + '-' * DEEP + '1', ['too deep']),
    ('model = ' + '1 + ' * DEEP + '1', ['too deep']),
    ('model = ' + '[' * DEEP + ']' * DEEP, []),
    ('model = ' + 'dict(a=' * 2000 + ')' * 2000, ['line']),
    ('seed = ' + '9' * 5000, []),
    ('seed = 0x' + 'f' * 5000, ['seed=', 'cannot be meant']),
    ('seed = ' + '1' * 40, ['seed=', 'cannot be meant']),
    ("custom_hooks = [dict(type='EMAHook', momentum=0x" + 'f' * 5000 + ')]',
     ['custom_hooks', 'cannot be meant']),
    ("work_dir = 'x' * 3", ['is code']),
    ('x = "' + 'a' * 2_000_000 + '"', ['characters']),
])
def test_deep_huge_or_long_text_is_one_line_naming_the_file(line, words):
    with pytest.raises(ConfigError) as e:
        read_mmcls_text(TEXT + line + '\n', 'epoch_3.pth')
    one_line(e, 'epoch_3.pth', *words)


@pytest.mark.parametrize('text, words', [
    ("model = dict(backbone=dict(num_stages='1'))", ['model.backbone.num_stages=', 'child.py']),
    ('model = dict(backbone=dict(num_stages=None))', ['model.backbone.num_stages=None', 'child.py']),
    ('model = dict(head=dict(topk=None))', ['model.head.topk=None', 'child.py']),
    ('model = dict(head=dict(loss=[1]))', ['model.head.loss', 'child.py']),
    ('model = dict(_delete_=True, backbone=[1])', ['model.', 'child.py']),
    ('data = dict(train=[1, 2])', ['data.train', 'child.py']),
    ('data = dict(val_dataloader=5)', ['data.val_dataloader=5', 'child.py']),
    ('optimizer = dict(paramwise_cfg=[1])', ['optimizer.paramwise_cfg', 'child.py']),
    ('runner = 5', ['runner.type is missing (or what holds it is no dict)', 'child.py']),
    ('minicls = 5', ['minicls=5', 'child.py']),
    ("minicls = {'device': None, 5: 1}", ['minicls', 'child.py']),
    ('log_config = dict(hooks=5)', ['log_config.hooks=5', 'child.py']),
    ('workflow = 5', ['workflow', 'child.py']),
    ('x = []\nfor _ in range(100_000):\n    x = [x]\nmodel = dict(head=dict(topk=x))',
     ['nested deeper than 32 levels', 'child.py']),
    ("model = dict(backbone=dict(with_cp={1, 2}))", ['model.backbone.with_cp', 'child.py']),
])
def test_values_of_the_wrong_type_are_one_line_naming_key_and_file(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        read(tmp_path, text)
    one_line(e, *words)


def test_base_that_is_no_file_name_is_one_line(tmp_path):
    path = tmp_path / 'child.py'
    for base in ('5', '[5]', 'None'):
        path.write_text(f'_base_ = {base}\n')
        with pytest.raises(ConfigError) as e:
            read_mmcls_config(str(path))
        one_line(e, f'{path}: _base_=', 'a file name or a list of them')


def test_deprecation_and_helper_names_are_resolved_and_noted_as_the_golden_mmcv_ones(tmp_path):
    """With no mmcv installed: an empty `_deprecation_` (mmcv warns all the same) and a helper
    name that a _base_ file sets and reads (mmcv keeps it at the top level) against what mmcv
    1.7.2 gave (tests/golden/mmcls_config_notes.json, tests/mmcls_golden_ref.py): the same
    resolution; a note for each, the helper's naming the file that reads it."""
    import mmcls_golden_ref as ref
    ours = ref.config_notes('minicls', str(tmp_path))
    theirs = json.loads((ROOT / 'tests' / 'golden' / 'mmcls_config_notes.json').read_text())['cases']
    assert {k: v for k, v in ours.items() if k != 'notes'} == \
        {k: v for k, v in theirs.items() if k != 'notes'}
    assert theirs['notes'] == ['The config file <dir>/child.py will be deprecated in the future.']
    assert '<dir>/child.py will be deprecated' in ours['notes'], ours['notes']
    assert theirs['data_root'] == 'data/here'
    assert 'skipped data_root: a helper name, used in <dir>/base.py to build others' in ours['notes']


def test_file_content_in_a_message_is_escaped_and_cut(tmp_path):
    for text in ("model = dict(backbone=dict(with_cp='\\x1b[2J\\nerror: all is well'))",
                 "model = dict(backbone=dict(with_cp='x' * 15_000_000))",
                 "raise ValueError('\\x1b[31m' + 'y' * 15_000_000)",
                 "sampler = dict(type='\\r\\x07' * 100)"):
        with pytest.raises(ConfigError) as e:
            read(tmp_path, text)
        message = one_line(e, 'child.py')
        assert '\\x1b' in message or 'xxx' in message or '\\r' in message or 'yyy' in message
    with pytest.raises(ConfigError) as e:
        read_mmcls_text(TEXT + "lr_config = dict(policy='x:\\x1b[2J' * 100000)\n", 'epoch_3.pth')
    one_line(e, 'epoch_3.pth', '\\x1b')


INF_HOOKS = [dict(type='EarlyStoppingHook', monitor='accuracy_top-1', patience=float('inf'),
                  min_delta=float('-inf'), priority=75)]


def test_what_minicls_writes_minicls_reads_inf_and_nan_too():
    cfg = replace(config.cfg, custom_hooks=INF_HOOKS)
    text = to_mmcls_text(cfg)
    assert read_mmcls_text(text, 'epoch_3.pth') == cfg
    names = {}
    exec(compile(text, 'text', 'exec'), {}, names)     # as mmcv's Config.fromstring runs it
    assert names['custom_hooks'] == INF_HOOKS
    mmcv_wrote = TEXT + "custom_hooks = [dict(type='EarlyStoppingHook', patience=inf)]\n"
    assert read_mmcls_text(mmcv_wrote).custom_hooks[0]['patience'] == float('inf')


def test_mmcv_reads_what_minicls_writes_inf_too(mmref, tmp_path):
    """mmcv 1.7.2 reads it, and its pretty_text reads back to the same config."""
    cfg = replace(config.cfg, custom_hooks=INF_HOOKS)
    (tmp_path / 'text.py').write_text(to_mmcls_text(cfg))
    script = ('import sys; from mmcv import Config; '
              "print(Config.fromstring(open(sys.argv[1]).read(), '.py').pretty_text)")
    r = procs.run([sys.executable, '-W', 'ignore', '-c', script, str(tmp_path / 'text.py')],
                  timeout=120, env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
    assert r.returncode == 0 and 'patience=inf' in r.stdout, r.stderr[-2000:]
    assert read_mmcls_text(r.stdout, 'pretty_text') == cfg


def zip_with_main(path, canary):
    import zipfile
    with zipfile.ZipFile(path, 'w') as z:    # torch.save writes a zip; runpy runs its __main__.py
        z.writestr('__main__.py', f'open({str(canary)!r}, "w").close()\n')


def test_a_checkpoint_given_as_a_config_is_refused_before_anything_runs(tmp_path, capsys):
    canary = tmp_path / 'canary'
    zip_with_main(tmp_path / 'epoch_1.pth', canary)
    with pytest.raises(ConfigError) as e:
        load_config(str(tmp_path / 'epoch_1.pth'))
    one_line(e, 'epoch_1.pth', 'not a .py file', '--from-checkpoint')
    status, err = convert_here(capsys, tmp_path / 'epoch_1.pth')
    assert status == 2 and '--from-checkpoint' in err and err.count('\n') == 1, err
    (tmp_path / 'child.py').write_text("_base_ = 'epoch_1.pth'\n")
    with pytest.raises(ConfigError) as e:
        read_mmcls_config(str(tmp_path / 'child.py'))
    one_line(e, 'epoch_1.pth', 'not a .py file')
    assert not canary.exists()


# ---- the bridge: what mmcls users write works, and errors come before the data ---------------

B16X8 = MMCLS / 'resnet' / 'resnet18_b16x8_cifar10.py'


def test_deprecation_is_popped_with_a_note_as_mmcv_does():
    notes = []
    c = read_mmcls_config(str(B16X8), notes)
    assert c == replace(read_mmcls_config(str(R18)), work_dir='work_dirs/resnet18_b16x8_cifar10')
    note = next(n for n in notes if 'deprecated' in n)
    assert str(B16X8) in note and "'resnet18_8xb16_cifar10.py' instead" in note
    assert 'https://github.com/open-mmlab/mmclassification/pull/508' in note


def test_helper_names_that_build_other_values_are_accepted_with_a_note(tmp_path):
    notes = []
    c = read_mmcls_config(str(mmcls_file(tmp_path, '''
        data_root = 'data/cifar10_here'
        n_classes = 10
        model = dict(head=dict(num_classes=n_classes))
        data = dict(train=dict(data_prefix=data_root), val=dict(data_prefix=data_root))''')), notes)
    assert c.data.train.data_prefix == c.data.val.data_prefix == 'data/cifar10_here'
    assert any(n.startswith('skipped data_root: a helper name') for n in notes), notes
    assert any(n.startswith('skipped n_classes: a helper name') for n in notes), notes
    refused(tmp_path, "lr_confg = dict(policy='step', step=[1])", 'lr_confg', "did you mean 'lr_config'")
    refused(tmp_path, 'unused_name = 1', 'unused_name=1', 'no field for it')
    notes = []
    read_mmcls_text(TEXT + "data_root = 'data/cifar10'\n", 'epoch_3.pth', notes)   # mmcv keeps them
    assert any(n.startswith('skipped data_root:') for n in notes), notes
    with pytest.raises(ConfigError) as e:
        read_mmcls_text(TEXT + 'optimizr = dict(lr=1)\n', 'epoch_3.pth')
    one_line(e, 'epoch_3.pth', "did you mean 'optimizer'")


@pytest.mark.parametrize('text, words', [
    ('optimizer = dict(momentun=0.9)', ['optimizer.momentun=0.9', "did you mean 'momentum'",
                                        'torch.optim.SGD']),
    ("optimizer = dict(_delete_=True, type='AdamW', lr=1e-3, betas=(0.9, 0.99), amsgrad=1, moment=0)",
     ['optimizer.moment=0', 'torch.optim.AdamW']),
    ("log_config = dict(hooks=[dict(type='TextLoggerHook'), dict(type='TensorboardLoggerHook')])",
     ["log_config.hooks[1]: type='TensorboardLoggerHook'", 'TextLoggerHook']),
    ("log_config = dict(hooks=['TextLoggerHook'])", ['log_config.hooks[0]', "dict(type='TextLoggerHook'"]),
])
def test_optimizer_arguments_and_logger_hooks_are_checked_in_the_translation(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        read(tmp_path, text)
    one_line(e, 'child.py', *words)


def test_seed_in_an_mmcls_file_is_skipped_as_mmcls_does_but_kept_from_a_checkpoint(tmp_path):
    notes = []
    c = read_mmcls_config(str(mmcls_file(tmp_path, 'seed = 3')), notes)
    assert c.seed is None
    assert any(n.startswith('skipped seed=3: ') and '--seed' in n for n in notes), notes
    assert read_mmcls_text(TEXT.replace('seed = None', 'seed = 3'), 'epoch_3.pth').seed == 3


def test_a_module_beside_the_config_does_not_shadow_the_standard_library(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.delitem(sys.modules, 'secrets', raising=False)
    (tmp_path / 'secrets.py').write_text("raise RuntimeError('the folder shadows the stdlib')\n")
    (tmp_path / 'c.py').write_text('import secrets\nfrom config import cfg\n'
                                   'assert secrets.token_hex(2)\n')
    assert load_config(str(tmp_path / 'c.py')) == config.cfg
    assert sys.path.index(str(tmp_path)) > sys.path.index(os.path.dirname(os.__file__))


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_every_split_translates_alike(tmp_path, split):
    c = read(tmp_path, f'''
        data = dict({split}=dict(type='CIFAR100', data_prefix='d/{split}', ann_file='a.txt',
                                 classes=None, pipeline=[dict(type='ToTensor', keys=['img'])]))''')
    got = getattr(c.data, split)
    assert (got.type, got.data_prefix, got.pipeline) == ('CIFAR100', f'd/{split}',
                                                         [dict(type='ToTensor', keys=['img'])])
    assert got.test_mode is (split != 'train') and got.ann_file == 'a.txt'
    refused(tmp_path, f'data = dict({split}=dict(ann_fle=None))', f'data.{split}.ann_fle',
            "did you mean 'ann_file'")
    refused(tmp_path, f'data = dict({split}=dict(num_samples=8))', f'data.{split}.num_samples', 'minicls')
    refused(tmp_path, f'data = dict({split}=dict(test_mode=5))', f'data.{split}.test_mode=5')
    c = read(tmp_path, f"minicls = {{'data.{split}.num_samples': 8}}")
    assert getattr(c.data, split).num_samples == 8


def test_no_init_cfg_none_in_the_text():
    """mmcls reads init_cfg=None as "no init": minicls's text leaves the key out, so the
    backbone starts from mmcls's default Kaiming init, as here; a Pretrained one travels."""
    assert 'init_cfg' not in TEXT
    cfg = config.replace(config.cfg, model=config.replace(config.cfg.model, backbone=config.replace(
        config.cfg.model.backbone, type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='r.pth'))))
    assert "init_cfg=dict(type='Pretrained', checkpoint='r.pth')" in to_mmcls_text(cfg)


FOLDER_MMCLS = ROOT / 'configs' / 'demo_folder_mmcls.py'


def test_the_folder_demo_as_an_mmcls_file_is_configs_demo_folder_run(tmp_path, monkeypatch):
    """configs/demo_folder_mmcls.py, mmcls 0.25's format (benchmarks/folder_accuracy.py trains
    it in both systems), is configs/demo_folder.py's run read by CustomDataset: the same
    pipelines, ResNet and schedule. Translated from a folder without data: nothing is read."""
    monkeypatch.chdir(tmp_path)
    notes = []
    c = load_config(str(FOLDER_MMCLS), notes)
    assert [n.split(':')[0] for n in notes] == [f'skipped {k}' for k in (
        'dataset_type', 'img_norm_cfg', 'train_pipeline', 'test_pipeline')]
    demo = load_config(str(ROOT / 'configs' / 'demo_folder.py'))
    assert config_changes(c, demo) == [      # mmcls's defaults; DemoFolder writes the folder
        'data.pin_memory: True',
        *(f"data.{s}.type: 'CustomDataset'" for s in ('train', 'val', 'test')),
        "work_dir: 'work_dirs/demo_folder_mmcls'", 'seed: None', 'channels_last: False',
        "dist_params: {'backend': 'nccl'}"]
    assert (c.data.train.data_prefix, c.data.train.ann_file) == ('data/demo_folder/train', None)
    for split in (c.data.val, c.data.test):
        assert (split.data_prefix, split.ann_file, split.test_mode) == (
            'data/demo_folder/val', 'data/demo_folder/meta/val.txt', True)
    assert [t['type'] for t in c.data.train.pipeline] == [
        'LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'Normalize', 'ImageToTensor',
        'ToTensor', 'Collect']
    assert c.data.val.pipeline[1:3] == [dict(type='Resize', size=(36, -1)),
                                        dict(type='CenterCrop', crop_size=32)]
    b = c.model.backbone
    assert (b.type, b.depth, b.num_stages, b.out_indices, b.base_channels, b.stem_channels) == (
        'ResNet', 18, 3, (2,), 16, 16)
    assert (c.total_epochs, c.lr_config.step, c.optimizer.lr, c.data.samples_per_gpu) == (
        5, [4], 0.1, 64)


def test_the_folder_demo_mmcls_file_is_what_mmcls_reads_and_builds(mmref):
    """mmcv's Config.fromfile of the same file: the same datasets and pipelines, and mmcls's
    classifier built from it has minicls's state_dict keys and shapes."""
    import model
    script = '''if 1:
        import json, sys, warnings
        warnings.simplefilter('ignore')
        from mmcv import Config
        from mmcls.models import build_classifier
        cfg = Config.fromfile(sys.argv[1])
        sd = build_classifier(cfg.model).state_dict()
        print(json.dumps(dict(data={s: cfg.data[s] for s in ('train', 'val', 'test')},
                              keys=[[k, list(v.shape)] for k, v in sd.items()])))'''
    r = procs.run([sys.executable, '-c', script, str(FOLDER_MMCLS)], timeout=120,
                  env=dict(os.environ, PYTHONPATH=f'{mmref}/src:{mmref}/deps'))
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.splitlines()[-1])
    c = load_config(str(FOLDER_MMCLS))
    for s in ('train', 'val', 'test'):
        mine = {k: v for k, v in vars(getattr(c.data, s)).items() if k in got['data'][s]}
        assert json.loads(json.dumps(mine)) == got['data'][s]
    sd = model.build_classifier(c.model).state_dict()
    assert got['keys'] == [[k, list(v.shape)] for k, v in sd.items()]
