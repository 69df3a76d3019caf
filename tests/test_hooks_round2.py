"""Hooks: the evaluation loop hands the model the whole batch,
save_best's type, the JSON log's write errors, CheckpointHook's out_dir rule, and SIGHUP
(a closed ssh session) saving iter_N.pth as SIGTERM does, in a real train.py."""
import logging
import os
import re
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import procs
from config import ConfigError, LogConfig, cfg, check_config, replace
from hooks import CheckpointHook, EvalHook, TextLoggerHook, single_gpu_test
from test_hooks import make_runner
from test_resume import FEW, SMALL, train_here
from tiny import TinyModel, loader

ROOT = Path(__file__).resolve().parent.parent


class NeedsExtra(TinyModel):
    """A model whose test forward needs a batch key besides img (mmcls passes them all)."""

    def forward(self, img, return_loss=True, gt_label=None, extra=None):
        return super().forward(img + extra, return_loss, gt_label)


def test_the_evaluation_loop_passes_every_batch_key_to_the_model(tmp_path):
    runner = make_runner(tmp_path, model=NeedsExtra(), checkpoint=None)
    batches = [{'img': torch.ones(2, 4), 'extra': torch.full((2, 4), 2.0),
                'gt_label': torch.tensor([0, 1])}]
    scores = single_gpu_test(runner.model, batches)
    expected = torch.softmax(runner.model.fc(torch.full((2, 4), 3.0)), 1).detach().numpy()
    assert len(scores) == 2 and all(torch.allclose(torch.from_numpy(s), torch.from_numpy(e))
                                    for s, e in zip(scores, expected))


@pytest.mark.parametrize('save_best', [True, 1, ['accuracy_top-1']])
def test_save_best_must_be_a_metric_name_auto_or_none(save_best):
    # config.check_evaluation: the check a config's evaluation gets
    with pytest.raises(ConfigError) as e:
        EvalHook(loader(), save_best=save_best)
    assert str(e.value) == (f"evaluation.save_best={save_best!r} is out of range; allowed: "
                            "a metric name, 'auto' or None")
    assert EvalHook(loader(), save_best='auto').save_best == 'auto'


@pytest.mark.parametrize('args, words', [
    (dict(rule='unsupport'), "evaluation.rule='unsupport' is out of range"),
    (dict(interval=0), 'evaluation.interval=0 is out of range'),
    (dict(metric='mAP'), "evaluation.metric='mAP' is out of range"),
    (dict(metric_options=dict(topk=0)), 'evaluation.metric_options=')])
def test_an_eval_hook_built_directly_gets_a_configs_checks(args, words):
    """EvalHook(rule='unsupport') was accepted once; the API and a config share one check."""
    with pytest.raises(ConfigError, match=re.escape(words)):
        EvalHook(loader(), **args)
    with pytest.raises(ConfigError, match=re.escape(words)):
        check_config(replace(cfg, evaluation=replace(cfg.evaluation, **args)))


def test_a_json_log_that_cannot_be_written_is_named(tmp_path):
    hook = TextLoggerHook()
    hook.json_log_path = '/dev/full'                  # every write: ENOSPC, a full disk
    with pytest.raises(OSError, match=r'^\[Errno 28\] /dev/full cannot be written: No space') as e:
        hook._dump_log({'mode': 'train', 'loss': 1.0})
    assert e.value.errno == 28
    (tmp_path / 'elsewhere').write_text('')
    os.symlink(tmp_path / 'elsewhere', tmp_path / 'x.log.json')      # planted: never followed
    hook.json_log_path = str(tmp_path / 'x.log.json')
    with pytest.raises(OSError, match='x.log.json cannot be written'):
        hook._dump_log({'mode': 'train'})
    assert (tmp_path / 'elsewhere').read_text() == ''


@pytest.mark.parametrize('work_dir, out_dir, expected', [
    ('runs/exp1', None, 'runs/exp1'),
    ('runs/exp1/', 'ckpts', 'ckpts/exp1'),                # mmcv: out_dir/<work dir's name>
    ('runs/exp1', 'runs/exp1', 'runs/exp1'),
    ('runs/exp1', 'runs/./exp1', 'runs/exp1'),           # the same folder: checkpoint_dirs
    (None, 'ckpts', 'ckpts'),
    (None, None, None),
])
def test_checkpoint_hook_out_dir(work_dir, out_dir, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hook = CheckpointHook(out_dir=out_dir)
    hook.before_run(SimpleNamespace(work_dir=work_dir, logger=logging.getLogger('minicls.test')))
    assert hook.out_dir == expected and (expected is None or os.path.isdir(expected))


def test_sighup_saves_iter_n_and_resume_auto_continues(tmp_path):
    """A closed terminal sends SIGHUP to the whole job: train.py and its loader worker (here
    after iteration 6 of epoch 1, where tests/tiny.py's PauseAt holds the process)."""
    args = [sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
            '--work-dir', 'w', '--no-validate', '--cfg-options', *SMALL, *FEW, 'num_threads=1',
            'data.workers_per_gpu=1', 'total_epochs=3']
    pause = "custom_hooks=[{'type': 'tiny:PauseAt', 'iter': 5, 'folder': %r}]" % str(tmp_path)
    with procs.popen(args + [pause], cwd=tmp_path, stdout=procs.subprocess.PIPE,
                     stderr=procs.subprocess.PIPE,
                     env=dict(os.environ, PYTHONPATH=str(ROOT / 'tests'))) as proc:
        assert procs.signal_when_paused(proc, tmp_path, signal.SIGHUP, group=True), \
            proc.communicate()[1]
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGHUP == 129, err[-2000:]
    # the notice once (the worker ignores SIGHUP: it neither dies nor prints), then the error
    notice, last = err.strip().splitlines()
    assert notice == 'SIGHUP received: finishing this iteration, then saving (send it again to stop at once)'
    assert re.fullmatch(r'error: SIGHUP received: stopped at epoch \d, iter \d+; resume with --resume .*', last)
    assert (tmp_path / 'w' / 'last_checkpoint').read_text() == 'iter_6.pth'
    assert last.endswith('w/iter_6.pth')
    out = train_here(tmp_path, 'w', 1, 3, *FEW, '--resume', 'auto')
    assert 'resuming from w/iter_6.pth' in out
    assert torch.load(tmp_path / 'w' / 'epoch_3.pth', weights_only=True)['meta']['iter'] == 3 * 8
