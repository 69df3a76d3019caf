"""mmcls 0.x config sources read as mmcv reads them, for extras/bridge/mmcls_config.py: a config
file run with its `_base_` files (mmcv: Config._file2dict, _merge_a_into_b) and its `{{ }}`
references, and a checkpoint's config text parsed as data, never run. Values are checked
(extras/bridge/mmcls_checks.py) before anything walks them by recursion."""
import ast
import copy
import os
import re
import types

import config
from config import ConfigError
from extras.bridge.mmcls_checks import MAX_TEXT, check_plain, quote

def parse_text(text, source):
    if len(text) > MAX_TEXT:
        raise ConfigError(f"{source}: the config text is {len(text)} characters; an mmcls "
                          f"config's is a few thousand (at most {MAX_TEXT} are read)")
    try:
        tree = DataOnly().visit(ast.parse(text))
    except (SyntaxError, ValueError, ConfigError) as e:   # not Python; a class as 'module:Class'
        raise ConfigError(f'{source}: {e}') from None
    except (RecursionError, MemoryError):
        raise ConfigError(f'{source}: an expression nested too deep to be a config') from None
    values = {}
    for node in tree.body:
        name = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        try:
            values[name.id] = ast.literal_eval(node.value)
        except (AttributeError, ValueError, TypeError, RecursionError):
            line = quote((text.split('\n') + [''])[node.lineno - 1], 60)
            raise ConfigError(f'{source} line {node.lineno}: {line} is code; a checkpoint\'s '
                              'config holds only `name = value` lines') from None
    check_plain(values, source)
    return values


class DataOnly(ast.NodeTransformer):
    """pretty_text's dict(k=v) and gpu_ids = range(0, 8) as literals; other calls stay, refused.
    A `type` or `policy` names a class as mmcls's registries do, never a 'module:Class'."""

    def visit_Call(self, node):
        self.generic_visit(node)
        name, keys = getattr(node.func, 'id', None), [k.arg for k in node.keywords]
        if name == 'dict' and not node.args and None not in keys:      # dict(k=v)
            values, keys = [k.value for k in node.keywords], []
            node.args = [ast.Dict([ast.Constant(k.arg) for k in node.keywords], values)]
        if name == 'dict' and not keys and [type(a) for a in node.args] == [ast.Dict]:
            return self.visit_Dict(node.args[0])   # and pretty_text's dict({'not.a.name': v})
        if name == 'float' and not keys and [getattr(a, 'value', 0) for a in node.args] in (
                ['inf'], ['-inf'], ['nan']):      # what render writes for them
            return ast.Constant(float(node.args[0].value))
        ints = [a.value for a in node.args if type(getattr(a, 'value', None)) is int]
        if name == 'range' and not keys and 0 < len(ints) == len(node.args) <= 3 \
                and len(range(*ints)) <= 1024:      # a list of 1e12 ints is no config
            return ast.List([ast.Constant(i) for i in range(*ints)], ast.Load())
        return node

    def visit_Name(self, node):           # mmcv's pretty_text writes float('inf') as inf
        return ast.Constant(float(node.id)) if node.id in ('inf', 'nan') else node

    def visit_Dict(self, node):
        for k, v in zip(node.keys, node.values):
            name, value = getattr(k, 'value', ''), getattr(v, 'value', '')
            if name in ('type', 'policy') and isinstance(value, str) and ':' in value:
                raise ConfigError(f"line {v.lineno}: {name}={quote(value)} names code to import; a "
                                  "checkpoint's config names only minicls's own classes (as mmcls)")
        return self.generic_visit(node)


def resolve_file(path, notes, uses, chain=()):
    """mmcv: Config._file2dict. The file's names over its `_base_` files; who set each key.
    `uses`: {file: the names it reads}; a `_deprecation_` is popped with a note, as mmcv warns."""
    path = os.path.abspath(path)
    if path in chain:                     # mmcv recurses until Python's limit
        raise ConfigError(f'{chain[-1]}: _base_ file {path} leads back to itself')
    text = read_source(path)
    names = {k: v for k, v in config.run_config_file(path, text).items() if not k.startswith('__')
             and not isinstance(v, (types.ModuleType, types.FunctionType))}
    check_plain(names, path)
    uses[path] = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Load)}      # it ran, so it parses
    info = names.pop('_deprecation_', None)
    if info is not None:                  # mmcv: a DeprecationWarning; the file is read as it is
        info, note = info if isinstance(info, dict) else {}, f'{path} will be deprecated'
        note += f"; use {quote(info['expected'], 120)} instead" if 'expected' in info else ''
        notes.append(note + (f"; more: {quote(info['reference'], 120)}" if 'reference' in info
                             else ''))
    given, merged, origins = names.pop('_base_', []), {}, {}
    bases = given if isinstance(given, list) else [given]
    if not all(isinstance(b, str) for b in bases):     # mmcv: a TypeError from os.path.join
        raise ConfigError(f'{path}: _base_={quote(given)} is not a file name or a list of them')
    for base in bases:
        values, where = resolve_file(os.path.join(os.path.dirname(path), base), notes, uses,
                                     chain + (path,))
        if merged.keys() & values.keys():     # mmcv: 'Duplicate key is not allowed among bases'
            shared = ', '.join(sorted(merged.keys() & values.keys()))
            raise ConfigError(f'{path}: two _base_ files set {shared}; mmcv refuses that')
        merged.update(values)
        origins.update(where)
    names = substitute(names, merged, path)
    merged, own = merge(names, merged, path), set(dotted(names))     # who set each key, now
    return merged, {'': path, **{k: path if k in own else origins[k] for k in dotted(merged)}}


PREDEFINED = ('fileDirname', 'fileBasename', 'fileBasenameNoExtension', 'fileExtname')
BASE_REFERENCE = re.compile(r'\{\{\s*_base_\.([\w.]+)\s*\}\}')
PLACEHOLDER = '\0_base_.'      # no config's own string starts with a NUL


def read_source(path):
    """mmcv: Config._substitute_predefined_vars and _pre_substitute_base_vars. The file's text
    with `{{ fileDirname }}` (and fileBasename, fileBasenameNoExtension, fileExtname) written
    in, and each `{{ _base_.a.b }}` turned into a placeholder string that `substitute` swaps
    for the value the `_base_` files give (mmcv's `"_a.b_<random>"`)."""
    config.check_config_file(path)
    try:
        with open(path, encoding='utf-8') as f:           # mmcv reads it as UTF-8 too
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f'--config: {path} cannot be read as UTF-8 text ({e})') from None
    stem, ext = os.path.splitext(os.path.basename(path))
    values = (os.path.dirname(path), os.path.basename(path), stem, ext)
    for name, value in zip(PREDEFINED, values):
        value = value.replace('\\', '/')
        text = re.sub(r'\{\{\s*' + name + r'\s*\}\}', lambda m: value, text)
    return BASE_REFERENCE.sub(lambda m: repr(PLACEHOLDER + m.group(1)), text)


def substitute(value, base, path):
    """mmcv: Config._substitute_base_vars. A placeholder, wherever it stands in the file's
    dicts, lists and tuples, becomes the `_base_` files' value at that dotted name."""
    if isinstance(value, dict):
        return {k: substitute(v, base, path) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(substitute(v, base, path) for v in value)
    if not (isinstance(value, str) and value.startswith(PLACEHOLDER)):
        return value
    name, found = value[len(PLACEHOLDER):], base
    for key in name.split('.'):
        if not (isinstance(found, dict) and key in found):
            raise ConfigError(f'{path}: {{{{_base_.{name}}}}} names nothing its _base_ files '
                              f'set (no {key!r} there)')
        found = found[key]
    return copy.deepcopy(found)


def merge(child, base, path):
    """mmcv: Config._merge_a_into_b. Dicts merge key by key; `_delete_=True` replaces instead."""
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict):
            v = dict(v)
            if k in out and not v.pop('_delete_', False):   # mmcv pops it only where k is in base
                if not isinstance(out[k], dict):
                    raise ConfigError(f'{path}: {k} is a dict here, a {type(out[k]).__name__} in '
                                      'its _base_; set _delete_=True to replace it')
                v = merge(v, out[k], path)
        out[k] = v
    return out


def dotted(d, prefix=''):
    for k, v in d.items():
        yield f'{prefix}{k}'
        yield from dotted(v, f'{prefix}{k}.') if isinstance(v, dict) else ()
