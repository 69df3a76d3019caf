"""Wrong answer to exercise 10: "the LR decays every iteration, the log averages it"."""
from tools.analyze_logs import load_json_log


def curve(log_path, key):
    rows = [r for r in load_json_log(log_path)['train'] if key in r]
    per_epoch = max(r['iter'] for r in rows if r['epoch'] == rows[0]['epoch'])
    return [((r['epoch'] - 1) * per_epoch + r['iter'], r[key]) for r in rows]


def lr_changes(log_path):
    points = curve(log_path, 'lr')
    return [(x, before, lr) for (_, before), (x, lr) in zip(points, points[1:]) if lr != before]


def last_val(log_path, key='accuracy_top-1'):
    return [r for r in load_json_log(log_path)['val'] if key in r][-1][key]


LR_STEP_EXPLAINED = 'c'
