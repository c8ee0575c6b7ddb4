"""Clip joint names onto a robot: remaps, reordering, and the checks that name what is wrong."""

from types import SimpleNamespace

from lpn_controller.joint_map import JointMapError
import numpy as np
import pytest
from smooth_policy_trainer.motion.joints import (check_joint_names, check_limits, onto_robot,
                                                 robot_joint_map)

ROBOT = SimpleNamespace(joint_names=('knee', 'hip'), joint_map={}, source='robot.yaml')


def raise_it(message):
    raise ValueError(message)


def test_a_clip_is_renamed_and_reordered_into_the_robots_joints():
    names, positions = onto_robot(['h', 'k'], np.array([[1.0, 2.0]]), ROBOT,
                                  {'h': 'hip', 'k': 'knee'})
    assert names == ('knee', 'hip')
    np.testing.assert_array_equal(positions, [[2.0, 1.0]])
    with pytest.raises(JointMapError, match="joint_remap names joint\\(s\\) 'elbow'"):
        robot_joint_map(['h', 'k'], ROBOT, {'elbow': 'hip'})


def test_names_and_limits_are_checked_naming_the_joint():
    check_joint_names(('knee', 'hip'), ROBOT, raise_it)
    with pytest.raises(ValueError, match='order differs'):
        check_joint_names(('hip', 'knee'), ROBOT, raise_it)
    limits = np.array([[0.0, 1.0], [-1.0, 1.0]])
    check_limits(('knee', 'hip'), np.array([[0.5, 0.0]]), limits, 1e-3, raise_it)
    with pytest.raises(ValueError, match="joint 'knee' is 1.5000 rad at frame 1"):
        check_limits(('knee', 'hip'), np.array([[0.5, 0.0], [1.5, 0.0]]), limits, 1e-3,
                     raise_it)
