"""Wrong answer to exercise 10: reads the lines itself and keeps every one that has the key,
val lines included (they carry lr too)."""
import json

from tools.analyze_logs import load_json_log


def curve(log_path, key):
    rows = [r for r in map(json.loads, open(log_path)) if 'mode' in r and key in r]
    per_epoch = max(r['iter'] for r in rows if r['epoch'] == 1 and r['mode'] == 'train')
    return [((r['epoch'] - 1) * per_epoch + r['iter'], r[key]) for r in rows]


def lr_changes(log_path):
    points = curve(log_path, 'lr')
    return [(x, before, lr) for (_, before), (x, lr) in zip(points, points[1:]) if lr != before]


def last_val(log_path, key='accuracy_top-1'):
    return [r for r in load_json_log(log_path)['val'] if key in r][-1][key]


LR_STEP_EXPLAINED = 'a'
