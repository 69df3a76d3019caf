"""docs/flow.svg: the eight steps of train_model, and the run loop they end in, as one picture.

    python tools/flow_diagram.py                 # rewrites docs/flow.svg
    python tools/flow_diagram.py --check         # exit 1 if docs/flow.svg is not what this file draws
    python tools/flow_diagram.py --out flow.svg  # somewhere else

The picture's source is the data right below (SETUP, STEPS, LOOP): edit it, not the SVG,
and rerun. Plain Python writing SVG text, no dependency; the same source always gives the
same bytes, so tests/test_lab_tools.py can check that the committed picture matches it.
That test also checks that every `file: function` written here exists in the code.
"""
import argparse
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TITLE = 'python train.py --config ...: the flow of mmcls 0.x train_model, as minicls runs it'

# Before train_model: what mmcls's tools/train.py does, here train.py: main. (what, file: function)
SETUP = ('config, work dir, log, seed, model, datasets', 'train.py: main')

# The eight steps of train_model (docs/flow.md, section 1): (what, file: function).
STEPS = [
    ('data loaders, one per workflow entry', 'data.py: build_dataloader'),
    ('the optimizer (paramwise_cfg: extras/options/paramwise.py)', 'runner.py: build_optimizer'),
    ('the runner; runner.timestamp names the logs', 'runner.py: EpochBasedRunner.__init__'),
    ('LR, optimizer, checkpoint, timer, logger hooks', 'runner.py: EpochBasedRunner.register_training_hooks'),
    ('a sampler-seed hook: each epoch shuffles anew', 'hooks.py: DistSamplerSeedHook'),
    ('validation: a val loader and EvalHook at LOW', 'hooks.py: EvalHook'),
    ('resume (everything) or load_checkpoint (weights)', 'runner.py: EpochBasedRunner.resume'),
    ('run the workflow: the loop on the right', 'runner.py: EpochBasedRunner.run'),
]

# The loop of step 8, top to bottom: (depth, what is called, what happens there, the
# file: function to read first). depth 0 runs once, 1 once per epoch, 2 once per batch.
LOOP = [
    (0, "call_hook('before_run')", 'base LR, checkpoint dir, the .log.json, Ctrl-C handler',
     'hooks.py: LrUpdaterHook.before_run'),
    (1, "call_hook('before_train_epoch')", 'the LR of the epoch, the sampler epoch, the timer',
     'hooks.py: LrUpdaterHook.before_train_epoch'),
    (2, "call_hook('before_train_iter')", 'warmup LR (if any), data_time',
     'hooks.py: IterTimerHook.before_iter'),
    (2, 'model.train_step(batch, optimizer)', 'forward and loss; no backward yet',
     'model.py: ImageClassifier.train_step'),
    (2, "call_hook('after_train_iter')", 'zero_grad, backward, step; timer; log line',
     'hooks.py: OptimizerHook.after_train_iter'),
    (1, "call_hook('after_train_epoch')", 'epoch_N.pth, then evaluation, its Epoch(val) line',
     'hooks.py: CheckpointHook.after_train_epoch'),
    (0, "call_hook('after_run')", 'the last log line, the Ctrl-C handler put back',
     'hooks.py: TextLoggerHook.after_run'),
]
LOOP_FRAMES = {1: 'per epoch: runner.py: EpochBasedRunner.train', 2: 'per batch of the data loader'}
FOOTNOTE = ('Everything that is not the loop is a hook: call_hook(stage) calls, in priority order, '
            'each hook that acts at that stage.')

# Layout, in pixels. Text is not measured (that would need a font library): each kind of
# line has a number of characters that fits its box, and draw() refuses a longer one.
WIDTH = 1000
COL_W, GAP = 460, 40
LEFT_X, RIGHT_X = 20, 20 + COL_W + GAP
TOP = 56                                            # below the title
STEP_H, LOOP_H, SPACE = 44, 58, 10                  # box heights, space between boxes
INDENT = 28                                         # each nested loop frame is this much narrower per side
EDGE, CODE = '#555555', '#1a4f8b'
FILL = dict(setup='#f2f2f2', step='#e8f0fb', run='#fdebd3', frame='#fbfbfb',
            loop0='#f2f2f2', loop1='#e8f0fb', loop2='#fdebd3')
SANS = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
MONO = 'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace"'


class Svg:
    """SVG elements as text, in layers (0: frames, 1: nested frames, 2: boxes and text) so
    that whatever is drawn first, boxes end up on top. Coordinates are ints: exact output."""

    def __init__(self):
        self.layers = {0: [], 1: [], 2: []}

    def add(self, element, layer=2):
        self.layers[layer].append(element)

    def rect(self, x, y, w, h, fill, layer=2, dash=None, opacity=None, rx=6, stroke_width='1'):
        extra = (f' stroke-dasharray="{dash}"' if dash else '') + (f' fill-opacity="{opacity}"' if opacity else '')
        self.add(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" stroke="{EDGE}" '
                 f'stroke-width="{stroke_width}"{extra}/>', layer)

    def text(self, x, y, s, size=12, bold=False, mono=False, anchor='start', colour='#111111', fits=None):
        if fits is not None and len(s) > fits:
            raise ValueError(f'{s!r} has {len(s)} characters; its box holds {fits}: shorten it')
        weight = ' font-weight="bold"' if bold else ''
        self.add(f'<text x="{x}" y="{y}" font-size="{size}" {MONO if mono else SANS}{weight} '
                 f'text-anchor="{anchor}" fill="{colour}">{escape(s)}</text>')

    def arrow(self, d, layer=2):
        """A path (SVG path data) ending in an arrow head."""
        self.add(f'<path d="{d}" fill="none" stroke="{EDGE}" stroke-width="1.4" marker-end="url(#arrow)"/>', layer)

    def document(self, height):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
                f'viewBox="0 0 {WIDTH} {height}">\n'
                '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                f'markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="{EDGE}"/></marker></defs>\n'
                f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>\n'
                + ''.join(e + '\n' for layer in sorted(self.layers) for e in self.layers[layer])
                + '</svg>\n')


def chars(width, px_per_char):
    """How many characters fit in `width` pixels (DejaVu: ~6.7 px at 11 px mono, ~6.6 at 12 px sans)."""
    return int(width / px_per_char)


def step_box(svg, x, y, w, what, where, fill, number=None, dash=None):
    """One step: its number in a circle, what happens, and the file: function below."""
    svg.rect(x, y, w, STEP_H, fill, dash=dash)
    tx = x + 10
    if number is not None:
        svg.add(f'<circle cx="{x + 18}" cy="{y + STEP_H // 2}" r="11" fill="white" stroke="{EDGE}" stroke-width="1"/>')
        svg.text(x + 18, y + STEP_H // 2 + 4, str(number), bold=True, anchor='middle')
        tx = x + 38
    room = x + w - tx - 8
    svg.text(tx, y + 18, what, fits=chars(room, 6.6))
    svg.text(tx, y + 35, where, size=11, mono=True, colour=CODE, fits=chars(room, 6.7))


def loop_box(svg, x, y, w, depth, call, what, where):
    """One point of the loop: the call, what happens there, the file: function to read."""
    svg.rect(x, y, w, LOOP_H, FILL[f'loop{depth}'])
    room = w - 18
    svg.text(x + 10, y + 17, call, size=12, bold=True, mono=True, fits=chars(room, 7.3))
    svg.text(x + 10, y + 33, what, size=11, colour='#444444', fits=chars(room, 6.1))
    svg.text(x + 10, y + 49, where, size=11, mono=True, colour=CODE, fits=chars(room, 6.7))


def draw():
    svg = Svg()
    svg.text(WIDTH // 2, 28, TITLE, size=15, bold=True, anchor='middle')

    # Left column: what train.py does first, then train_model's eight steps in a frame.
    middle = LEFT_X + COL_W // 2
    step_box(svg, LEFT_X, TOP, COL_W, f'before train_model: {SETUP[0]}', SETUP[1], FILL['setup'], dash='5,3')
    frame_top = TOP + STEP_H + 26
    svg.arrow(f'M {middle} {TOP + STEP_H} V {frame_top}')
    svg.text(LEFT_X + 10, frame_top + 19, 'train.py: train_model(model, datasets, cfg, ...)', mono=True, colour=CODE)
    x, w = LEFT_X + 12, COL_W - 24
    y = frame_top + 30
    for number, (what, where) in enumerate(STEPS, 1):
        last = number == len(STEPS)
        step_box(svg, x, y, w, what, where, FILL['run' if last else 'step'], number=number)
        if not last:
            svg.arrow(f'M {middle} {y + STEP_H} V {y + STEP_H + SPACE}')
            y += STEP_H + SPACE
    step8_y = y
    left_bottom = y + STEP_H + 12
    svg.rect(LEFT_X, frame_top, COL_W, left_bottom - frame_top, FILL['frame'], layer=0, rx=8, stroke_width='1.2')

    # Right column: the loop of step 8. A frame per nesting level, a way back up its right side.
    svg.text(RIGHT_X + 10, frame_top + 19, 'step 8: runner.run(data_loaders, workflow)', mono=True, colour=CODE)
    y = frame_top + 30
    opened = {}                                     # depth -> the y where its frame starts
    for k, (depth, call, what, where) in enumerate(LOOP):
        before = LOOP[k - 1][0] if k else 0
        after = LOOP[k + 1][0] if k + 1 < len(LOOP) else 0
        for d in range(before + 1, depth + 1):      # loops that start here: a caption above the box
            opened[d] = y
            y += 22
        inset = 10 + depth * INDENT
        if k == 0:                                  # from step 8 across to the first point of the loop
            svg.arrow(f'M {x + w} {step8_y + STEP_H // 2} H {LEFT_X + COL_W + GAP // 2} '
                      f'V {y + LOOP_H // 2} H {RIGHT_X + inset}')
        else:
            svg.arrow(f'M {RIGHT_X + inset + 24} {y - SPACE - (22 if depth > before else 0)} V {y}')
        loop_box(svg, RIGHT_X + inset, y, COL_W - 2 * inset - (16 if depth else 0), depth, call, what, where)
        y += LOOP_H + SPACE
        for d in range(depth, after, -1):           # loops that end here: their frame, and the way back
            fx, fw = RIGHT_X + 10 + (d - 1) * INDENT + 8, COL_W - 2 * (10 + (d - 1) * INDENT + 8)
            svg.rect(fx, opened[d], fw, y - opened[d], FILL[f'loop{d}'], layer=1, dash='4,3', opacity='0.35', rx=8)
            back = fx + fw - 9                      # caption on the right, clear of the arrows coming in
            svg.text(back - 10, opened[d] + 15, LOOP_FRAMES[d] + ' (repeats)', size=11, bold=True,
                     anchor='end', colour='#444444')
            svg.arrow(f'M {back} {y - SPACE} V {opened[d] + 26}')
            y += 8
    right_bottom = y + 4
    svg.rect(RIGHT_X, frame_top, COL_W, right_bottom - frame_top, FILL['frame'], layer=0, rx=8, stroke_width='1.2')

    height = max(left_bottom, right_bottom) + 36
    svg.text(LEFT_X, height - 14, FOOTNOTE, size=11, colour='#444444')
    return svg.document(height)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Draw docs/flow.svg from the steps written in this file.')
    parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'flow.svg'))
    parser.add_argument('--check', action='store_true', help='compare with --out instead of writing it')
    args = parser.parse_args(argv)
    data = draw().encode('utf-8')
    if args.check:
        same = os.path.exists(args.out) and open(args.out, 'rb').read() == data
        print(f'{args.out} ' + ('matches tools/flow_diagram.py' if same else
                                'is not what tools/flow_diagram.py draws: run python tools/flow_diagram.py'))
        return 0 if same else 1
    with open(args.out, 'wb') as f:
        f.write(data)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
