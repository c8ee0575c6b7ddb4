"""Every package's configuration validator raises the one ConfigError (lpn_controller's)."""

from lpn_controller.config_files import ConfigError
from quadruped_arm_bringup.robot_profile import RobotProfileError
from sim_bridge import config as robot_config
from smooth_policy_trainer import config as training_config


def test_one_error_type_for_every_config():
    assert robot_config.ConfigError is ConfigError
    assert training_config.ConfigError is ConfigError
    assert issubclass(RobotProfileError, ConfigError)
