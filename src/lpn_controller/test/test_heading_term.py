"""The heading term: the yaw turned since the policy started, on the controller's side."""

from lpn_controller.controller import ControllerConfig, ControllerCore
from lpn_controller.example_policy import make_example_policy
from lpn_controller.observation import (heading_change, ObservationBuilder, ObservationTerm,
                                        yaw_angle)
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.policy_metadata import (metadata_from_dict, metadata_to_dict,
                                            PolicyFormatError)
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
TERMS = (ObservationTerm('projected_gravity', 3), ObservationTerm('heading', 1, 2.0),
         ObservationTerm('joint_positions', 3), ObservationTerm('previous_action', 3))


def yawed(degrees):
    half = np.radians(degrees) / 2.0
    return np.array([np.cos(half), 0.0, 0.0, np.sin(half)])


def test_yaw_and_heading_change_wrap_into_minus_pi_pi():
    assert yaw_angle(yawed(30.0)) == pytest.approx(np.radians(30.0))
    # Unnormalised quaternions give the same yaw (integrators drift off the unit sphere).
    assert yaw_angle(3.0 * yawed(-100.0)) == pytest.approx(np.radians(-100.0))
    turned = heading_change(yawed(170.0), np.radians(-170.0))
    assert turned == pytest.approx(np.radians(-20.0))
    batch = heading_change(np.stack([yawed(10.0), yawed(-10.0)]), np.zeros(2))
    np.testing.assert_allclose(batch, np.radians([10.0, -10.0]))


def test_builder_scales_the_heading_and_needs_its_origin():
    builder = ObservationBuilder(TERMS, np.zeros(3))
    observation = builder.build(np.zeros(3), np.zeros(3), yawed(25.0), np.zeros(3), np.zeros(3),
                                heading_origin=np.radians(5.0))
    assert observation[builder.term_slice('heading')][0] == pytest.approx(2.0 * np.radians(20.0))
    with pytest.raises(ValueError, match="needs 'heading'"):
        builder.build(np.zeros(3), np.zeros(3), yawed(25.0), np.zeros(3), np.zeros(3))


def test_the_heading_term_round_trips_through_the_metadata():
    metadata, _ = make_example_policy('lpn', JOINTS, observation_terms=TERMS)
    again = metadata_from_dict(metadata_to_dict(metadata))
    assert again.observation_terms == TERMS
    data = metadata_to_dict(metadata)
    data['observation']['terms'][1]['size'] = 3
    with pytest.raises(PolicyFormatError, match="'heading' must have size 1"):
        metadata_from_dict(data)


def test_the_controller_counts_heading_from_engagement():
    """A robot engaged facing 40 deg and turned to 55 deg observes 15 deg."""
    metadata, weights = make_example_policy('lpn', JOINTS, seed=3, observation_terms=TERMS)
    core = ControllerCore(make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact'),
                          metadata.default_pose - 1.0, metadata.default_pose + 1.0,
                          ControllerConfig(safety=SafetyConfig(0.1, 0.8, 1.0)))
    positions = metadata.default_pose.copy()

    def feed(time, degrees):
        core.set_joint_state(time, positions, np.zeros(3))
        core.set_imu(time, yawed(degrees), np.array([0.0, 0.0, 1e-3 * time]))
        return core.step(time)

    time = 0.0
    first = feed(time, 40.0)
    while first.mode != SafetyMode.POLICY:
        time += 0.02
        first = feed(time, 40.0)
    time += 0.02
    second = feed(time, 55.0)

    def action_seen_from(origin_degrees):
        observation = core.builder.build(positions, np.zeros(3), yawed(55.0),
                                         np.array([0.0, 0.0, 1e-3 * time]), first.action,
                                         heading_origin=np.radians(origin_degrees))
        return core.runtime.act(observation, second.phase)

    np.testing.assert_allclose(second.action, action_seen_from(40.0), rtol=1e-12, atol=1e-12)
    assert not np.allclose(second.action, action_seen_from(0.0))
