"""The node's parameters become the controller's parts the same way with and without ROS."""

from lpn_controller.controller_setup import build_controller
from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.safety import SafetyMode
import numpy as np
import pytest

JOINTS = ('hip', 'knee')
PARAMETERS = {
    'lpn_mode': 'exact', 'lpn_table_bins': 50, 'odom_topic': '', 'state_timeout_s': 0.05,
    'max_tilt_rad': 0.5, 'interpolation_duration_s': 3.0, 'frozen_imu_timeout_s': 0.1,
    'monitor_window_s': 2.0, 'monitor_cutoff_hz': 10.0, 'hfr_warn': 0.1, 'hfr_error': 0.25,
    'sm_warn': 0.0, 'sm_error': 0.0, 'action_rate_warn': 0.5, 'action_rate_error': 1.0,
    'hfr_min_std': 0.01, 'passive_extra_damping': 0.0,
    'joint_remap': ['hip:ns/hip', 'knee:ns/knee'],
    'float64_array_joint_order': ['ns/knee', 'ns/hip', 'ns/gripper'],
    'held_joint_names': ['ns/gripper'], 'held_joint_holds': ['-0.5'],
    'held_joint_lower_limits': [-1.0], 'held_joint_upper_limits': [0.0],
    'odom_twist_frame': 'odom', 'odom_timeout_s': 0.1, 'orientation_source': 'imu',
}


def test_parameters_build_core_joint_map_and_layout():
    metadata, weights = make_example_policy('lpn', JOINTS, seed=3)
    setup = build_controller(ExportedPolicy(metadata, weights), PARAMETERS.get)
    assert setup.joint_map.robot_joint_names == ('ns/hip', 'ns/knee')
    assert setup.core.config.safety.interpolation_duration_s == 3.0
    assert setup.core.safety.mode == SafetyMode.WAITING
    assert [joint.hold for joint in setup.core.held_joints] == [-0.5]
    assert setup.core.config.odometry.twist_frame == 'odom'
    output = setup.command_layout.assemble(np.array([1.0, 2.0]), np.array([-0.5]))
    np.testing.assert_allclose(output, [2.0, 1.0, -0.5])


def test_missing_limits_are_named():
    metadata, weights = make_example_policy('lpn', JOINTS, seed=3)
    metadata = metadata.__class__(**{**metadata.__dict__, 'joint_lower_limits': None})
    with pytest.raises(ValueError, match='no joint limits'):
        build_controller(ExportedPolicy(metadata, weights), PARAMETERS.get)
