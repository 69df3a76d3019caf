"""Start an exercise on a copy of your own, reset that copy, or put the solution in it.

    python exercises/start.py                # the exercises, and which ones you have started
    python exercises/start.py 02             # copy exercises/02_lr_policy/start.py to exercises/work/ex02_lr_policy.py
    python exercises/start.py 02 --reset     # put the pristine start back
    python exercises/start.py 02 --solution  # put the reference solution there (exercises/solutions/02_lr_policy.py)

Edit the copy; the checker reads it: python -m pytest -q exercises/02_lr_policy.
--reset and --solution never lose a version: the one they replace is kept next to the
copy, the first as ex02_lr_policy.py.bak, the next ones as .bak2, .bak3, ... (the highest
number is the newest). exercises/work/ is ignored by git, so your work never changes the
repository, and `pytest tests` (which checks the pristine files) passes whatever state it
is in.
"""
import argparse
import pathlib
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
WORK = HERE / 'work'


def exercises():
    return sorted(p for p in HERE.iterdir() if p.is_dir() and p.name[:2].isdigit() and (p / 'start.py').exists())


def copy_of(folder):
    return WORK / f'ex{folder.name}.py'


def backup_name(target):
    """The first free name of `target.bak`, `target.bak2`, `target.bak3`, ..."""
    number = 1
    while True:
        backup = target.with_name(target.name + ('.bak' if number == 1 else f'.bak{number}'))
        if not backup.exists():
            return backup
        number += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description='Start (or reset) an exercise on a copy in exercises/work/.')
    parser.add_argument('number', nargs='?', help='the exercise number, e.g. 02')
    what = parser.add_mutually_exclusive_group()
    what.add_argument('--reset', action='store_true',
                      help='replace your copy with the pristine start (your version is kept as .bak, .bak2, ...)')
    what.add_argument('--solution', action='store_true',
                      help='replace your copy with the reference solution (your version is kept as .bak, .bak2, ...)')
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
    if target.exists() and not (args.reset or args.solution):
        print(f'{relative} already exists: keep working on it, or start over with --reset')
        return 0
    source = HERE / 'solutions' / f'{folder.name}.py' if args.solution else folder / 'start.py'
    try:                     # can the work folder be written? checked before anything is copied
        WORK.mkdir(exist_ok=True)
        tempfile.TemporaryFile(dir=WORK).close()
    except OSError as e:
        print(f'error: cannot write {WORK.relative_to(HERE.parent)}/ ({e.strerror}): the exercises '
              'need a checkout you can write to (copy the repository somewhere that is yours)',
              file=sys.stderr)
        return 2
    if target.exists():
        backup = backup_name(target)
        shutil.copyfile(target, backup)
        print(f'your version is saved as {backup.relative_to(HERE.parent)}')
    shutil.copyfile(source, target)
    done = 'reset' if args.reset else 'copied'
    print(f'{done} {source.relative_to(HERE.parent)} -> {relative}\n'
          f'{"read" if args.solution else "edit"} it, then check: python -m pytest -q exercises/{folder.name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
