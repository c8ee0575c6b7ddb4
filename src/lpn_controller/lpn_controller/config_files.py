"""
The one reader of YAML configuration files and its one error type, for every package.

The controller's and the simulator's robot files, the bringup's robot profiles and the
trainer's training configs are all read here first: a file that cannot be read, is not valid
YAML or is not a mapping fails with a ConfigError naming the file. Each package's validator then
checks the keys and raises ConfigError (or a subclass) naming the file and the key.
"""

from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file (or source) and the key."""


def read_yaml_mapping(path, empty_ok=False, what='configuration', fail=None):
    """
    Return the top-level mapping of the YAML file ``path``.

    ``empty_ok``: an empty file reads as {}. ``what`` names the kind of file in the messages.
    ``fail(problem)`` raises the caller's ConfigError (by default ``'<path>: <problem>'``).
    """
    path = Path(path)

    def default_fail(problem):
        raise ConfigError(f'{path}: {problem}')

    fail = fail or default_fail
    try:
        text = path.read_text()
    except OSError as error:
        fail(f'cannot read {what} ({error.strerror})')
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        fail(f'not valid YAML: {error}')
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        fail(f'expected a mapping at the top level, got {type(data).__name__}')
    return data
