"""The base position observation: the distance moved since the episode started (odometry pose)."""

from lpn_controller.observation import ObservationBuilder, ObservationTerm, position_change
from lpn_controller.rotations import yaw_angle
import numpy as np
import pytest
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv


def make_env(clip='hop', scale=10.0, **options):
    return ImitationEnv(EnvConfig(clip=clip, num_envs=3, seed=5, episode_length_s=2.0,
                                  observe_position_scale=scale, **options))


def moved_since_start(env, origin):
    return position_change(env.sim.read_state().base_position, origin)


def test_position_change_is_in_the_starting_heading_frame():
    # Facing +y (yaw 90 deg) and moving +y by 0.3 m is 0.3 m along the heading, 0 across.
    origin = np.array([1.0, 2.0, np.pi / 2])
    np.testing.assert_allclose(position_change([1.0, 2.3, 0.5], origin), [0.3, 0.0], atol=1e-12)
    # Moving -x while facing +y is to the left: positive across.
    np.testing.assert_allclose(position_change([0.8, 2.0, 0.5], origin), [0.0, 0.2],
                               atol=1e-12)


def test_builder_asks_for_the_position_when_the_layout_has_it():
    builder = ObservationBuilder([ObservationTerm('base_position', 2, 10.0)], np.zeros(3))
    assert builder.uses_position and builder.extra_inputs == ('odometry',)
    with pytest.raises(ValueError, match='base_position'):
        builder.build(np.zeros(3), np.zeros(3), np.array([1.0, 0, 0, 0]), np.zeros(3),
                      np.zeros(3))
    value = builder.build(np.zeros(3), np.zeros(3), np.array([1.0, 0, 0, 0]), np.zeros(3),
                          np.zeros(3), position=[0.1, -0.05, 0.4], position_origin=np.zeros(3))
    np.testing.assert_allclose(value, [1.0, -0.5])


def test_the_optional_inputs_are_off_by_default_and_the_layout_is_unchanged():
    env = ImitationEnv(EnvConfig(clip='hop', num_envs=1))
    try:
        names = [term.name for term in env.observation_terms]
        assert not {'base_linear_velocity', 'heading', 'base_position'} & set(names)
        assert names == ['projected_gravity', 'base_angular_velocity', 'joint_positions',
                         'joint_velocities', 'previous_action']
    finally:
        env.close()


def test_the_term_is_last_and_counts_from_each_episode_start():
    env = make_env()
    try:
        assert env.observation_terms[-1].name == 'base_position'
        observations, _ = env.reset()
        seen = env.builder.term_slice('base_position')
        np.testing.assert_allclose(observations[:, seen], 0.0, atol=1e-12)
        state = env.sim.read_state()
        np.testing.assert_allclose(env.position.position_origin[:, 2],
                                   yaw_angle(state.base_orientation), atol=1e-12)
        origin = env.position.position_origin.copy()
        for _ in range(20):
            result = env.step(np.zeros((3, env.num_actions)))
        moved = moved_since_start(env, origin)
        assert np.abs(moved).max() > 1e-4   # the robot did move
        np.testing.assert_allclose(result.observations[:, seen], 10.0 * moved, atol=1e-9)
    finally:
        env.close()


def test_the_position_is_as_late_as_the_odometry():
    tree = {'observation_latency': {'enabled': True, 'joint_state_steps': [0, 0],
                                    'imu_steps': [0, 0], 'odometry_steps': [2, 2],
                                    'odometry_rate_hz': 1000.0}}
    env = ImitationEnv(config_from_dict({'env': {
        'clip': 'hop', 'num_envs': 3, 'seed': 5, 'episode_length_s': 2.0,
        'observe_position_scale': 10.0, 'domain_randomization': tree}}).env)
    try:
        env.reset()
        origin = env.position.position_origin.copy()
        history = []
        for _ in range(6):
            result = env.step(np.zeros((3, env.num_actions)))
            history.append(moved_since_start(env, origin))
        seen = result.observations[:, env.builder.term_slice('base_position')]
        np.testing.assert_allclose(seen, 10.0 * history[-3], atol=1e-9)
    finally:
        env.close()


def test_a_clip_that_travels_is_refused():
    with pytest.raises(ValueError, match='hold their place'):
        make_env(clip='trot')
