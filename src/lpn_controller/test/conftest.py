"""Shared fixtures: the robot's joint names and small exported policies."""

from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import ExportedPolicy
import pytest

# The Spot-style robot: 12 leg joints and a 6-DoF arm, in action order.
SPOT_JOINT_NAMES = (
    'front_left_hip_x', 'front_left_hip_y', 'front_left_knee',
    'front_right_hip_x', 'front_right_hip_y', 'front_right_knee',
    'rear_left_hip_x', 'rear_left_hip_y', 'rear_left_knee',
    'rear_right_hip_x', 'rear_right_hip_y', 'rear_right_knee',
    'arm_sh0', 'arm_sh1', 'arm_el0', 'arm_el1', 'arm_wr0', 'arm_wr1',
)


@pytest.fixture
def joint_names():
    return SPOT_JOINT_NAMES


@pytest.fixture
def lpn_policy():
    metadata, weights = make_example_policy('lpn', SPOT_JOINT_NAMES, seed=1)
    return ExportedPolicy(metadata, weights)


@pytest.fixture
def mlp_policy():
    metadata, weights = make_example_policy('mlp', SPOT_JOINT_NAMES, seed=2)
    return ExportedPolicy(metadata, weights)
