"""The base linear velocity observation: the true body-frame velocity seen as odometry would."""

import dataclasses

from lpn_controller.example_policy import make_example_policy
from lpn_controller.observation import ObservationBuilder
from lpn_controller.policy_metadata import metadata_from_dict, metadata_to_dict
from lpn_controller.rotations import rotate_into_body
import numpy as np
import pytest
from smooth_policy_trainer.config.env_config import EnvConfig, LinearVelocityObservation
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv


def make_env(num_envs=3, seed=4, **velocity):
    spec = LinearVelocityObservation(enabled=True, **velocity)
    return ImitationEnv(EnvConfig(clip='trot', num_envs=num_envs, seed=seed,
                                  episode_length_s=2.0, base_linear_velocity=spec))


def true_body_velocity(env):
    state = env.sim.read_state()
    return rotate_into_body(state.base_orientation, state.base_linear_velocity)


def velocity_slice(env, observations):
    return observations[:, env.builder.term_slice('base_linear_velocity')]


def test_without_noise_bias_or_delay_it_is_the_true_body_frame_velocity_scaled():
    env = make_env(noise=0.0, bias=0.0, max_latency_steps=0, scale=2.0)
    try:
        env.reset()
        for _ in range(5):
            result = env.step(np.zeros((3, 18)))
        np.testing.assert_allclose(velocity_slice(env, result.observations),
                                   2.0 * true_body_velocity(env), rtol=1e-12, atol=1e-12)
    finally:
        env.close()


def test_bias_is_fixed_per_episode_and_delay_is_whole_steps():
    env = make_env(noise=0.0, bias=0.05, max_latency_steps=2)
    try:
        env.reset()
        truth, seen = [], []
        for _ in range(8):
            result = env.step(np.zeros((3, 18)))
            truth.append(true_body_velocity(env))
            seen.append(velocity_slice(env, result.observations))
        truth, seen = np.array(truth), np.array(seen)
        odometry = env.odometry
        assert np.all(np.abs(odometry.velocity_bias) <= 0.05)
        assert len({tuple(row) for row in odometry.velocity_bias}) == 3   # drawn per environment
        for i, latency in enumerate(env.odometry.velocity_latency):
            delayed = truth[2 - latency:8 - latency, i]
            np.testing.assert_allclose(seen[2:, i], delayed + env.odometry.velocity_bias[i],
                                       rtol=1e-12, atol=1e-12)
    finally:
        env.close()


def test_noise_is_bounded_and_drawn_every_step():
    env = make_env(num_envs=2, noise=0.05, bias=0.0, max_latency_steps=0)
    try:
        env.reset()
        errors = []
        for _ in range(20):
            result = env.step(np.zeros((2, 18)))
            errors.append(velocity_slice(env, result.observations) - true_body_velocity(env))
        errors = np.array(errors)
        assert np.all(np.abs(errors) <= 0.05 + 1e-12)
        assert errors.std() > 0.01
    finally:
        env.close()


def test_env_and_controller_build_the_same_observation_from_the_same_state():
    """The layout goes through the policy metadata; the twist is what /odom carries."""
    env = make_env(num_envs=1, noise=0.0, bias=0.0, max_latency_steps=0)
    try:
        env.reset()
        result = env.step(np.full((1, 18), 0.1))
        task = env.policy_metadata()
        metadata, _ = make_example_policy('mlp', task['joint_names'],
                                          observation_terms=task['observation_terms'])
        metadata = metadata_from_dict(metadata_to_dict(dataclasses.replace(
            metadata, default_pose=task['default_pose'])))
        state = env.sim.read_state()
        odometry_twist = rotate_into_body(state.base_orientation[0],
                                          state.base_linear_velocity[0])
        controller_side = ObservationBuilder(metadata.observation_terms,
                                             metadata.default_pose).build(
            state.joint_positions[0], state.joint_velocities[0], state.imu_orientation[0],
            state.imu_angular_velocity[0], env.actions.previous_action[0],
            linear_velocity=odometry_twist)
        np.testing.assert_allclose(controller_side, result.observations[0], rtol=1e-12,
                                   atol=1e-12)
    finally:
        env.close()


def test_resume_continues_the_estimate_exactly():
    first, second = make_env(seed=2), make_env(seed=9)
    try:
        first.reset()
        second.reset()
        actions = np.random.default_rng(0).normal(0.0, 0.3, (20, 3, 18))
        for a in actions[:10]:
            first.step(a)
        observations, _ = second.set_state(first.get_state())
        np.testing.assert_array_equal(observations, first._observe())
        for a in actions[10:]:
            np.testing.assert_array_equal(first.step(a).observations,
                                          second.step(a).observations)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize('key, value', [('noise', -0.1), ('bias', -1.0),
                                        ('max_latency_steps', -1), ('scale', 0.0)])
def test_bad_settings_name_their_key(key, value):
    with pytest.raises(ConfigError, match=f'env.base_linear_velocity.{key}'):
        config_from_dict({'env': {'base_linear_velocity': {key: value}}})
