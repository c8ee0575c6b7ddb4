"""Latency, odometry sample-and-hold, noise, pushes and action latency in the training env."""

import numpy as np
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.sensor_delay import perturb_quaternion, SensorDelay

STEPS = 12


def make_env(groups, num_envs=2, **env):
    tree = {name: {'enabled': True, **values} for name, values in groups.items()}
    config = config_from_dict({'env': {'clip': 'trot', 'num_envs': num_envs, 'seed': 1,
                                       'domain_randomization': tree, **env}}).env
    return ImitationEnv(config)


def roll(env, steps=STEPS, actions=None):
    """Step with small actions; return the observations and the true states after each step."""
    observations, states = [env.reset()[0]], [env.sim.read_state()]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = rng.normal(0.0, 0.2, (env.num_envs, env.num_actions)) if actions is None \
            else actions
        result = env.step(action)
        assert not (result.terminated | result.truncated).any()
        observations.append(result.observations)
        states.append(env.sim.read_state())
    return np.array(observations), states


def test_each_sensor_is_observed_its_stated_steps_late():
    env = make_env({'observation_latency': {'joint_state_steps': [2, 2], 'imu_steps': [1, 1],
                                            'odometry_steps': [0, 0]}})
    try:
        n = env.num_actions
        observations, states = roll(env)
        for t in range(2, STEPS + 1):
            joints = observations[t][:, 6:6 + n] + env.default_pose
            np.testing.assert_allclose(joints, states[t - 2].joint_positions, atol=1e-12)
            gyro = observations[t][:, 3:6] / env.config.angular_velocity_scale
            np.testing.assert_allclose(gyro, states[t - 1].imu_angular_velocity, atol=1e-12)
        # Not what the robot reads now.
        assert not np.allclose(observations[STEPS][:, 6:6 + n] + env.default_pose,
                               states[STEPS].joint_positions)
    finally:
        env.close()


def test_odometry_is_held_at_its_rate_then_delayed():
    # 10 Hz odometry under 50 Hz control: a new sample every 5 steps.
    env = make_env({'observation_latency': {'joint_state_steps': [0, 0], 'imu_steps': [0, 0],
                                            'odometry_steps': [1, 1], 'odometry_rate_hz': 10.0}},
                   base_linear_velocity={'enabled': True, 'noise': 0.0, 'bias': 0.0,
                                         'max_latency_steps': 0})
    try:
        observations, _ = roll(env, steps=20)
        velocity = observations[:, :, 6:9]   # after gravity and angular velocity
        for env_id in range(env.num_envs):
            changes = np.flatnonzero(np.any(np.diff(velocity[:, env_id], axis=0) != 0, axis=1))
            assert len(changes) >= 3
            np.testing.assert_array_equal(np.diff(changes), 5)
    finally:
        env.close()


def test_sensor_delay_holds_and_delays_by_hand():
    delay = SensorDelay(1, {'odometry': 1}, odometry_period_steps=3.0)
    zeros = {'joint_positions': np.zeros((1, 2)), 'joint_velocities': np.zeros((1, 2)),
             'imu_orientation': np.array([[1.0, 0, 0, 0]]),
             'imu_angular_velocity': np.zeros((1, 3))}
    delay.reset([0], {**zeros, 'linear_velocity': np.zeros((1, 3)),
                      'base_position': np.zeros((1, 3))},
                {'joint_states': [0], 'imu': [0], 'odometry': [1]}, [0.0])
    seen, seen_position = [], []
    for step in range(1, 10):
        delay.record({**zeros, 'linear_velocity': np.full((1, 3), float(step)),
                      'base_position': np.full((1, 3), -float(step))})
        seen.append(delay.observe()['linear_velocity'][0, 0])
        seen_position.append(delay.observe()['base_position'][0, 0])
    # Sampled at steps 3, 6, 9 and held; observed one step later. The pose with the twist.
    assert seen == [0, 0, 0, 3, 3, 3, 6, 6, 6]
    assert seen_position == [-value for value in seen]


def test_observation_noise_stays_in_its_bounds():
    env = make_env({'observation_noise': {'joint_position_rad': 0.02,
                                          'angular_velocity_rad_s': 0.0}})
    try:
        n = env.num_actions
        observations, states = roll(env, steps=5)
        for t in range(1, 6):
            error = observations[t][:, 6:6 + n] + env.default_pose - states[t].joint_positions
            assert np.abs(error).max() <= 0.02 + 1e-12 and np.abs(error).max() > 0
            gyro = observations[t][:, 3:6] / env.config.angular_velocity_scale
            np.testing.assert_allclose(gyro, states[t].imu_angular_velocity, atol=1e-12)
    finally:
        env.close()


def test_a_small_rotation_stays_a_unit_quaternion_at_its_angle():
    q = np.array([[np.cos(0.3), 0.0, 0.0, np.sin(0.3)]])
    turned = perturb_quaternion(q, np.array([[0.0, 0.02, 0.0]]))
    assert abs(np.linalg.norm(turned) - 1.0) < 1e-12
    angle = 2 * np.arccos(min(1.0, abs(float((q * turned).sum()))))
    assert abs(angle - 0.02) < 1e-4


def test_a_push_changes_the_base_velocity_by_its_drawn_amount():
    env = make_env({'pushes': {'interval_s': [0.1, 0.1], 'max_velocity_m_s': 1.0}})
    seen = []
    step = env.sim.step

    def recording_step(*args, **kwargs):   # the state the physics starts from
        seen.append(env.sim.read_state().base_linear_velocity)
        return step(*args, **kwargs)
    env.sim.step = recording_step
    try:
        env.reset()
        before = None
        for t in range(5):   # 0.1 s is 5 control steps: the push comes with the fifth
            if t == 4:
                before = env.sim.read_state().base_linear_velocity
            env.step(np.zeros((env.num_envs, env.num_actions)))
        np.testing.assert_array_equal(env.randomizer.pushes, 1)
        push = env.randomizer.last_push
        assert np.all(np.linalg.norm(push, axis=1) > 0)
        np.testing.assert_allclose(seen[-1] - before, push, atol=1e-9)
    finally:
        env.close()


def test_action_latency_of_one_control_step_applies_the_previous_action():
    env = make_env({'action_latency': {'seconds': [0.02, 0.02]}}, num_envs=1)
    try:
        env.reset()
        start = env.sim.envs[0].joint_targets
        first, second = np.full((1, 18), 0.1), np.full((1, 18), -0.1)
        env.step(first)
        np.testing.assert_allclose(env.sim.envs[0].joint_targets, start, atol=1e-12)
        env.step(second)
        limits = env.sim.envs[0].joint_limits
        expected = np.clip(env.default_pose + env.config.action_scale * first[0],
                           limits[:, 0], limits[:, 1])
        np.testing.assert_allclose(env.sim.envs[0].joint_targets, expected, atol=1e-12)
    finally:
        env.close()


def test_a_saved_state_continues_exactly_with_everything_randomised():
    groups = {'mass': {}, 'friction': {}, 'actuators': {}, 'foot_contact': {},
              'action_latency': {}, 'observation_latency': {}, 'observation_noise': {},
              'pushes': {'interval_s': [0.1, 0.3]}}
    first = make_env(groups, num_envs=3, episode_length_s=0.3)
    second = make_env(groups, num_envs=3, episode_length_s=0.3, seed=7)
    try:
        first.reset()
        second.reset()
        actions = np.random.default_rng(0).normal(0.0, 0.3, (30, 3, 18))
        for a in actions[:10]:
            first.step(a)
        observations, _ = second.set_state(first.get_state())
        np.testing.assert_array_equal(observations, first._observe())
        for a in actions[10:]:   # crosses episode ends: resets draw the same numbers
            one, two = first.step(a), second.step(a)
            np.testing.assert_array_equal(one.observations, two.observations)
            np.testing.assert_array_equal(one.rewards, two.rewards)
    finally:
        first.close()
        second.close()
