"""The benchmark scripts run and write what docs/benchmarks.md is built from. gpu.py above all:
a device is lent rarely and briefly, so its script must work the first time; --dry-run runs
every row and both end-to-end jobs on the CPU at toy sizes."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / 'benchmarks'


def bench(script, *args, out):
    env = dict(os.environ, OUT=str(out))
    env.pop('PYTHONPATH', None)
    r = subprocess.run([sys.executable, script, *args], cwd=BENCH, env=env, capture_output=True, text=True,
                       timeout=240)
    return r


def test_gpu_dry_run_fills_every_row_and_splits_the_epoch(tmp_path):
    r = bench('gpu.py', '--dry-run', out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((tmp_path / 'gpu.json').read_text())
    rows = result['rows']
    assert not [row for row in rows if 'skipped' in row]
    compute = [row for row in rows if 'model' in row]
    assert {(row['model'], row['loop']) for row in compute} == {(f'ResNet-{d}', loop) for d in (18, 50)
                                                                 for loop in ('bare', 'runner')}
    assert all(row['images/s'] > 0 for row in compute)
    e2e = [row for row in rows if 'end-to-end' in row]
    assert ['per-image' in e2e[0]['end-to-end'], 'batched' in e2e[1]['end-to-end']] == [True, True]
    for row in e2e:
        assert row['returncode'] == 0, row['stderr']
        assert 0 < row['of which training iterations (s)'] < row['epoch 2 seconds (train + eval of epoch 1)']
        assert row['projected 200 epochs (min)'] > 0


def test_runner_overhead_writes_a_row_per_model(tmp_path):
    r = bench('runner_overhead.py', '--iters', '20', '--reps', '2', '--model', 'null', '--model', 'tiny', out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'runner_overhead.json').read_text())['rows']
    assert [row['model'].split()[0] for row in rows] == ['null', 'tiny']
    assert all(float(row['bare us/iter']) > 0 and float(row['runner us/iter']) > 0 for row in rows)
    assert '| null (pooling' in r.stdout


def test_data_pipeline_measures_every_variant(tmp_path):
    r = bench('data_pipeline.py', '--reps', '1', out=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / 'data_pipeline.json').read_text())['rows']
    assert len(rows) == 9 and all(int(row['images/s'].replace(',', '')) > 0 for row in rows)


def test_mmcv_reference_without_mmcv_says_how_to_set_it_up(tmp_path):
    if importlib.util.find_spec('mmcv'):
        pytest.skip('mmcv is installed here')
    r = bench('mmcv_reference.py', out=tmp_path)
    assert r.returncode == 1
    assert 'mmcv_reference_setup.sh' in r.stderr and 'Traceback' not in r.stderr
