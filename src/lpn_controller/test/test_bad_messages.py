"""
Nothing a driver sends kills the controller: each bad message is converted, rejected and named.

Fake messages carry the ROS field names (as rclpy's do); each goes through the node's conversion
(message_fields) and then the controller core, exactly as the node's callbacks do. Before
engagement a bad message keeps the controller waiting, with the reason; under the policy it
latches damping, with the reason; a good message afterwards lets it start again.
"""

import math
from types import SimpleNamespace

from lpn_controller.controller import ControllerConfig, ControllerCore
from lpn_controller.example_policy import make_example_policy, standard_observation_terms
from lpn_controller.message_fields import (
    command_fields, imu_fields, joint_state_fields, odometry_fields)
from lpn_controller.observation import ObservationTerm
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
from lpn_controller.state_inputs import InvalidInput, OdometryConfig
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
DT = 0.02
NO_ORIENTATION = [-1.0] + [0.0] * 8


def quaternion(w=1.0, x=0.0, y=0.0, z=0.0):
    return SimpleNamespace(x=x, y=y, z=z, w=w)


def vector(x=0.0, y=0.0, z=0.0):
    return SimpleNamespace(x=x, y=y, z=z)


def imu_message(time=0.0, orientation=None, covariance=None, rates=None):
    # Rates that change every message, as a live IMU's do (a constant one reads as frozen).
    return SimpleNamespace(
        orientation=orientation or quaternion(),
        orientation_covariance=covariance or [0.0] * 9,
        angular_velocity=rates or vector(0.01 + 1e-6 * time, -0.02, 0.03))


def joint_message(names=JOINTS, positions=None, velocities=None):
    positions = [0.0] * len(names) if positions is None else positions
    velocities = [0.0] * len(names) if velocities is None else velocities
    return SimpleNamespace(name=list(names), position=list(positions),
                           velocity=list(velocities))


def odometry_message(linear=None, orientation=None, position=None):
    return SimpleNamespace(twist=SimpleNamespace(twist=SimpleNamespace(linear=linear or vector())),
                           pose=SimpleNamespace(pose=SimpleNamespace(
                               orientation=orientation or quaternion(),
                               position=position or vector())))


def yawed(radians):
    return quaternion(w=math.cos(radians / 2.0), z=math.sin(radians / 2.0))


def velocity_terms():
    gravity, angular, *rest = standard_observation_terms(len(JOINTS))
    return (gravity, angular, ObservationTerm('base_linear_velocity', 3, 2.0), *rest)


def position_terms():
    return (*standard_observation_terms(len(JOINTS)), ObservationTerm('base_position', 2, 10.0))


def make_core(odometry=OdometryConfig(), terms=None, supplied=('command', 'odometry'),
              state_timeout_s=0.1):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=5,
                                            observation_terms=terms)
    config = ControllerConfig(safety=SafetyConfig(state_timeout_s, 0.8, 0.1),
                              supplied_inputs=supplied, odometry=odometry)
    return ControllerCore(make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact'),
                          metadata.default_pose - 1.0, metadata.default_pose + 1.0, config)


def deliver(core, time, source, message):
    """Do what the node's callback does with ``message``: convert, hand over or reject."""
    try:
        if source == 'joint states':
            names, positions, velocities = joint_state_fields(message)
            core.set_joint_state(time, positions, velocities)   # names in policy order here
        elif source == 'IMU':
            core.set_imu(time, *imu_fields(message))
        elif source == 'odometry':
            core.set_odometry(time, *odometry_fields(message))
        else:
            core.set_command(command_fields(message))
    except ValueError as error:   # InvalidInput, a wrong-length command
        core.reject_message(source, str(error))


def feed_good(core, time, odometry=None, imu=None):
    deliver(core, time, 'joint states',
            joint_message(positions=core.metadata.default_pose.tolist()))
    deliver(core, time, 'IMU', imu or imu_message(time))
    if core.reads_odometry:
        deliver(core, time, 'odometry', odometry or odometry_message())


def run(core, seconds, start=0.0, **options):
    time, output = start, None
    while time < start + seconds - 1e-9:
        feed_good(core, time, **options)
        output = core.step(time)
        time += DT
    return time, output


BAD_IMU = {
    'zero quaternion': (imu_message(orientation=quaternion(0.0, 0.0, 0.0, 0.0)), 'all zeros'),
    'NaN quaternion': (imu_message(orientation=quaternion(float('nan'))), 'NaN or inf'),
    'inf quaternion': (imu_message(orientation=quaternion(1.0, float('inf'))), 'NaN or inf'),
    'non-unit quaternion': (imu_message(orientation=quaternion(2.0)), 'norm 2 is not 1'),
    'absent orientation': (imu_message(covariance=NO_ORIENTATION), 'orientation_covariance'),
    'NaN rates': (imu_message(rates=vector(float('nan'))), 'IMU angular velocity'),
    'orientation not numbers': (imu_message(orientation=quaternion('up')), 'not a list of'),
    'orientation unset (None)': (imu_message(orientation=quaternion(None)), 'NaN or inf'),
}
BAD_JOINT_STATES = {
    'no names': (joint_message(names=(), positions=[], velocities=[]), 'no joint names'),
    'name twice': (joint_message(names=('hip', 'hip', 'elbow')), 'listed twice: hip'),
    'name not text': (joint_message(names=('hip', 3, 'elbow')), 'not text'),
    'positions short': (joint_message(positions=[0.0, 0.0]), 'position: 2 values'),
    'velocities short': (joint_message(velocities=[0.0]), 'velocity: 1 values'),
    'positions not numbers': (joint_message(positions=['a', 0.0, 0.0]), 'not a list of'),
}
BAD_ODOMETRY = {
    'NaN twist': (odometry_message(linear=vector(float('nan'))), 'NaN or inf'),
    'zero orientation': (odometry_message(orientation=quaternion(0.0)), 'all zeros'),
    'NaN orientation': (odometry_message(orientation=quaternion(1.0, float('nan'))),
                        'NaN or inf'),
    'twist not numbers': (odometry_message(linear=vector('fast')), 'not a list of'),
}


@pytest.mark.parametrize('case', sorted(BAD_IMU))
def test_a_bad_imu_message_keeps_the_controller_waiting_then_damps_it(case):
    message, words = BAD_IMU[case]
    core = make_core()
    deliver(core, 0.0, 'joint states', joint_message(positions=core.metadata.default_pose))
    deliver(core, 0.0, 'IMU', message)
    output = core.step(0.0)
    assert output.mode == SafetyMode.WAITING
    assert core.safety.reason.startswith('IMU message rejected') and words in core.safety.reason

    core = make_core()
    time, output = run(core, 0.3)
    assert output.mode == SafetyMode.POLICY
    deliver(core, time, 'IMU', message)
    output = core.step(time)
    assert output.mode == SafetyMode.DAMPING and words in output.transitions[0].reason
    assert np.all(np.isfinite(output.joint_targets))
    # Latched until reset; then good messages start it again.
    time, output = run(core, 0.1, start=time + DT)
    assert output.mode == SafetyMode.DAMPING
    core.reset_estop(time)
    _, output = run(core, 0.3, start=time)
    assert output.mode == SafetyMode.POLICY


def test_a_zero_imu_quaternion_no_longer_divides_by_zero():
    core = make_core()
    with np.errstate(all='raise'):   # a division by zero anywhere would raise here
        deliver(core, 0.0, 'IMU', BAD_IMU['zero quaternion'][0])
        core.step(0.0)
    assert 'all zeros' in core.safety.reason


@pytest.mark.parametrize('case', sorted(BAD_JOINT_STATES))
def test_a_malformed_joint_state_is_rejected_by_the_conversion(case):
    message, words = BAD_JOINT_STATES[case]
    with pytest.raises(InvalidInput, match=words):
        joint_state_fields(message)
    core = make_core()
    time, _ = run(core, 0.3)
    deliver(core, time, 'joint states', message)
    output = core.step(time)
    assert output.mode == SafetyMode.DAMPING
    assert output.transitions[0].reason.startswith('joint states message rejected')


def test_the_core_rejects_joint_arrays_of_the_wrong_length_and_names_nan():
    core = make_core()
    time, _ = run(core, 0.3)
    core.set_joint_state(time, np.zeros(4), np.zeros(3))
    output = core.step(time)
    assert output.mode == SafetyMode.DAMPING
    assert 'joint positions: 4 values, expected 3' in output.transitions[0].reason

    core = make_core()
    time, _ = run(core, 0.3)
    core.set_joint_state(time, core.metadata.default_pose, np.array([0.0, np.nan, 0.0]))
    output = core.step(time)
    assert output.transitions[0].reason == 'NaN or inf in the joint velocities'
    core = make_core()
    core.set_joint_state(0.0, core.metadata.default_pose, None)   # a driver without velocities
    deliver(core, 0.0, 'IMU', imu_message())
    assert core.step(0.0).mode == SafetyMode.WAITING
    assert core.safety.reason == 'NaN or inf in the joint velocities'


def test_empty_velocities_read_as_unknown_not_as_an_error():
    names, positions, velocities = joint_state_fields(joint_message(velocities=[]))
    assert names == list(JOINTS) and velocities is None
    np.testing.assert_array_equal(positions, np.zeros(3))


BAD_POSITION = {
    'NaN position': (odometry_message(position=vector(float('nan'))), 'NaN or inf'),
    'position not numbers': (odometry_message(position=vector('here')), 'not a list of'),
    'zero orientation': (odometry_message(orientation=quaternion(0.0)), 'all zeros'),
}


def test_the_position_counts_from_engagement_in_the_heading_then():
    core = make_core(terms=position_terms())
    start = odometry_message(orientation=yawed(math.pi / 2), position=vector(1.0, 2.0, 0.5))
    time, output = run(core, 0.3, odometry=start)
    assert output.mode == SafetyMode.POLICY
    seen = core.builder.term_slice('base_position')
    captured = []
    core.runtime.act = lambda observation, phase: captured.append(observation.copy()) or \
        np.zeros(len(JOINTS))
    # Facing +y at engagement: moving +y is along the heading, moving -x is to the left.
    moved = odometry_message(orientation=yawed(math.pi / 2), position=vector(0.9, 2.3, 0.5))
    feed_good(core, time, odometry=moved)
    core.step(time)
    np.testing.assert_allclose(captured[-1][seen], [3.0, 1.0], atol=1e-9)


# Who reads the odometry: a policy observing the twist (given in the odom frame, so the pose's
# orientation is read too) and one observing its position (the pose's position and yaw).
ODOMETRY_READERS = {
    'twist': (lambda: make_core(OdometryConfig(twist_frame='odom'), terms=velocity_terms()),
              BAD_ODOMETRY),
    'position': (lambda: make_core(terms=position_terms()), BAD_POSITION),
}


@pytest.mark.parametrize('reader, case', [(reader, case)
                                          for reader, (_, cases) in ODOMETRY_READERS.items()
                                          for case in sorted(cases)])
def test_a_bad_odometry_message_damps_the_policy(reader, case):
    make, cases = ODOMETRY_READERS[reader]
    message, words = cases[case]
    core = make()
    time, output = run(core, 0.3)
    assert output.mode == SafetyMode.POLICY
    deliver(core, time, 'odometry', message)
    output = core.step(time)
    assert output.mode == SafetyMode.DAMPING
    assert output.transitions[0].reason.startswith('odometry message rejected')
    assert words in output.transitions[0].reason


def test_odometry_orientation_is_not_read_when_nothing_needs_it():
    core = make_core(terms=velocity_terms())   # twist in the body frame, orientation from IMU
    _, output = run(core, 0.3, odometry=odometry_message(orientation=quaternion(0.0)))
    assert output.mode == SafetyMode.POLICY


def test_bad_commands_are_rejected_not_raised():
    terms = standard_observation_terms(len(JOINTS)) + (ObservationTerm('command', 2),)
    for data, words in (([1.0], 'command has 1 values'), ([1.0, float('nan')], 'NaN or inf'),
                        (['x', 1.0], 'not a list of')):
        core = make_core(terms=terms, supplied=('command',))
        deliver(core, 0.0, 'command', SimpleNamespace(data=[0.0, 0.0]))
        time, output = run(core, 0.3)
        assert output.mode == SafetyMode.POLICY
        deliver(core, time, 'command', SimpleNamespace(data=data))
        output = core.step(time)
        assert output.mode == SafetyMode.DAMPING and words in output.transitions[0].reason
    with pytest.raises(InvalidInput):
        command_fields(SimpleNamespace(data=[[1.0], [2.0]]))


def test_conversions_read_the_ros_fields():
    orientation, rates = imu_fields(imu_message(orientation=quaternion(0.9, 0.1, 0.2, 0.3)))
    np.testing.assert_array_equal(orientation, [0.9, 0.1, 0.2, 0.3])
    assert imu_fields(imu_message(covariance=NO_ORIENTATION))[0] is None
    velocity, pose, position = odometry_fields(odometry_message(
        vector(1.0, 2.0, 3.0), yawed(0.5), vector(4.0, 5.0, 0.6)))
    np.testing.assert_array_equal(velocity, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(pose, [math.cos(0.25), 0.0, 0.0, math.sin(0.25)])
    np.testing.assert_array_equal(position, [4.0, 5.0, 0.6])
