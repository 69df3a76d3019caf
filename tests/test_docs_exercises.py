"""The checkers' messages quoted in exercises/README.md ("Common wrong answers") and in
docs/lab.md are what the checkers print.

- exercises/README.md: every bullet names its wrong answer(s) (`wrong_*.py`) and quotes the
  checker in italics; each quote must appear in what the checker prints for that wrong
  answer (one pytest run of the checkers with EXERCISE_IMPL=wrong, read from its JUnit XML),
  by tools/quoted_outputs.py's `matches` rules: `...` and `[...]` stand for any text, a
  rounded number for the numbers that round to it.
- docs/lab.md says its messages are quoted from exercises/README.md: each of its bullets is
  word for word the bullet of the same wrong answer there.

The checkers' run selects, for each quoted wrong answer, the test that prints its message
(MESSAGE_TEST); CI's tests/test_exercises.py runs all of them.
"""
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import procs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / 'exercises' / 'README.md'
LAB = ROOT / 'docs' / 'lab.md'
# Which checker test prints the quoted message of a wrong answer: the run selects only these
# (a wrong answer not listed here is run through every test of its checker, which is slower).
MESSAGE_TEST = {
    'wrong_before_backward': 'test_grad_norm_is_logged_every_iteration',
    'wrong_sum_of_norms': 'test_grad_norm_is_logged_every_iteration',
    'wrong_weight_norm': 'test_grad_norm_is_logged_every_iteration',
    'wrong_floor_division': 'test_half_life',
    'wrong_iteration_always': 'test_half_life',
    'wrong_no_config_field': 'test_train_py_runs_it_and_cfg_options_set_half_life',
    'wrong_policy_not_registered': 'test_the_config_selects_the_policy',
    'wrong_by_epoch_lags': 'test_prediction_by_epoch',
    'wrong_swapped': 'test_prediction_by_iteration',
    'wrong_no_division': 'test_batch_1_x_2_equals_batch_2',
    'wrong_step_every_iter': 'test_batch_1_x_2_equals_batch_2',
    'wrong_zero_grad_every_iter': 'test_batch_1_x_2_equals_batch_2',
    'wrong_adamw_answer': 'test_part2_what_lr_mult_and_decay_mult_do',
    'wrong_bn_statistics_move': 'test_part3_the_whole_backbone_stays_during_a_real_run',
    'wrong_decay_mult_only': 'test_part1_paramwise_cfg_freezes_the_backbone_weights',
    'wrong_eval_once': 'test_part3_the_whole_backbone_stays_during_a_real_run',
    'wrong_channel_mean': 'test_always_and_never',
    'wrong_one_channel': 'test_always_and_never',
    'wrong_torch_random': 'test_the_batch_seed_decides',
    'wrong_absent_class_counts': 'test_balanced_accuracy_by_hand',
    'wrong_fraction': 'test_balanced_accuracy_by_hand',
    'wrong_plain_accuracy': 'test_balanced_accuracy_by_hand',
    'wrong_meta': 'test_part2_what_the_checkpoints_hold',
    'wrong_no_skip': 'test_resume_is_exact',
    'wrong_random_states': 'test_part2_which_random_states_matter',
    'wrong_reseed_global': ('test_the_sampler_leaves_the_global_random_states_alone'
                            ' or test_resume_is_exact'),
    'wrong_default_priority': 'test_best_loss_weights_are_saved',
    'wrong_no_copy': 'test_best_loss_weights_are_saved',
    'wrong_type_name': 'test_best_loss_weights_are_saved',
    'wrong_explanation': 'test_the_lr_step_explained',
    'wrong_iter_as_x': 'test_curve',
    'wrong_val_lines_too': 'test_curve',
}
ITALIC = re.compile(r'(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])', re.S)


def load_tool():
    spec = importlib.util.spec_from_file_location('quoted_outputs',
                                                  ROOT / 'tools' / 'quoted_outputs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bullets(text):
    """Every Markdown bullet ('- ...' and its indented continuation lines), as one line."""
    found = []
    for m in re.finditer(r'^- .*(?:\n  +\S.*)*', text, re.M):
        found.append(' '.join(m.group().split()))
    return found


def wrong_bullets(text):
    """{(exercise, wrong stem): [quotes]} of the bullets that name a wrong_*.py and quote in
    italics. The exercise is the one of the heading above ('**01 grad norm hook**',
    '### 0:30 Exercise 01, ...' or '**06, a transform ...**')."""
    found = {}
    heading = None
    for line_or_bullet in re.split(r'(?=^- )|(?=^\*\*\d\d)|(?=^###)', text, flags=re.M):
        head = re.match(r'(?:\*\*|### [\d:]+ Exercise )(\d\d)', line_or_bullet)
        if head:
            heading = head.group(1)
        if not line_or_bullet.startswith('- '):
            continue
        bullet = bullets(line_or_bullet)[0]
        quotes = ITALIC.findall(bullet)
        plain = ITALIC.sub('', bullet)
        for stem in re.findall(r'`(wrong_\w+)\.py`', plain):
            if quotes:
                found[(heading, stem)] = quotes
    return found


def checker_failures(pairs, tmp_path):
    """{(exercise, wrong stem): every failure text of the checkers for that wrong answer}."""
    numbers = {e for e, _ in pairs}
    folders = sorted({p for p in (ROOT / 'exercises').iterdir() if p.name[:2] in numbers})
    report = tmp_path / 'checkers.xml'
    select = ' or '.join(f'({MESSAGE_TEST[stem]}) and {stem}' if stem in MESSAGE_TEST else stem
                         for stem in sorted({s for _, s in pairs}))
    args = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', f'--junitxml={report}',
            '-k', select, *[str(f.relative_to(ROOT)) for f in folders]]
    env = dict(os.environ, EXERCISE_IMPL='wrong', OMP_NUM_THREADS='1')    # tiny tensors: 1 thread
    with procs.popen(args, cwd=ROOT, env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        out, _ = proc.communicate(timeout=600)
    assert report.exists(), out[-3000:]
    failures = {}
    for case in ET.parse(report).getroot().iter('testcase'):
        folder = case.get('classname', '').split('.')[1] if '.' in case.get('classname', '') else ''
        param = re.search(r'\[(.*)\]$', case.get('name', ''))
        for element in list(case.iter('failure')) + list(case.iter('error')):
            text = (element.get('message') or '') + '\n' + (element.text or '')
            text = re.sub(r'^E {1,7}', '', text, flags=re.M)   # pytest's marks on assertion lines
            for stem in (param.group(1).split('-') if param else []):
                failures.setdefault((folder[:2], stem), []).append(text)
    return failures, out


def test_the_quoted_messages_are_what_the_checkers_print(tmp_path):
    tool = load_tool()
    quoted = wrong_bullets(README.read_text().split('## Common wrong answers', 1)[1])
    assert len(quoted) >= 25, sorted(quoted)
    for exercise, stem in quoted:
        assert list((ROOT / 'exercises').glob(f'{exercise}_*/{stem}.py')), \
            f'no exercises/{exercise}_*/{stem}.py'
    failures, out = checker_failures(quoted, tmp_path)
    wrong = []
    for (exercise, stem), quotes in sorted(quoted.items()):
        printed = '\n'.join(failures.get((exercise, stem), []))
        assert printed, f'the checker printed nothing for {exercise} {stem}.py\n{out[-3000:]}'
        wrong += [f'{exercise} {stem}.py: *{q}*' for q in quotes if not tool.matches(q, printed)]
    assert not wrong, ('exercises/README.md quotes what the checkers do not print:\n'
                       + '\n'.join(wrong))


def test_the_lab_quotes_the_exercises_readme_word_for_word():
    readme = wrong_bullets(README.read_text().split('## Common wrong answers', 1)[1])
    lab = wrong_bullets(LAB.read_text().split('## The plan', 1)[1].split('## To change X', 1)[0])
    assert len(lab) >= 25, sorted(lab)
    different = [f'{e} {s}.py: lab.md {lab[e, s]} vs exercises/README.md {readme.get((e, s))}'
                 for e, s in sorted(lab) if lab[e, s] != readme.get((e, s))]
    assert not different, '\n'.join(different)
