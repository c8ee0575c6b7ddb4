"""The shipped parameter file agrees with the plain-Python defaults."""

from pathlib import Path

from lpn_controller.monitor import MonitorConfig
from lpn_controller.safety import SafetyConfig
import yaml

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'controller.yaml'


def test_controller_yaml_defaults_match_the_dataclasses():
    parameters = yaml.safe_load(CONFIG.read_text())['lpn_controller']['ros__parameters']
    safety, monitor = SafetyConfig(), MonitorConfig()
    expected = {
        'state_timeout_s': safety.state_timeout_s,
        'max_tilt_rad': safety.max_tilt_rad,
        'frozen_imu_timeout_s': safety.frozen_imu_timeout_s,
        'interpolation_duration_s': safety.interpolation_duration_s,
        'monitor_window_s': monitor.window_s,
        'monitor_cutoff_hz': monitor.cutoff_hz,
        'hfr_warn': monitor.hfr.as_parameters()[0],
        'hfr_error': monitor.hfr.as_parameters()[1],
        'sm_warn': monitor.sm.as_parameters()[0],
        'sm_error': monitor.sm.as_parameters()[1],
        'action_rate_warn': monitor.action_rate.as_parameters()[0],
        'action_rate_error': monitor.action_rate.as_parameters()[1],
        'hfr_min_std': monitor.hfr_min_std,
    }
    assert {key: parameters[key] for key in expected} == expected
