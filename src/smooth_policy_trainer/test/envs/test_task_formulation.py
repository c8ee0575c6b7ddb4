"""The task formulation's world-frame terms: heading observed, root position scored, drift ends."""

import dataclasses

from lpn_controller.example_policy import make_example_policy
from lpn_controller.observation import ObservationBuilder
from lpn_controller.policy_metadata import metadata_from_dict, metadata_to_dict
from lpn_controller.rotations import rotate_into_body, yaw_angle
import numpy as np
import pytest
from smooth_policy_trainer.config.env_config import EnvConfig, LinearVelocityObservation
from smooth_policy_trainer.envs.imitation_env import ImitationEnv


def make_env(num_envs=2, seed=3, **overrides):
    velocity = LinearVelocityObservation(enabled=True, noise=0.0, bias=0.0, max_latency_steps=0)
    return ImitationEnv(EnvConfig(clip='trot', num_envs=num_envs, seed=seed,
                                  episode_length_s=2.0, base_linear_velocity=velocity,
                                  observe_heading=True, **overrides))


def heading_of(env, observations):
    return observations[:, env.builder.term_slice('heading')][:, 0]


def test_heading_starts_at_zero_and_follows_the_imu_yaw():
    env = make_env()
    try:
        observations, _ = env.reset()
        np.testing.assert_allclose(heading_of(env, observations), 0.0, atol=1e-12)
        for _ in range(15):
            result = env.step(np.full((2, 18), 0.3))
        state = env.sim.read_state()
        turned = yaw_angle(state.imu_orientation) - env.heading.heading_origin
        np.testing.assert_allclose(heading_of(env, result.observations), turned, atol=1e-12)
        assert np.all(np.abs(turned) > 1e-6)
    finally:
        env.close()


def test_env_and_controller_build_the_same_observation_from_the_same_state():
    """Layout through the metadata; the origin is the IMU yaw when the episode began."""
    env = make_env(num_envs=1)
    try:
        env.reset()
        origin = float(yaw_angle(env.sim.read_state().imu_orientation[0]))
        for _ in range(5):
            result = env.step(np.full((1, 18), 0.1))
        task = env.policy_metadata()
        metadata, _ = make_example_policy('lpn', task['joint_names'],
                                          observation_terms=task['observation_terms'])
        metadata = metadata_from_dict(metadata_to_dict(dataclasses.replace(
            metadata, default_pose=task['default_pose'])))
        assert [term.name for term in metadata.observation_terms][2:4] == [
            'base_linear_velocity', 'heading']
        state = env.sim.read_state()
        controller_side = ObservationBuilder(metadata.observation_terms,
                                             metadata.default_pose).build(
            state.joint_positions[0], state.joint_velocities[0], state.imu_orientation[0],
            state.imu_angular_velocity[0], env.actions.previous_action[0],
            linear_velocity=rotate_into_body(state.base_orientation[0],
                                             state.base_linear_velocity[0]),
            heading_origin=origin)
        np.testing.assert_allclose(controller_side, result.observations[0], rtol=1e-12,
                                   atol=1e-12)
    finally:
        env.close()


def test_resume_keeps_each_episodes_heading_origin():
    first, second = make_env(seed=2), make_env(seed=9)
    try:
        first.reset()
        second.reset()
        actions = np.random.default_rng(0).normal(0.0, 0.3, (20, 2, 18))
        for a in actions[:10]:
            first.step(a)
        second.set_state(first.get_state())
        np.testing.assert_array_equal(second.heading.heading_origin, first.heading.heading_origin)
        for a in actions[10:]:
            np.testing.assert_array_equal(first.step(a).observations,
                                          second.step(a).observations)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize('max_root_drift, ends', [(0.5, True), (0.0, False)])
def test_root_drift_ends_the_episode_only_when_set(max_root_drift, ends):
    env = make_env(num_envs=1, max_root_drift=max_root_drift)
    try:
        env.reset()
        reference = env.clip.sample(env.absolute_phase())
        sim = env.sim.envs[0]
        # The same pose, one metre to the side of the reference root.
        sim.reset_to_pose(reference.root_position[0] + [0.0, 1.0, 0.0],
                          reference.root_orientation[0], reference.joint_positions[0],
                          reference.root_linear_velocity[0], reference.root_angular_velocity[0],
                          reference.joint_velocities[0])
        result = env.step(np.zeros((1, 18)))
        assert bool(result.terminated[0]) == ends
    finally:
        env.close()
