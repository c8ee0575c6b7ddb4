"""
Odometry in the frame the policy was trained in: body-frame velocity, whatever the driver fills.

Spot's driver puts the body's velocity in the odom frame (twist_frame: odom); the controller
rotates it into the body with the same message's orientation. Odometry has its own watchdog,
and may give the body orientation instead of the IMU (orientation_source: odometry).
"""

import math

from lpn_controller.controller import ControllerConfig, ControllerCore, MissingInputError
from lpn_controller.example_policy import make_example_policy, standard_observation_terms
from lpn_controller.observation import ObservationTerm
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.rotations import rotate_into_body, tilt_angle
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
from lpn_controller.state_inputs import OdometryConfig
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
DT = 0.02
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])


def yawed(radians):
    return np.array([math.cos(radians / 2.0), 0.0, 0.0, math.sin(radians / 2.0)])


def velocity_terms():
    gravity, angular, *rest = standard_observation_terms(len(JOINTS))
    return (gravity, angular, ObservationTerm('base_linear_velocity', 3, 1.0), *rest)


def make_core(odometry, terms=None, supplied=('command', 'odometry'), state_timeout_s=0.05):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=8,
                                            observation_terms=terms or velocity_terms())
    config = ControllerConfig(safety=SafetyConfig(state_timeout_s, 0.8, 0.1),
                              supplied_inputs=supplied, odometry=odometry)
    return ControllerCore(make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact'),
                          metadata.default_pose - 1.0, metadata.default_pose + 1.0, config)


def live_rates(time):
    """Body rates that change every message, as a live IMU's do (a constant one is frozen)."""
    return np.full(3, 1e-6 * time)


def first_policy_step(core, velocity, orientation):
    """Feed until the policy's first step; return its output and the rates it observed."""
    time = 0.0
    while True:
        core.set_joint_state(time, core.metadata.default_pose, np.zeros(3))
        core.set_imu(time, orientation, live_rates(time))
        core.set_odometry(time, velocity, orientation)
        output = core.step(time)
        if output.action is not None:
            return output, live_rates(time)
        time += DT


def action_for(core, linear_velocity, orientation, rates):
    observation = core.builder.build(core.metadata.default_pose, np.zeros(3), orientation,
                                     rates, np.zeros(3), linear_velocity=linear_velocity)
    return core.runtime.act(observation, 0.0)


def test_rotation_into_the_body_frame():
    # Facing +y (yaw 90 deg), moving along odom +y is moving forward.
    np.testing.assert_allclose(rotate_into_body(yawed(math.pi / 2), [0.0, 1.0, 0.0]),
                               [1.0, 0.0, 0.0], atol=1e-12)
    # Any rotation keeps the length; the identity keeps the vector.
    rng = np.random.default_rng(0)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    v = rng.normal(size=3)
    assert np.linalg.norm(rotate_into_body(q, v)) == pytest.approx(np.linalg.norm(v))
    np.testing.assert_allclose(rotate_into_body(UPRIGHT, v), v)


@pytest.mark.parametrize('yaw', [0.0, 0.9, -2.5])
def test_an_odom_frame_twist_reaches_the_policy_in_the_body_frame(yaw):
    body_velocity = np.array([0.5, -0.1, 0.02])
    orientation = yawed(yaw)
    odom_velocity = np.array([
        math.cos(yaw) * body_velocity[0] - math.sin(yaw) * body_velocity[1],
        math.sin(yaw) * body_velocity[0] + math.cos(yaw) * body_velocity[1],
        body_velocity[2]])
    core = make_core(OdometryConfig(twist_frame='odom'))
    output, rates = first_policy_step(core, odom_velocity, orientation)
    np.testing.assert_allclose(output.action,
                               action_for(core, body_velocity, orientation, rates), atol=1e-9)
    if yaw:   # the unrotated twist is another observation (the bug this fixes)
        assert not np.allclose(output.action,
                               action_for(core, odom_velocity, orientation, rates), atol=1e-6)


def test_a_child_frame_twist_is_taken_as_it_is():
    velocity = np.array([0.5, -0.1, 0.02])
    core = make_core(OdometryConfig(twist_frame='child'))
    output, rates = first_policy_step(core, velocity, yawed(1.2))
    np.testing.assert_allclose(output.action, action_for(core, velocity, yawed(1.2), rates),
                               atol=1e-9)


def test_odometry_has_its_own_timeout_apart_from_the_joint_states():
    # Joint states and IMU every step under a 0.05 s watchdog; 50 Hz odometry under 0.1 s.
    core = make_core(OdometryConfig(timeout_s=0.1), state_timeout_s=0.05)
    time = 0.0
    while core.safety.mode != SafetyMode.POLICY:
        core.set_joint_state(time, core.metadata.default_pose, np.zeros(3))
        core.set_imu(time, UPRIGHT, np.full(3, 1e-6 * time))
        core.set_odometry(time, np.zeros(3))
        core.step(time)
        time += DT
    last_odometry = time - DT
    for step in range(6):   # odometry stops; joint states and IMU go on
        core.set_joint_state(time, core.metadata.default_pose, np.zeros(3))
        core.set_imu(time, UPRIGHT, np.full(3, 1e-6 * time))
        output = core.step(time)
        if time - last_odometry <= 0.1 - 1e-9:
            assert output.mode == SafetyMode.POLICY, time - last_odometry
        time += DT
    assert output.mode == SafetyMode.DAMPING
    assert 'stale odometry' in core.safety.reason and 'timeout 0.100 s' in core.safety.reason


def test_the_orientation_may_come_from_the_odometry():
    # An IMU that reports no orientation: gravity, tilt and heading from the odometry pose.
    core = make_core(OdometryConfig(orientation_source='odometry'))
    tilted = np.array([math.cos(0.2), math.sin(0.2), 0.0, 0.0])   # 0.4 rad about x
    time = 0.0
    while core.safety.mode != SafetyMode.POLICY:
        core.set_joint_state(time, core.metadata.default_pose, np.zeros(3))
        core.set_imu(time, None, live_rates(time))
        core.set_odometry(time, np.zeros(3), tilted)
        output = core.step(time)
        time += DT
    np.testing.assert_allclose(output.action,
                               action_for(core, np.zeros(3), tilted, live_rates(time - DT)),
                               atol=1e-9)
    assert core.safety.mode == SafetyMode.POLICY and tilt_angle(tilted) == pytest.approx(0.4)
    # A policy that does not observe the velocity still waits for the odometry then.
    core = make_core(OdometryConfig(orientation_source='odometry'),
                     terms=standard_observation_terms(len(JOINTS)))
    core.set_joint_state(0.0, core.metadata.default_pose, np.zeros(3))
    core.set_imu(0.0, None, np.zeros(3))
    assert core.step(0.0).mode == SafetyMode.WAITING
    assert core.safety.reason == 'no odometry received'


def test_an_imu_without_orientation_is_refused_when_it_is_the_source():
    core = make_core(OdometryConfig())
    core.set_joint_state(0.0, core.metadata.default_pose, np.zeros(3))
    core.set_imu(0.0, None, np.zeros(3))
    core.set_odometry(0.0, np.zeros(3))
    core.step(0.0)
    assert 'IMU orientation: absent' in core.safety.reason


def test_orientation_from_odometry_needs_an_odometry_input():
    with pytest.raises(MissingInputError, match="orientation_source 'odometry'.*odom_topic"):
        make_core(OdometryConfig(orientation_source='odometry'),
                  terms=standard_observation_terms(len(JOINTS)), supplied=('command',))


@pytest.mark.parametrize('settings, words', [
    ({'twist_frame': 'world'}, "twist frame 'world' is not one of child, odom"),
    ({'orientation_source': 'gps'}, "orientation source 'gps' is not one of imu, odometry"),
    ({'timeout_s': 0.0}, 'positive number of seconds'),
    ({'timeout_s': float('nan')}, 'positive number of seconds'),
])
def test_odometry_settings_are_checked(settings, words):
    with pytest.raises(ValueError, match=words):
        OdometryConfig(**settings)
