"""Which hook acts at which stage: a picture of a `--trace` run.

    python train.py --config configs/demo.py --trace > trace.txt
    python tools/hook_timeline.py trace.txt --out hook_timeline.png     # needs matplotlib
    python tools/hook_timeline.py trace.txt --text                      # plain text, no dependency
    python tools/hook_timeline.py work_dirs/demo/<timestamp>.log --text  # the run's .log works too
    python train.py --config configs/demo.py --trace | python tools/hook_timeline.py - --text

Rows are the hooks of the run in priority order (read from the hook table that every run
prints after "Hooks will be executed in the following order:"), columns are the
`[trace] call_hook(...)` lines in the order they happened, and a cell is marked where the
hook acted at that call. The trace prints only the first iterations of the first epoch,
then one summary line per epoch: each stretch it skipped becomes a "..." column that says
what was skipped, so that the picture never hides that something happened there.

docs/hook_timeline.png and docs/hook_timeline.txt were made this way from the stdout of
`python train.py --config configs/demo.py --trace`.

matplotlib is an optional extra (as for tools/analyze_logs.py): without it, or with
--text, the same grid is printed as text.
"""
import argparse
import re
import sys

# mmcv's priority numbers (hooks.Priority; tests/test_lab_tools.py checks they agree).
# A smaller number runs first; the hook table prints the name, or the number when a hook
# was registered at a number that has no name.
PRIORITIES = dict(HIGHEST=0, VERY_HIGH=10, HIGH=30, ABOVE_NORMAL=40, NORMAL=50,
                  BELOW_NORMAL=60, LOW=70, VERY_LOW=90, LOWEST=100)

# The short names of the columns in the text grid (and the long names they stand for).
STAGE_SHORT = {
    'before_run': 'bR', 'after_run': 'aR',
    'before_train_epoch': 'bTE', 'after_train_epoch': 'aTE',
    'before_train_iter': 'bTI', 'after_train_iter': 'aTI',
    'before_val_epoch': 'bVE', 'after_val_epoch': 'aVE',
    'before_val_iter': 'bVI', 'after_val_iter': 'aVI',
}

# The trace hook prints the trace and leaves itself out of it: it is not a row.
TRACE_HOOK = 'TraceHook'

# A log line starts with "<date> <time>,<ms> - <logger> - <LEVEL> - "; the hook table's
# own lines (a multi-line message) have no such prefix.
PREFIX = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - \S+ - [A-Z]+ - ')
TABLE_START = 'Hooks will be executed in the following order:'
TABLE_STAGE = re.compile(r'^(\w+):\s*$')
TABLE_HOOK = re.compile(r'^\((\w+)\s*\)\s+(\S+)\s*$')
TABLE_END = re.compile(r'^\s*-{5,}\s*$')
CALL = re.compile(r"\[trace\] call_hook\('(\w+)'\s*\)\s*(.*?)\s*-> (.*)$")
SUMMARY = re.compile(r'\[trace\] epoch (\d+): (\d+) iterations')
ITER_LOG = re.compile(r'Epoch \[(\d+)\]\[\d+/(\d+)\]')          # TextLoggerHook: Epoch [1][10/40]
WHERE = re.compile(r'epoch (\d+)(?:, iter (\d+))?')


def priority_number(name):
    return PRIORITIES[name] if name in PRIORITIES else int(name)


def parse_hook_table(lines):
    """The first hook table in `lines` -> (blocks, priority), where blocks is
    [(stage, [hook names in the order they run])] and priority maps a hook to the name or
    number the table gives it. None when the log has no table."""
    try:
        start = next(i for i, line in enumerate(lines) if TABLE_START in line)
    except StopIteration:
        return None
    blocks, priority = [], {}
    for line in lines[start + 1:]:
        if TABLE_STAGE.match(line):
            blocks.append((TABLE_STAGE.match(line).group(1), []))
        elif TABLE_HOOK.match(line) and blocks:
            level, name = TABLE_HOOK.match(line).groups()
            blocks[-1][1].append(name)
            priority[name] = level
        elif not TABLE_END.match(line):
            break                                   # the next log line: the table is over
    return blocks, priority


def hook_order(blocks, priority):
    """All hooks of the table in one order that agrees with every stage's order.

    Sorting by priority alone cannot order hooks of equal priority (they run in the order
    they were registered), and no single stage lists every hook. So: every stage says
    "a runs before b" for each neighbouring pair, and we take the hooks in an order that
    keeps all of these (a topological sort), choosing the smallest priority, then the
    first seen in the table, whenever several hooks are free to come next."""
    seen = []
    after = {}                                      # hook -> the hooks some stage runs right after it
    for _, hooks in blocks:
        for name in hooks:
            if name not in seen:
                seen.append(name)
                after[name] = set()
        for a, b in zip(hooks, hooks[1:]):
            after[a].add(b)
    waiting = {name: 0 for name in seen}            # how many hooks must come before each one
    for name in seen:
        for b in after[name]:
            waiting[b] += 1
    order = []
    while len(order) < len(seen):
        free = [n for n in seen if waiting[n] == 0 and n not in order]
        if not free:                                # stages that disagree: cannot happen in mmcv's runner
            free = [n for n in seen if n not in order]
        name = min(free, key=lambda n: (priority_number(priority[n]), seen.index(n)))
        order.append(name)
        for b in after[name]:
            waiting[b] -= 1
    return order


def parse_trace(lines):
    """The traced call_hook lines of the first run -> a list of columns, each a dict:
    {'stage', 'epoch', 'iter', 'hooks'} for a call_hook, or, where the trace skipped some,
    {'gap': 'iterations', 'epoch', 'first', 'last'} or {'gap': 'epochs', 'epochs': [(epoch, iterations)]}.
    The iterations of an epoch come from the log lines (Epoch [1][10/40]) or the summaries."""
    per_epoch = None                                # iterations per train epoch, when the log says
    for line in lines:
        m = ITER_LOG.search(line) or SUMMARY.search(line)
        if m:
            per_epoch = int(m.group(2))
            break
    columns = []
    for line in lines:
        if TABLE_START in line and columns:
            break                                   # a second run in the same file: draw the first
        call, summary = CALL.search(line), SUMMARY.search(line)
        if call:
            stage, where, names = call.groups()
            m = WHERE.match(where)
            epoch = int(m.group(1)) if m else None
            it = int(m.group(2)) if m and m.group(2) else None
            if stage == 'after_train_epoch' and per_epoch and columns:
                last = columns[-1]
                if last.get('stage') == 'after_train_iter' and last['iter'] < per_epoch:
                    columns.append(dict(gap='iterations', epoch=epoch, first=last['iter'] + 1, last=per_epoch))
            hooks = [] if names.strip() == '-' else [n.strip() for n in names.split(',')]
            columns.append(dict(stage=stage, epoch=epoch, iter=it, hooks=hooks))
        elif summary:
            epoch = (int(summary.group(1)), int(summary.group(2)))
            if columns and columns[-1].get('gap') == 'epochs':  # consecutive untraced epochs: one column
                columns[-1]['epochs'].append(epoch)
            else:
                columns.append(dict(gap='epochs', epochs=[epoch]))
    return columns


def gap_text(column):
    """What a gap column stands for, in words."""
    if column['gap'] == 'iterations':
        return f'epoch {column["epoch"]}: iterations {column["first"]}-{column["last"]}, not traced'
    epochs = column['epochs']
    counts = {n for _, n in epochs}
    if len(epochs) == 1:
        return f'epoch {epochs[0][0]}: {epochs[0][1]} iterations, not traced'
    if len(counts) == 1:
        return f'epochs {epochs[0][0]}-{epochs[-1][0]}: {epochs[0][1]} iterations each, not traced'
    return 'epochs ' + ', '.join(f'{e} ({n} iterations)' for e, n in epochs) + ', not traced'


def read_log(path):
    text = sys.stdin.read() if path == '-' else open(path, encoding='utf-8', errors='replace').read()
    return [PREFIX.sub('', line) for line in text.splitlines()]


def timeline(lines):
    """Lines of a --trace log -> (hooks in priority order, {hook: priority as printed},
    columns). Raises ValueError with what is missing."""
    table = parse_hook_table(lines)
    if table is None:
        raise ValueError(f'no hook table ("{TABLE_START}"): is this the output or the .log of a train.py run?')
    blocks, priority = table
    columns = parse_trace(lines)
    if not any('stage' in c for c in columns):
        raise ValueError("no [trace] call_hook(...) lines: run train.py with --trace")
    hooks = [h for h in hook_order(blocks, priority) if h != TRACE_HOOK]
    unknown = sorted({h for c in columns for h in c.get('hooks', ()) if h not in hooks})
    if unknown:                                     # the trace and the table disagree
        raise ValueError(f'hooks in the trace but not in the hook table: {", ".join(unknown)}')
    return hooks, priority, columns


def column_label(column):
    """('bTI', '1.2') for before_train_iter of epoch 1, iter 2; ('...', '') for a gap."""
    if 'gap' in column:
        return '...', ''
    stage = STAGE_SHORT.get(column['stage'], column['stage'])
    if column['iter'] is not None:
        return stage, f'{column["epoch"]}.{column["iter"]}'
    return stage, f'e{column["epoch"]}' if column['epoch'] is not None else ''


def long_label(column):
    """'before_train_iter (epoch 1, iter 2)' for the picture; '' for a gap (it has its own text)."""
    if 'gap' in column:
        return ''
    if column['iter'] is not None:
        return f'{column["stage"]} (epoch {column["epoch"]}, iter {column["iter"]})'
    return column['stage'] + (f' (epoch {column["epoch"]})' if column['epoch'] is not None else '')


def render_text(hooks, priority, columns):
    """The grid as text: x where a hook acted, . where it did not, | for a gap column."""
    labels = [column_label(c) for c in columns]
    width = max(len(s) for pair in labels for s in pair) + 1
    name_w = max(len(h) for h in hooks) + 2
    prio_w = max(len(priority[h]) for h in hooks) + 2
    lead = ' ' * (name_w + prio_w)
    out = ['Which hook acted at each call_hook of a --trace run',
           '(rows: hooks in priority order; x: the hook acted; .: it did not)',
           '',
           lead + ''.join(top.ljust(width) for top, _ in labels).rstrip(),
           lead + ''.join(bottom.ljust(width) for _, bottom in labels).rstrip()]
    for h in hooks:
        cells = ['|' if 'gap' in c else 'x' if h in c['hooks'] else '.' for c in columns]
        out.append(h.ljust(name_w) + priority[h].ljust(prio_w) + ''.join(s.ljust(width) for s in cells).rstrip())
    used = []                                       # the stages, in the order they first appear
    for c in columns:
        if 'stage' in c and c['stage'] not in used:
            used.append(c['stage'])
    legend = [f'{STAGE_SHORT.get(s, s)} = {s}' for s in used]
    out.append('')
    for i in range(0, len(legend), 3):              # three to a line
        out.append(('columns: ' if i == 0 else ' ' * 9) + ', '.join(legend[i:i + 3]))
    out.append('         1.2 = epoch 1, iteration 2; e1 = epoch 1')
    out += [f'         ... = {gap_text(c)}' for c in columns if 'gap' in c]
    out.append(f'{TRACE_HOOK} (HIGHEST), which prints the trace, acts at every call_hook and is left out.')
    return '\n'.join(out) + '\n'


def render_png(hooks, priority, columns, out):
    """The grid as a picture. Returns False when matplotlib is not installed."""
    try:
        import matplotlib                           # the optional extra: imported only here
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    # One colour per kind of stage, so that the iteration rhythm (before / after) shows.
    colours = {'run': '#7f7f7f', 'epoch': '#1f77b4', 'iter': '#ff7f0e'}
    fig, ax = plt.subplots(figsize=(1.2 + 0.42 * len(columns) + 2.6, 1.6 + 0.38 * len(hooks) + 1.6))
    for x, c in enumerate(columns):
        if 'gap' in c:
            ax.axvspan(x - 0.5, x + 0.5, color='#eeeeee', zorder=0)
            ax.text(x, len(hooks) / 2 - 0.5, gap_text(c), rotation=90, ha='center',
                    va='center', fontsize=7, color='#555555')
            continue
        kind = c['stage'].rsplit('_', 1)[-1]
        for y, h in enumerate(hooks):
            if h in c['hooks']:
                ax.scatter(x, y, s=150, marker='s', color=colours.get(kind, 'black'), zorder=2)
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([long_label(c) for c in columns], rotation=90, fontsize=8)
    ax.set_yticks(range(len(hooks)))
    ax.set_yticklabels([f'{h} ({priority[h]})' for h in hooks], fontsize=9)
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(len(hooks) - 0.5, -0.5)             # the first hook at the top
    ax.set_xticks([x - 0.5 for x in range(1, len(columns))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(hooks))], minor=True)
    ax.grid(which='minor', color='#dddddd', linewidth=0.6)
    ax.tick_params(which='minor', length=0)
    ax.set_title('Which hook acts at each call_hook (a --trace run; rows in priority order)', fontsize=10)
    for kind, colour in colours.items():
        ax.scatter([], [], s=60, marker='s', color=colour, label=f'*_{kind}')
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.savefig(out, dpi=110, bbox_inches='tight')  # 'tight': the long rotated labels stay inside
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description='Draw which hook acted at each call_hook of a --trace run.')
    parser.add_argument('log', help="the stdout of `train.py ... --trace`, or its <timestamp>.log ('-': stdin)")
    parser.add_argument('--out', default='hook_timeline.png', help='the PNG to write (default: %(default)s)')
    parser.add_argument('--text', action='store_true', help='print the plain-text grid, draw no PNG')
    args = parser.parse_args(argv)
    try:
        hooks, priority, columns = timeline(read_log(args.log))
    except (OSError, ValueError) as e:
        print(f'error: {args.log}: {e}', file=sys.stderr)
        return 2
    if not args.text:
        if render_png(hooks, priority, columns, args.out):
            print(f'wrote {args.out}')
            return 0
        print('matplotlib is not installed (an optional extra: pip install matplotlib); '
              'printing the text version instead', file=sys.stderr)
    sys.stdout.write(render_text(hooks, priority, columns))
    return 0


if __name__ == '__main__':
    sys.exit(main())
