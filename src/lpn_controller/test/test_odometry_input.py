"""A policy that observes the base linear velocity: odometry in, watched, or the policy refused."""

from lpn_controller.controller import ControllerConfig, ControllerCore, MissingInputError
from lpn_controller.example_policy import make_example_policy, standard_observation_terms
from lpn_controller.observation import ObservationBuilder, ObservationTerm
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.policy_metadata import metadata_from_dict, metadata_to_dict
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])
DT = 0.02
VELOCITY = np.array([0.45, -0.02, 0.01])


def velocity_terms():
    gravity, angular, *rest = standard_observation_terms(len(JOINTS))
    return (gravity, angular, ObservationTerm('base_linear_velocity', 3, 2.0), *rest)


def make_core(supplied_inputs=('command', 'odometry'), terms=None):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=3,
                                            observation_terms=terms or velocity_terms())
    config = ControllerConfig(safety=SafetyConfig(0.1, 0.8, 0.1),
                              supplied_inputs=supplied_inputs)
    return ControllerCore(make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact'),
                          metadata.default_pose - 1.0, metadata.default_pose + 1.0, config)


def feed(core, time, odometry=VELOCITY):
    core.set_joint_state(time, core.metadata.default_pose, np.zeros(3))
    core.set_imu(time, UPRIGHT, np.full(3, 1e-6 * time))   # live: a constant reads as frozen
    if odometry is not None:
        core.set_odometry(time, odometry)


def run(core, seconds, start=0.0, **feed_options):
    time, output = start, None
    while time < start + seconds - 1e-9:
        feed(core, time, **feed_options)
        output = core.step(time)
        time += DT
    return time, output


def test_the_term_round_trips_through_the_metadata():
    metadata, _ = make_example_policy('mlp', JOINTS, observation_terms=velocity_terms())
    again = metadata_from_dict(metadata_to_dict(metadata))
    assert again.observation_terms == metadata.observation_terms
    assert ObservationBuilder(again.observation_terms, again.default_pose).extra_inputs == \
        ('odometry',)


def test_a_controller_without_odometry_refuses_the_policy_naming_the_input():
    with pytest.raises(MissingInputError, match="'base_linear_velocity'.*no odometry input"
                                                '.*odom_topic'):
        make_core(supplied_inputs=('command',))


def test_a_policy_that_does_not_need_odometry_runs_without_it():
    core = make_core(supplied_inputs=(), terms=standard_observation_terms(len(JOINTS)))
    _, output = run(core, 0.5, odometry=None)
    assert output.mode == SafetyMode.POLICY


def test_no_odometry_keeps_the_controller_waiting():
    core = make_core()
    _, output = run(core, 0.5, odometry=None)
    assert output.mode == SafetyMode.WAITING
    assert core.safety.reason == 'no odometry received'


def test_the_policy_acts_on_the_odometry_twist_it_was_given():
    core = make_core()
    time, first = 0.0, None
    while first is None or first.action is None:   # the first policy step, at phase 0
        feed(core, time)
        first = core.step(time)
        time += DT
    assert first.phase == 0.0
    expected = core.builder.build(core.metadata.default_pose, np.zeros(3), UPRIGHT, np.zeros(3),
                                  np.zeros(3), linear_velocity=VELOCITY)
    np.testing.assert_array_equal(expected[core.builder.term_slice('base_linear_velocity')],
                                  2.0 * VELOCITY)
    np.testing.assert_allclose(first.action, core.runtime.act(expected, 0.0))
    other = core.builder.build(core.metadata.default_pose, np.zeros(3), UPRIGHT, np.zeros(3),
                               np.zeros(3), linear_velocity=np.zeros(3))
    assert not np.allclose(first.action, core.runtime.act(other, 0.0))


def test_stale_or_non_finite_odometry_latches_damping():
    core = make_core()
    time, _ = run(core, 0.5)
    assert core.safety.mode == SafetyMode.POLICY
    core.set_joint_state(time + 0.2, core.metadata.default_pose, np.zeros(3))
    core.set_imu(time + 0.2, UPRIGHT, np.full(3, 1e-6))   # odometry stops; the rest is fresh
    output = core.step(time + 0.2)
    assert output.mode == SafetyMode.DAMPING
    assert 'stale odometry' in output.transitions[0].reason

    core = make_core()
    time, _ = run(core, 0.5)
    _, output = run(core, DT, start=time, odometry=np.array([np.nan, 0.0, 0.0]))
    assert output.mode == SafetyMode.DAMPING
