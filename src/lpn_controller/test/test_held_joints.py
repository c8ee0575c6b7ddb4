"""Joints the robot's command carries but the policy does not drive (Spot's gripper)."""

from lpn_controller.controller import ControllerConfig, ControllerCore, minimum_jerk
from lpn_controller.example_policy import make_example_policy
from lpn_controller.joint_map import (CommandLayout, forward_controller_mismatch, HeldJoint,
                                      JointMap, JointMapError, parse_held_joints)
from lpn_controller.monitor import MonitorConfig
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])
DT = 0.02
GRIPPER = HeldJoint('gripper', None, -1.5, 0.0)


def make_core(held=(GRIPPER,)):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=11, phase_period_s=0.5)
    runtime = make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact')
    config = ControllerConfig(safety=SafetyConfig(0.1, 0.8, 1.0),
                              monitor=MonitorConfig(window_s=1.0), held_joints=tuple(held))
    return ControllerCore(runtime, metadata.default_pose - 1.0, metadata.default_pose + 1.0,
                          config)


def feed(core, time, positions, gripper):
    core.set_joint_state(time, positions, np.zeros(3))
    core.set_held_joint_positions(np.array([gripper]))
    core.set_imu(time, UPRIGHT, np.array([0.01, -0.02, 0.03]) + 1e-6 * time)


def run(core, gripper_at, until_s):
    """Feed state (the gripper reading from gripper_at(time)) and step; return the outputs."""
    outputs, time = [], 0.0
    while time <= until_s + 1e-9:
        feed(core, time, np.zeros(3), gripper_at(time))
        outputs.append(core.step(time))
        time += DT
    return outputs


def test_measured_hold_keeps_the_value_read_at_engagement():
    core = make_core()
    # The gripper drifts while waiting, then is pushed after engagement: the target stays at
    # the reading of the engagement step.
    outputs = run(core, lambda t: -0.2 - 0.1 * t, 2.0)
    modes = [output.mode for output in outputs]
    engaged = modes.index(SafetyMode.INTERPOLATING)
    read_at_engagement = -0.2 - 0.1 * engaged * DT
    for output in outputs[engaged:]:
        np.testing.assert_allclose(output.held_targets, [read_at_engagement], atol=1e-12)
    assert SafetyMode.POLICY in modes


def test_fixed_hold_is_reached_with_the_same_blend_as_the_default_pose():
    core = make_core((HeldJoint('gripper', -1.0, -1.5, 0.0),))
    outputs = run(core, lambda t: -0.2, 1.5)
    start = [output.mode for output in outputs].index(SafetyMode.INTERPOLATING)
    for step, output in enumerate(outputs[start:]):
        if output.mode == SafetyMode.INTERPOLATING:
            blend = minimum_jerk(step * DT / 1.0)
            np.testing.assert_allclose(output.held_targets, [-0.2 + blend * (-1.0 + 0.2)],
                                       atol=1e-9)
        else:
            np.testing.assert_allclose(output.held_targets, [-1.0])


def test_held_targets_follow_the_measurement_in_damping_and_obey_limits():
    core = make_core()
    run(core, lambda t: -0.3, 1.5)
    core.engage_estop(1.6, 'test')
    feed(core, 1.6, np.zeros(3), 0.4)   # above the upper limit 0.0: clamped
    output = core.step(1.6)
    assert output.mode == SafetyMode.DAMPING
    np.testing.assert_allclose(output.held_targets, [0.0])
    feed(core, 1.62, np.zeros(3), -0.7)
    np.testing.assert_allclose(core.step(1.62).held_targets, [-0.7])


def test_no_held_target_before_a_finite_reading_and_nan_keeps_the_last():
    core = make_core()
    assert core.step(0.0).held_targets is None
    core.set_held_joint_positions(np.array([np.nan]))
    assert core.step(0.01).held_targets is None
    core.set_held_joint_positions(np.array([-0.5]))
    core.set_held_joint_positions(np.array([np.nan]))
    np.testing.assert_allclose(core.step(0.02).held_targets, [-0.5])
    with pytest.raises(ValueError, match='2 held joint positions, expected 1'):
        core.set_held_joint_positions(np.zeros(2))


def test_without_held_joints_the_output_is_empty():
    core = make_core(held=())
    assert core.step(0.0).held_targets.shape == (0,)


def test_layout_puts_held_joints_where_the_forward_controller_lists_them():
    joint_map = JointMap(JOINTS, {'hip': 'ns/hip'})
    layout = CommandLayout(joint_map, ['knee', 'ns/hip', 'elbow', 'gripper'], (GRIPPER,))
    output = layout.assemble(np.array([1.0, 2.0, 3.0]), np.array([-0.5]))
    np.testing.assert_allclose(output, [2.0, 1.0, 3.0, -0.5])
    assert layout.held_positions(['gripper', 'knee'], [-0.25, 9.0]).tolist() == [-0.25]


@pytest.mark.parametrize('names, held, problem', [
    (['hip', 'knee', 'elbow'], (GRIPPER,), 'not in the output joint order'),
    (['hip', 'knee', 'elbow'], (HeldJoint('knee', None, -1, 1),), 'are policy joints'),
    (['hip', 'knee', 'elbow', 'gripper'], (), 'unknown joint'),
])
def test_layout_mistakes_are_named(names, held, problem):
    with pytest.raises(JointMapError, match=problem):
        CommandLayout(JointMap(JOINTS), names, held)


def test_held_positions_need_the_joint_in_the_message():
    layout = CommandLayout(JointMap(JOINTS), ['hip', 'knee', 'elbow', 'gripper'], (GRIPPER,))
    with pytest.raises(JointMapError, match='lack held joint'):
        layout.held_positions(['hip', 'knee', 'elbow'], [0.0, 0.0, 0.0])


def test_parse_held_joints_reads_measured_or_a_number():
    held = parse_held_joints(['gripper', 'wrist'], ['measured', '-0.5'], [-1.5, -1.0],
                             [0.0, 1.0])
    assert held == (HeldJoint('gripper', None, -1.5, 0.0), HeldJoint('wrist', -0.5, -1.0, 1.0))
    assert parse_held_joints([], [], [], []) == ()


@pytest.mark.parametrize('args, problem', [
    ((['g'], ['closed'], [-1.0], [0.0]), "neither 'measured' nor a number"),
    ((['g'], ['measured'], [0.0], [-1.0]), 'lower below upper'),
    ((['g'], ['0.5'], [-1.0], [0.0]), 'outside its limits'),
    ((['g'], [], [-1.0], [0.0]), '1 names, 0 holds'),
    ((['g', 'g'], ['measured'] * 2, [-1.0] * 2, [0.0] * 2), 'twice'),
])
def test_parse_held_joints_mistakes_are_named(args, problem):
    with pytest.raises(JointMapError, match=problem):
        parse_held_joints(*args)


def test_forward_controller_mismatch_names_both_lists():
    assert forward_controller_mismatch(['a', 'b'], ['a', 'b'], 'fpc') is None
    message = forward_controller_mismatch(['a', 'b'], ['a', 'b', 'c'], '/fpc')
    assert '/fpc commands joints [a, b, c] (3)' in message
    assert 'profile sends [a, b] (2)' in message
