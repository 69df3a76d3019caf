"""Start an exercise on a copy of your own, or reset that copy.

    python exercises/start.py              # the exercises, and which ones you have started
    python exercises/start.py 02           # copy exercises/02_lr_policy/start.py to exercises/work/ex02_lr_policy.py
    python exercises/start.py 02 --reset   # put the pristine start back (your version is kept as .bak)

Edit the copy; the checker reads it: python -m pytest -q exercises/02_lr_policy.
exercises/work/ is ignored by git, so your work never changes the repository, and
`pytest tests` (which checks the pristine files) passes whatever state it is in.
"""
import argparse
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
WORK = HERE / 'work'


def exercises():
    return sorted(p for p in HERE.iterdir() if p.is_dir() and p.name[:2].isdigit() and (p / 'start.py').exists())


def copy_of(folder):
    return WORK / f'ex{folder.name}.py'


def main(argv=None):
    parser = argparse.ArgumentParser(description='Start (or reset) an exercise on a copy in exercises/work/.')
    parser.add_argument('number', nargs='?', help='the exercise number, e.g. 02')
    parser.add_argument('--reset', action='store_true', help='overwrite your copy with the pristine start')
    args = parser.parse_args(argv)
    found = exercises()
    if args.number is None:
        for folder in found:
            state = 'started' if copy_of(folder).exists() else '-'
            print(f'{folder.name:24} {state:8} {copy_of(folder).relative_to(HERE.parent)}')
        return 0
    matches = [f for f in found if f.name.split('_')[0] == args.number.zfill(2)]
    if not matches:
        print(f'error: no exercise {args.number!r}; there are: {", ".join(f.name[:2] for f in found)}', file=sys.stderr)
        return 2
    folder = matches[0]
    target = copy_of(folder)
    relative = target.relative_to(HERE.parent)
    if target.exists() and not args.reset:
        print(f'{relative} already exists: keep working on it, or start over with --reset')
        return 0
    WORK.mkdir(exist_ok=True)
    if target.exists():
        shutil.copyfile(target, target.with_name(target.name + '.bak'))
        print(f'your version is saved as {relative}.bak')
    shutil.copyfile(folder / 'start.py', target)
    print(f'{"reset" if args.reset else "copied"} {(folder / "start.py").relative_to(HERE.parent)} -> {relative}\n'
          f'edit it, then check: python -m pytest -q exercises/{folder.name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
