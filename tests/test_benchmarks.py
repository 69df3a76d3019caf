"""The benchmark scripts run and write what docs/benchmarks.md is built from. gpu.py above all:
a device is lent rarely and briefly, so its script must work the first time; --dry-run runs
its rows (all but compile and float16, slow on a CPU) and both end-to-end jobs at toy sizes.
mmcv_reference.py runs only where $MMREF names a folder made by mmcv_reference_setup.sh."""
import json
import os
import sys
from pathlib import Path

import procs

BENCH = Path(__file__).resolve().parent.parent / 'benchmarks'


def bench(script, *args, out, pythonpath=None):
    env = dict(os.environ, OUT=str(out))
    env.pop('PYTHONPATH', None)
    if pythonpath:
        env['PYTHONPATH'] = pythonpath
    return procs.run([sys.executable, script, *args], cwd=BENCH, env=env,
                          timeout=280)


def test_gpu_dry_run_fills_every_row_and_splits_the_epoch(tmp_path):
    r = bench('gpu.py', '--dry-run', '--budget', '100000', out=tmp_path)     # no row skipped for time
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'gpu.json').read_text())['rows']
    skipped = [row['skipped'] for row in rows if 'skipped' in row]
    assert len(skipped) == 2 and all('dry run' in s for s in skipped), skipped
    compute = [row for row in rows if 'model' in row]
    assert [(row['model'], row['loop'], row['fast paths']) for row in compute] == [
        ('ResNet-18', 'bare', 'fp32'), ('ResNet-18', 'runner', 'fp32'), ('ResNet-18', 'runner', 'bf16'),
        ('ResNet-18', 'runner', 'bf16 + channels_last'),
        ('ResNet-18', 'runner', 'bf16 + channels_last + cudnn.benchmark'),
        ('ResNet-18', 'bare', 'bf16 + channels_last + cudnn.benchmark'),
        ('ResNet-50', 'bare', 'fp32'), ('ResNet-50', 'runner', 'fp32'),
        ('ResNet-50', 'runner', 'bf16 + channels_last + cudnn.benchmark'),
        ('ResNet-50', 'bare', 'bf16 + channels_last + cudnn.benchmark')]
    assert all(row['images/s'] > 0 for row in compute)
    e2e = [row for row in rows if 'end-to-end' in row]
    assert ['per-image' in e2e[0]['end-to-end'], 'batched' in e2e[1]['end-to-end']] == [True, True]
    for row in e2e:
        assert row['returncode'] == 0, row['stderr']
        # both parts lie between the checkpoints of epochs 2 and 3, so each is below the whole
        whole = row['epoch 3 seconds (checkpoint + eval of epoch 2, then train)']
        assert 0 < row['of which training iterations (s)'] < whole
        assert 0 < row['of which checkpoint + evaluation (s)'] < whole
        assert row['epoch 2 seconds (with the first evaluation)'] > 0
        assert row['projected 200 epochs at the epoch-3 pace (min)'] > 0


def test_runner_overhead_writes_a_row_per_model(tmp_path):
    r = bench('runner_overhead.py', '--iters', '20', '--reps', '2', '--model', 'null', '--model', 'tiny',
              '--work-dir', str(tmp_path / 'w'), out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'runner_overhead.json').read_text())['rows']
    assert [row['model'].split()[0] for row in rows] == ['null', 'tiny']
    assert all(float(row['bare us/iter']) > 0 and float(row['runner us/iter']) > 0 for row in rows)
    assert '| null (pooling' in r.stdout


def test_cpu_share_times_each_setting(tmp_path):
    # quiet only (--load 0): three child processes; beside busy processes it is nine, slower ones
    r = bench('cpu_share.py', '--load', '0', '--reps', '1', '--steps', '1', out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'cpu_share_load0.json').read_text())['rows']
    assert [(row['busy processes'], row['torch threads'], row['GOMP_SPINCOUNT']) for row in rows] == [
        (0, 1, 0), (0, 2, 0), (0, 2, 10000)]
    assert rows[0]['cores'] == '1.00' and all(float(row['ms / step']) > 0 for row in rows)
    assert 'sched_autogroup_enabled: ' in r.stdout


def test_data_pipeline_measures_every_variant(tmp_path):
    r = bench('data_pipeline.py', '--reps', '1', out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'data_pipeline.json').read_text())['rows']
    assert len(rows) == 9 and all(int(row['images/s'].replace(',', '')) > 0 for row in rows)


def test_mmcv_reference_without_mmcv_says_how_to_set_it_up(tmp_path):
    r = bench('mmcv_reference.py', out=tmp_path)      # no PYTHONPATH: mmcv is not a dependency
    assert r.returncode == 1
    assert 'mmcv_reference_setup.sh' in r.stderr and 'Traceback' not in r.stderr


def test_mmcv_reference_times_both_frameworks(mmref, tmp_path):
    r = bench('mmcv_reference.py', '--iters', '20', '--reps', '1', '--model', 'null', '--model', 'tiny',
              '--work-dir', str(tmp_path / 'w'), out=tmp_path, pythonpath=f'{mmref}/src:{mmref}/deps')
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'mmcv_reference.json').read_text())['rows']
    assert [row['what'].split(',')[0] for row in rows] == ['runner overhead', 'runner overhead',
                                                          'CIFAR train pipeline + collate of 128']
    assert all(float(row['mmcv 1.7.2, mmcls 0.25.0'].split()[0].replace(',', '')) != 0 for row in rows)
