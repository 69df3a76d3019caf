"""tools/test.py beside mmcls 0.25's tools/test.py: images per second on the same checkpoint
and data, one process each, alternating (minicls, mmcls, minicls, ...) so that a busy machine
slows both alike.

    bash benchmarks/mmcv_reference_setup.sh /tmp/mmref          # once: mmcv 1.7.2, mmcls 0.25.0
    python benchmarks/test_speed.py --mmref /tmp/mmref [--rounds 5] [--work /tmp/test_speed]

The checkpoints are the two demos' (configs/demo.py: 1,000 CIFAR-like 32x32 images from the
pickles; configs/demo_folder.py: 500 JPEGs through LoadImageFromFile, Resize, CenterCrop),
trained for one epoch on 64 images in --work the first time. Each measurement is a fresh
process (`--driver`) that imports everything first, then times the tool's main() from the
config to the printed metrics (`--metrics accuracy`): dataset, model, checkpoint, every
forward, evaluate; in wall time (images per second) and in the CPU time of that process (its
threads; loader workers not counted), which a busy machine disturbs less. mmcls runs its own tools/test.py (runpy, as tests/mmcls_after_training_ref.py,
whose demo dataset types it registers), with data.persistent_workers=False (torch refuses
persistent workers without workers) and the test pipeline without gt_label, which its forward
refuses. The command's whole wall time (interpreter and imports too) is reported beside it.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEMOS = {'demo': ('demo.py', 1000), 'demo_folder': ('demo_folder.py', 500)}


def prepare(work, name):
    """work/<name>/: the demo's data and a one-epoch checkpoint, and its mmcls config text."""
    folder = os.path.join(work, name)
    ckpt = os.path.join(folder, 'epoch_1.pth')
    if not os.path.isfile(ckpt):
        os.makedirs(folder, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(ROOT, 'train.py'), '--config',
                        os.path.join(ROOT, 'configs', DEMOS[name][0]), '--work-dir', folder,
                        '--cfg-options', 'total_epochs=1', 'data.train.num_samples=64',
                        'data.val.num_samples=64'], cwd=folder, check=True,
                       stdout=subprocess.DEVNULL)
    import torch
    text = torch.load(ckpt, weights_only=True)['meta']['config']
    with open(os.path.join(folder, 'mmcls_config.py'), 'w') as f:
        f.write(text)
    return folder, ckpt


def driver(side, name, folder, ckpt):
    """In a fresh process: imports first, then the tool's main() timed; one JSON line."""
    import contextlib
    import io
    import runpy
    import warnings
    warnings.filterwarnings('ignore')
    os.chdir(folder)
    args = ['--metrics', 'accuracy']
    if side == 'minicls':
        sys.path.insert(0, ROOT)
        import torch  # noqa: F401
        import extras.after_training.testing  # noqa: F401
        tool = os.path.join(ROOT, 'tools', 'test.py')
        config = os.path.join(ROOT, 'configs', DEMOS[name][0])
        module = runpy.run_path(tool)              # defines main(); __name__ is not __main__
        run = lambda: module['main']([config, ckpt, *args])   # noqa: E731
    else:
        sys.path.insert(0, os.path.join(ROOT, 'tests'))
        from mmcls_after_training_ref import drop_gt_label, register_demo_datasets
        register_demo_datasets(ckpt)
        import mmcls
        from mmcv import Config
        import mmcls.apis  # noqa: F401
        cfg = Config.fromfile('mmcls_config.py')
        drop_gt_label(cfg)
        cfg.dump('mmcls_timed.py')
        tool = os.path.join(os.path.dirname(mmcls.__file__), '.mim', 'tools', 'test.py')
        module = runpy.run_path(tool)

        def run():
            sys.argv = [tool, 'mmcls_timed.py', ckpt, *args,
                        '--cfg-options', 'data.persistent_workers=False']
            module['main']()
    out = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    top1 = next(line for line in out.getvalue().splitlines() if 'accuracy_top-1' in line)
    print('\nRESULT ' + json.dumps(dict(seconds=seconds, cpu=cpu, top1=top1.split(' : ')[1])))


def measure(side, name, folder, ckpt, mmref):
    env = dict(os.environ)
    if side == 'mmcls':
        env['PYTHONPATH'] = f'{mmref}/src:{mmref}/deps'
    start = time.perf_counter()
    r = subprocess.run([sys.executable, os.path.abspath(__file__), '--driver', side, name,
                        folder, ckpt], capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - start
    # mmcv's progress bar writes to the stdout it found at import, past the redirection
    line = next(x for x in r.stdout.splitlines() if x.startswith('RESULT '))
    return dict(json.loads(line[len('RESULT '):]), wall=wall)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--mmref', default='/tmp/mmref')
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--work', default='/tmp/test_speed')
    p.add_argument('--driver', nargs=4, metavar=('SIDE', 'NAME', 'FOLDER', 'CKPT'))
    args = p.parse_args()
    if args.driver:
        return driver(*args.driver)
    sys.path.insert(0, HERE)
    from common import machine
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    rows = []
    for name, (_, count) in DEMOS.items():
        folder, ckpt = prepare(args.work, name)
        runs = {'minicls': [], 'mmcls': []}
        for _ in range(args.rounds):
            for side in runs:
                runs[side].append(measure(side, name, folder, ckpt, args.mmref))
        top1 = {side: {r['top1'] for r in found} for side, found in runs.items()}
        for side, found in runs.items():
            seconds = sorted(r['seconds'] for r in found)
            walls = sorted(r['wall'] for r in found)
            cpus = sorted(r['cpu'] for r in found)
            rows.append(dict(demo=name, side=side, images=count,
                             images_per_s_median=round(count / seconds[len(seconds) // 2], 1),
                             images_per_s_best=round(count / seconds[0], 1),
                             command_s_median=round(walls[len(walls) // 2], 2),
                             cpu_s_median=round(cpus[len(cpus) // 2], 2),
                             seconds=[round(r['seconds'], 3) for r in found],
                             cpu_s=[round(r['cpu'], 3) for r in found],
                             top1=sorted(top1[side])))
    print(json.dumps(dict(date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                          machine=machine(), commit=commit, command=' '.join(sys.argv),
                          load_average=os.getloadavg(), rows=rows), indent=1))
    for row in rows:
        print(f"{row['demo']:12s} {row['side']:8s} {row['images_per_s_median']:8.1f} images/s "
              f"(best {row['images_per_s_best']}), main() {row['cpu_s_median']} CPU s, "
              f"command {row['command_s_median']} s, top-1 {row['top1']}")


if __name__ == '__main__':
    main()
