"""Each shipped policy has a training config of its name that reproduces what it trained with."""

from pathlib import Path

import pytest
from smooth_policy_trainer.config import config_to_dict, load_train_config
from smooth_policy_trainer.config.reader import resolve_config_path
import yaml

POLICIES = Path(__file__).resolve().parents[1] / 'policies'
SHIPPED = sorted(path.name for path in POLICIES.iterdir() if (path / 'policy.yaml').is_file())
WHERE_TO_WRITE = {('run', 'log_dir'), ('run', 'run_name')}   # not what was learnt


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
    config = config_to_dict(load_train_config(name))
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
    header = resolve_config_path(name).read_text().split('\n\n')[0]
    assert f'python -m smooth_policy_trainer.train --config {name}' in header
    readme = (POLICIES / 'README.md').read_text()
    assert f'python -m smooth_policy_trainer.train --config {name}' in readme
