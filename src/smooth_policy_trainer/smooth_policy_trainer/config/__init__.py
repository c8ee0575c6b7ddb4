"""
Training configurations: the YAML reader, the schemas and their checks (no torch, no MuJoCo).

    from smooth_policy_trainer.config import load_train_config
    config = load_train_config('lpn_hop', ['run.iterations=10'])
"""

from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config, OffPolicyConfig
from smooth_policy_trainer.config.reader import config_to_dict, ConfigError, dump_config
from smooth_policy_trainer.config.train_config import load_config as load_train_config
from smooth_policy_trainer.config.train_config import TrainConfig

__all__ = ['ConfigError', 'config_to_dict', 'dump_config', 'load_offpolicy_config',
           'load_train_config', 'OffPolicyConfig', 'TrainConfig']
