"""The pictures of docs/after_training.md, made by the tools themselves from a fresh run of the
folder demo (configs/demo_folder.py, 5 epochs, seed 0) in a scratch folder.

    python tools/after_training_pictures.py            # rewrites docs/after_training/*.png
    python tools/after_training_pictures.py --out /tmp/pictures

Each picture is what its command, run from the repository root after
`python train.py --config configs/demo_folder.py`, writes (work_dirs/demo_folder there,
scratch/wd here); the commands are printed as they run. Needs matplotlib and grad-cam.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs', 'demo_folder.py')
# vis_lr's picture: the demo's step schedule turned into warmup, cosine and a momentum schedule
COSINE = ['lr_config.policy=CosineAnnealing', 'lr_config.step=None', 'lr_config.min_lr=0.001',
          'lr_config.by_epoch=False', 'lr_config.warmup=linear', 'lr_config.warmup_iters=32',
          'momentum_config.policy=CosineAnnealing', 'momentum_config.min_momentum_ratio=0.9',
          'momentum_config.by_epoch=False']


def run(scratch, *args):
    """A tool (or train.py) of this repository, from the scratch folder; its output shown."""
    script = args[0] if args[0] == 'train.py' else os.path.join('tools', args[0])
    print('$ python', script, *args[1:], flush=True)
    subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, args[1:])],
                   cwd=scratch, check=True)


def make(out):
    os.makedirs(out, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix='after_training_pictures-')
    try:
        wd = os.path.join(scratch, 'wd')
        run(scratch, 'train.py', '--config', CONFIG, '--work-dir', wd)
        checkpoint = os.path.join(wd, 'epoch_5.pth')
        run(scratch, 'vis_lr.py', CONFIG, '--save-path', os.path.join(out, 'vis_lr.png'),
            '--cfg-options', *COSINE)
        run(scratch, 'vis_pipeline.py', CONFIG, '--output-dir', 'pipeline', '--number', 1,
            '--mode', 'pipeline')
        first, = os.listdir(os.path.join(scratch, 'pipeline'))
        shutil.copy(os.path.join(scratch, 'pipeline', first), os.path.join(out, 'vis_pipeline.png'))
        run(scratch, 'test.py', CONFIG, checkpoint, '--out', 'result.json')
        run(scratch, 'analyze_results.py', CONFIG, 'result.json', '--out-dir', 'results',
            '--topk', 4)
        shutil.copy(os.path.join(scratch, 'results', 'fail.png'),
                    os.path.join(out, 'analyze_results_fail.png'))
        run(scratch, 'confusion_matrix.py', CONFIG, checkpoint, '--include-values',
            '--show-path', os.path.join(out, 'confusion_matrix.png'))
        with open(os.path.join(scratch, 'results', 'success', 'success.json')) as f:
            surest = json.load(f)[0]['filename']          # the most confident right one
        run(scratch, 'vis_cam.py', surest, CONFIG, checkpoint, '--save-path',
            os.path.join(out, 'vis_cam.png'))
        run(scratch, 'report.py', wd, '--out', 'report.html')
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for name in sorted(os.listdir(out)):
        print(f'{os.path.join(out, name)}: {os.path.getsize(os.path.join(out, name)) // 1024} KB')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'after_training'),
                        help='the folder for the pictures (default: %(default)s)')
    make(parser.parse_args(argv).out)


if __name__ == '__main__':
    main()
