"""The teaching layer: --trace prints the flow as it happens (and matches mmcv's dispatch,
recorded in golden/), --debug runs a tiny single-process subset with full tracebacks."""
import json
import re
import sys
from pathlib import Path
import procs
import train

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((Path(__file__).parent / 'golden' / 'hook_order_public.json').read_text())


def run(*args, cwd):
    return procs.run([sys.executable, str(ROOT / 'train.py'), '--config', str(ROOT / 'configs' / 'demo.py'),
                           *args], cwd=cwd, timeout=300)


def test_trace_shows_the_seed_steps_and_mmcv_dispatch_order(tmp_path):
    r = run('--trace', '--cfg-options', 'data.train.num_samples=256', 'data.val.num_samples=128', 'total_epochs=2',
            'data.workers_per_gpu=0', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [line.split('[trace] ', 1)[1] for line in r.stdout.splitlines() if '[trace] ' in line]
    steps = [line.split('.')[0] for line in lines if re.match(r'\d', line)]
    assert steps == ['1', '2', '3', '4-5', '6', '7', '8']          # seed-flow.md's order
    calls = [re.match(r"call_hook\('(\w+)' *\) .*-> (.*)", line).groups() for line in lines
             if line.startswith('call_hook')]
    # mmcv 1.7.2's train_model run (2 epochs x 2 iterations): its first epoch and after_run,
    # plus the DistSamplerSeedHook that minicls registers in every run (step 5)
    golden, expected = GOLDEN['train_model_trace_train_only_validate_EvalHook']['trace'], []
    for stage, hook in golden:
        if not expected or expected[-1][0] != stage or stage in ('before_train_iter',) and hook == 'StepLrUpdaterHook':
            expected.append((stage, []))
        expected[-1][1].append(hook)
        if stage == 'before_train_epoch' and hook == 'StepLrUpdaterHook':
            expected[-1][1].append('DistSamplerSeedHook')
    first_epoch = expected[:expected.index(next(e for e in expected if e[0] == 'after_train_epoch')) + 1]
    guards = ('CheckInvalidLossHook', 'StopSignalHook')      # minicls's own, at HIGH and LOWEST
    assert [(s, [h for h in h.split(', ') if h not in guards]) for s, h in calls] == first_epoch + [expected[-1]]
    acting = {s: [h for h in h.split(', ') if h in guards] for s, h in calls}
    assert acting == {'before_run': ['StopSignalHook'], 'before_train_epoch': [], 'before_train_iter': [],
                      'after_train_iter': ['CheckInvalidLossHook', 'StopSignalHook'],
                      'after_train_epoch': ['CheckInvalidLossHook'], 'after_run': ['StopSignalHook']}
    assert all(h.split(', ')[0] == 'CheckInvalidLossHook' for s, h in calls if s.startswith('after_train'))
    assert 'epoch 2: 2 iterations' in r.stdout
    # the trace pasted in docs/walkthrough.md is this same sequence
    pasted = re.findall(r"call_hook\('(\w+)' *\) .*-> (.*)", (ROOT / 'docs' / 'walkthrough.md').read_text())
    assert pasted == calls


def test_debug_runs_a_tiny_subset_and_shows_tracebacks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)         # this run in this process; the tracebacks below need one
    train.cli(['--config', str(ROOT / 'configs' / 'demo.py'), '--debug'])
    out = capsys.readouterr().out
    assert 'Epoch(val) [1][1]' in out and 'Epoch [2]' not in out       # 1 epoch, 128 val images
    assert 'Epoch [1][1/2]' in out and 'Epoch [1][2/2]' in out         # a training line per iteration
    debug_dirs = list((tmp_path / 'work_dirs' / 'demo' / 'debug').iterdir())
    assert len(debug_dirs) == 1 and (debug_dirs[0] / 'epoch_1.pth').exists()
    bad = ['--cfg-options', "data.train.pipeline=[{'type':'RandomCrop','size':40}]"]
    quiet, loud = run(*bad, cwd=tmp_path), run('--debug', *bad, cwd=tmp_path)
    assert quiet.returncode == loud.returncode != 0
    assert 'Traceback' not in quiet.stderr and 'Traceback' in loud.stderr


def test_analyze_logs_reads_a_log_and_needs_matplotlib_only_to_plot(tmp_path):
    sys.path.insert(0, str(ROOT / 'tools'))
    import analyze_logs
    log = tmp_path / 'x.log.json'
    log.write_text('{"env_info": "...", "seed": 0}\n'
                   '{"mode": "train", "epoch": 1, "iter": 10, "lr": 0.1, "loss": 2.3}\n'
                   '{"mode": "val", "epoch": 1, "iter": 8, "lr": 0.1, "accuracy_top-1": 20.5}\n')
    records = analyze_logs.load_json_log(str(log))
    assert [r['loss'] for r in records['train']] == [2.3] and records['val'][0]['accuracy_top-1'] == 20.5
    r = procs.run([sys.executable, str(ROOT / 'tools' / 'analyze_logs.py'), 'plot_curve', str(log),
                   '--keys', 'loss', '--out', str(tmp_path / 'c.png')], timeout=120)
    try:
        import matplotlib  # noqa: F401
        assert r.returncode == 0 and (tmp_path / 'c.png').stat().st_size > 1000
    except ImportError:
        assert r.returncode == 1 and 'pip install matplotlib' in r.stderr and 'Traceback' not in r.stderr


def test_analyze_logs_on_a_killed_runs_log_a_bad_line_and_a_binary_file(tmp_path):
    """A killed run's last line cut short is left out with a note; a bad line
    elsewhere or a binary file is one line naming the file and the line, before matplotlib."""
    sys.path.insert(0, str(ROOT / 'tools'))
    import analyze_logs
    good = '{"seed": 0}\n{"mode": "train", "epoch": 1, "iter": 10, "lr": 0.1, "loss": 2.3}\n'
    killed, middle, binary = tmp_path / 'k.log.json', tmp_path / 'm.log.json', tmp_path / 'b.log.json'
    killed.write_text(good + '{"mode": "train", "epoch": 1, "it')
    middle.write_text(good + '{"mode": "tr\n' + good)
    binary.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4)      # an image
    notes = []
    assert [r['loss'] for r in analyze_logs.load_json_log(str(killed), notes)['train']] == [2.3]
    assert notes == [f"""{killed}, line 3: the last line is cut short (a killed run?): left out: """
                     """'{"mode": "train", "epoch": 1, "it'"""]

    def plot(path):
        return procs.run([sys.executable, str(ROOT / 'tools' / 'analyze_logs.py'), 'plot_curve',
                          str(path), '--out', str(tmp_path / 'c.png')], timeout=120)
    r = plot(killed)
    assert 'Traceback' not in r.stderr and r.stderr.startswith(f'note: {killed}, line 3: the last')
    for path, what in ((middle, "line 3 is not a JSON record: '{\"mode\": \"tr\\n'"),
                       (binary, "line 1 is not text (UTF-8): b'\\x89PNG\\r\\n'; is this a .log.json?")):
        r = plot(path)
        assert r.returncode == 1 and r.stderr.startswith(f'error: {path}, {what}'), r.stderr
        assert len(r.stderr.splitlines()) == 1
