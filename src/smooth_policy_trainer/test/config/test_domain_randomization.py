"""The domain randomisation tree: every range checked, naming its key; every key round-trips."""

import dataclasses

import pytest
from smooth_policy_trainer.config.domain_randomization import (DomainRandomizationConfig,
                                                               GROUPS)
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config
from smooth_policy_trainer.config.reader import config_to_dict, ConfigError
from smooth_policy_trainer.config.train_config import config_from_dict


def randomized(groups, num_envs=6, seed=3, **env):
    """Return an EnvConfig with these groups on ({name: {key: value}}, defaults otherwise)."""
    tree = {name: {'enabled': True, **values} for name, values in groups.items()}
    return config_from_dict({'env': {'clip': 'trot', 'num_envs': num_envs, 'seed': seed,
                                     'domain_randomization': tree, **env}}).env


def test_bad_ranges_and_combinations_are_refused_naming_the_key():
    tree = {'env': {'domain_randomization': {'mass': {'base_scale': [1.2, 0.8]}}}}
    with pytest.raises(ConfigError, match='env.domain_randomization.mass.base_scale'):
        config_from_dict(tree)
    tree = {'env': {'domain_randomization': {'observation_latency': {'imu_steps': [-1, 1]}}}}
    with pytest.raises(ConfigError, match='imu_steps'):
        config_from_dict(tree)
    tree = {'env': {'domain_randomization': {'friction': {'enabled': True}},
                    'randomization': {'enabled': True}}}
    with pytest.raises(ConfigError, match='env.randomization.enabled'):
        config_from_dict(tree)
    # Every key round-trips through the YAML form.
    config = randomized({name: {} for name in GROUPS})
    again = config_from_dict({'env': config_to_dict(dataclasses.replace(config))}).env
    assert again.domain_randomization == config.domain_randomization


def test_off_by_default_every_group():
    config = DomainRandomizationConfig()
    assert config.enabled_groups() == [] and not config.any_enabled
    assert EnvConfig().domain_randomization == config
    assert EnvConfig().start_on_floor is False


def test_the_off_policy_imitation_config_checks_the_tree_too():
    with pytest.raises(ConfigError, match='env.domain_randomization.mass.base_scale'):
        load_offpolicy_config('td3_pave_trot_arm_wave',
                              ['env.domain_randomization.mass.base_scale=[1.2, 0.8]'])
    with pytest.raises(ConfigError, match='env.randomization.enabled'):
        load_offpolicy_config('td3_pave_trot_arm_wave',
                              ['env.domain_randomization.pushes.enabled=true',
                               'env.randomization.enabled=true'])
