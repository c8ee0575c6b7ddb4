"""
The reader of training configurations: YAML with ``--set`` overrides into dataclass trees.

Files are read by lpn_controller.config_files, the one YAML reader of every package, and every
problem is its ConfigError. A YAML file may leave keys out (they keep their defaults); ``--set
a.b=value`` overrides one key, the value parsed as YAML. Unknown keys, values of the wrong type
and values outside a field's own range or choices raise ConfigError naming the file (or --set)
and the key; each tree's check function adds the rules that involve several keys.
"""

from dataclasses import asdict, field, fields, is_dataclass
import math
from pathlib import Path
import typing
from typing import Mapping

from lpn_controller.config_files import ConfigError, read_yaml_mapping
import yaml

NONE_TYPE = type(None)   # Optional[X] is Union[X, NoneType]


# -- a field's own rules: ranges and choices live with the fields ---------------------------------

def checked(default, check, factory=False):
    """Return a dataclass field whose values the reader checks: ``check(value) -> problem``."""
    if factory:
        return field(default_factory=default, metadata={'check': check})
    return field(default=default, metadata={'check': check})


def ranged(default, low=None, high=None, low_open=False, note='', each=False):
    """
    Return a field whose number lies in [low, high] (low excluded with ``low_open``).

    ``each``: the field is a sequence and every element must. ``note`` follows the message,
    e.g. '(0 = off)'. The messages read 'must be at least 1', 'must be positive' or 'must lie
    in (0, 1]', then the value given.
    """
    def problem_of(value):
        if value is None:
            return None
        items = value if each else (value,)
        if all((low is None or (item > low if low_open else item >= low))
               and (high is None or item <= high) for item in items):
            return None
        if high is not None:
            rule = f"must lie in {'(' if low_open else '['}{low:g}, {high:g}]"
        elif low_open and low == 0:
            rule = 'must be positive'
        else:
            rule = f'must be at least {low:g}' if not low_open else f'must be above {low:g}'
        if each:
            rule = f'elements {rule}'
        return f"{rule}{' ' + note if note else ''}, got {value!r}"
    return checked(tuple(default) if isinstance(default, list) else default, problem_of)


def one_of(default, choices):
    """Return a field whose value must be one of ``choices``."""
    def problem_of(value):
        if value in choices:
            return None
        return f"must be one of {', '.join(choices)}, got {value!r}"
    return checked(default, problem_of)


def read_config(path, overrides, root, check, folders=None):
    """
    Return the ``root`` tree of a YAML file (None: all defaults) with ``key=value`` overrides.

    ``check(config, source)`` runs on the result; ``folders`` hold the shipped configs a bare
    name refers to (default: the PPO configs).
    """
    source = '<defaults>'
    data = {}
    if path is not None:
        path = resolve_config_path(path, folders)
        source = str(path)
        data = read_with_base(path, folders)
    for assignment in overrides:
        apply_override(data, assignment, root)
    if overrides:
        source += ' with --set ' + ' '.join(overrides)
    return build_config(data, source, root, check)


def read_with_base(path, folders=None, seen=()):
    """
    Return the raw mapping of a config file, over the config(s) its ``base`` key names.

    ``base: NAME`` (a shipped config's name, or a file path relative to this one's folder), or
    a list of them merged in order, starts from those configs' keys; this file's keys replace
    them one leaf at a time. A second training stage is written this way: the first stage's
    config, the randomisation all second stages share, and what else changes.
    """
    data = read_yaml_mapping(path, empty_ok=True, what='training config')
    bases = data.pop('base', None)
    if bases is None:
        return data
    here = Path(path).resolve()
    merged = {}
    for base in bases if isinstance(bases, list) else [bases]:
        if not isinstance(base, str) or not base:
            raise ConfigError(f"{path}: key 'base': must name a config or list configs, got "
                              f'{bases!r}')
        relative = Path(path).parent / (base if base.endswith('.yaml') else base + '.yaml')
        base_path = relative if relative.is_file() else resolve_config_path(base, folders)
        if base_path.resolve() in (*seen, here):
            raise ConfigError(f"{path}: key 'base': {base} leads back to itself")
        merged = _merged(merged, read_with_base(base_path, folders, (*seen, here)))
    return _merged(merged, data)


def _merged(base, data):
    merged = dict(base)
    for key, value in data.items():
        merged[key] = (_merged(merged[key], value)
                       if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


def resolve_config_path(path, folders=None, kind='configs'):
    """
    Return an existing config file: ``path`` itself, or a shipped config's name or file name.

    ``folders`` are where shipped configs live (default: the PPO configs), ``kind`` names them
    in the error.
    """
    folders = shipped_config_dirs() if folders is None else folders
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_absolute():
        # A shipped name, or one under a shipped folder (stages/randomized), from anywhere.
        name = path if path.suffix == '.yaml' else path.with_name(path.name + '.yaml')
        for folder in folders:
            if (folder / name).is_file():
                return folder / name
    shipped = sorted(p.stem for folder in folders for p in folder.glob('*.yaml'))
    raise ConfigError(f'{path}: no such config file (shipped {kind}: {", ".join(shipped)})')


def shipped_config_dirs():
    """Return the folders that hold the shipped configs (source tree, then ROS install share)."""
    package = Path(__file__).resolve().parents[1]
    candidates = [package.parent / 'config',
                  package.parents[3] / 'share' / 'smooth_policy_trainer' / 'config']
    return [folder for folder in candidates if folder.is_dir()]


def apply_override(data, assignment, root):
    """Apply one ``a.b.c=value`` override (value parsed as YAML) to the raw mapping ``data``."""
    key, separator, text = assignment.partition('=')
    key = key.strip()
    if not separator or not key:
        raise ConfigError(f'--set {assignment!r}: expected key=value, e.g. '
                          'ppo.learning_rate=3e-4')
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {assignment!r}: key '{key}': value is not valid YAML: "
                          f'{error}') from None
    annotation, default = _lookup(key, f'--set {assignment!r}', root)
    _convert(value, annotation, default, key, f'--set {assignment!r}')  # fail early and here
    *parents, last = key.split('.')
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def build_config(data, source, root, check):
    """Build the ``root`` tree from a (partial) nested mapping and ``check`` it."""
    config = _build(root, data, '', source)
    check(config, source)
    return config


def config_to_dict(config):
    """Return the config as plain YAML types (tuples become lists), for files and checkpoints."""
    def plain(value):
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value
    return plain(asdict(config))


def dump_config(config):
    """Return the config as YAML text."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False)


def _lookup(key, source, root):
    """Return (annotation, default) of a dotted key of the ``root`` tree, failing on unknowns."""
    annotation, default = root, root()
    walked = []
    for part in key.split('.'):
        if typing.get_origin(annotation) is dict and typing.get_args(annotation):
            annotation, default = typing.get_args(annotation)[1], None   # any key
        elif is_dataclass(annotation):
            known = {f.name: f for f in fields(annotation)}
            if part not in known:
                fail(source, '.'.join(walked + [part]), 'unknown key (known here: '
                     f'{", ".join(known)})')
            annotation, default = known[part].type, getattr(default, part)
        elif isinstance(default, Mapping):
            if part not in default:
                fail(source, '.'.join(walked + [part]), 'unknown key (known here: '
                     f'{", ".join(default)})')
            default = default[part]
            annotation = type(default)
        else:
            fail(source, '.'.join(walked), f'is a {_type_name(annotation)}, not a section')
        walked.append(part)
    return annotation, default


def _build(cls, data, prefix, source):
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        fail(source, prefix or '<document>', f'expected a mapping, got {type(data).__name__}')
    defaults = cls()
    known = {f.name: f for f in fields(cls)}
    values = {}
    for name, value in data.items():
        key = f'{prefix}.{name}' if prefix else str(name)
        if name not in known:
            fail(source, key, f'unknown key (known here: {", ".join(known)})')
        values[name] = _convert(value, known[name].type, getattr(defaults, name), key, source)
        check = known[name].metadata.get('check')
        if check is not None:   # the field's own range or choices (see ranged, one_of)
            problem = check(values[name])
            if problem:
                fail(source, key, problem)
    try:
        return cls(**values)
    except ValueError as error:  # a dataclass's own check, e.g. PPOConfig.schedule
        fail(source, prefix or '<document>', str(error))


def _convert(value, annotation, default, key, source):
    """Check ``value`` against the field's type (or its default's) and return it converted."""
    if is_dataclass(annotation):
        return _build(annotation, value, key, source)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        (annotation,) = [arg for arg in args if arg is not NONE_TYPE]
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (tuple, list) or origin in (tuple, list):
        return _convert_sequence(value, args, default, key, source)
    if origin is dict and args:
        return _convert_free_mapping(value, args, key, source)
    if annotation is dict or isinstance(default, Mapping):
        return _convert_mapping(value, default, key, source)
    return _convert_scalar(value, annotation, key, source)


def _convert_sequence(value, args, default, key, source):
    if not isinstance(value, (list, tuple)):
        fail(source, key, f'expected a list, got {value!r}')
    if args:
        element_type = args[0]
    else:
        # A bare `tuple` field (EnvConfig): its default says what goes in it. Number tuples
        # there are (low, high) ranges, so their length is fixed too.
        element_type = type(default[0]) if default else str
        if element_type in (int, float) and len(value) != len(default):
            fail(source, key, f'expected {len(default)} numbers, got {value!r}')
    return tuple(_convert_scalar(item, element_type, f'{key}[{index}]', source)
                 for index, item in enumerate(value))


def _convert_free_mapping(value, args, key, source):
    # A Dict[K, V] field (env.joint_remap): any keys, each key and value of its type.
    if not isinstance(value, Mapping):
        fail(source, key, f'expected a mapping, got {value!r}')
    key_type, value_type = args
    return {_convert_scalar(name, key_type, f'{key} key {name!r}', source):
            _convert_scalar(item, value_type, f'{key}.{name}', source)
            for name, item in value.items()}


def _convert_mapping(value, default, key, source):
    # Mappings (env.reward_terms) merge into their default key by key: a file may change one
    # weight and keep the rest; a key the default lacks is unknown (no reward term reads it).
    if not isinstance(value, Mapping):
        fail(source, key, f'expected a mapping, got {value!r}')
    merged = dict(default)
    for name, item in value.items():
        if name not in default:
            fail(source, f'{key}.{name}', f'unknown key (known here: {", ".join(default)})')
        inner = default[name]
        merged[name] = (_convert_mapping(item, inner, f'{key}.{name}', source)
                        if isinstance(inner, Mapping)
                        else _convert_scalar(item, type(inner), f'{key}.{name}', source))
    return merged


def _convert_scalar(value, annotation, key, source):
    if annotation is bool:
        if not isinstance(value, bool):
            fail(source, key, f'expected true or false, got {value!r}')
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail(source, key, f'expected an integer, got {value!r}')
        return value
    if annotation is float:
        if isinstance(value, str):
            # YAML 1.1 reads 1e-3 (no dot) as a string; accept it rather than trip users up.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(source, key, f'expected a number, got {value!r}')
        if not math.isfinite(value):
            fail(source, key, f'must be finite, got {value!r}')
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            fail(source, key, f'expected a string, got {value!r}')
        return value
    raise TypeError(f'{key}: no converter for the field type {annotation!r}')


def _type_name(annotation):
    return getattr(annotation, '__name__', str(annotation))


def fail(source, key, problem):
    """Raise ConfigError naming the source and the key."""
    raise ConfigError(f"{source}: key '{key}': {problem}")
