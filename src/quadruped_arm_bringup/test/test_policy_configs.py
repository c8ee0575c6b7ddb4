"""
Each shipped policy has a training config of its name that reproduces what it trained with.

A policy trained in two stages (a first stage, then randomisation from that policy) is
reproduced by ``<name>_stage2``, whose header names the first stage ``<name>``.
"""

from pathlib import Path

import pytest
from smooth_policy_trainer.config import config_to_dict, load_train_config
from smooth_policy_trainer.config.reader import ConfigError, resolve_config_path
import yaml

POLICIES = Path(__file__).resolve().parents[1] / 'policies'
SHIPPED = sorted(path.name for path in POLICIES.iterdir() if (path / 'policy.yaml').is_file())
# Not what was learnt: where the run was written, and where its first stage lay on that machine
WHERE_TO_WRITE = {('run', 'log_dir'), ('run', 'run_name'), ('run', 'init_from')}


def config_name(name):
    """Return the config that trained a shipped policy: its second stage's, if it has one."""
    try:
        resolve_config_path(f'{name}_stage2')
        return f'{name}_stage2'
    except ConfigError:
        return name


def leaves(tree, prefix=()):
    for key, value in tree.items():
        if isinstance(value, dict) and value and key != 'joint_remap':
            yield from leaves(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def test_every_shipped_policy_has_a_config():
    assert set(SHIPPED) == {'lpn_trot', 'lpn_trot_arm_wave', 'lpn_hop', 'lpn_arm_circle',
                            'mlp_trot_arm_wave'}


@pytest.mark.parametrize('name', SHIPPED)
def test_the_config_is_what_the_policy_records(name):
    recorded = yaml.safe_load((POLICIES / name / 'policy.yaml').read_text())
    recorded = recorded['provenance']['training_config']
    config = config_to_dict(load_train_config(config_name(name)))
    assert bool(recorded['run'].get('init_from')) == (config_name(name) != name)
    values = dict(leaves(config))
    compared = 0
    for key, value in leaves(recorded):
        if key in WHERE_TO_WRITE:
            continue
        assert key in values, f'{name}: {".".join(key)} is recorded but not in the config'
        assert values[key] == value, f'{name}: {".".join(key)}'
        compared += 1
    assert compared > 80   # every section was recorded and compared


@pytest.mark.parametrize('name', SHIPPED)
def test_the_config_says_how_to_run_it(name):
    readme = (POLICIES / 'README.md').read_text()
    for config in {name, config_name(name)}:   # both stages
        header = resolve_config_path(config_name(name)).read_text().split('\n\n')[0]
        assert f'python -m smooth_policy_trainer.train --config {config}' in header
        assert f'python -m smooth_policy_trainer.train --config {config}' in readme
