"""The imitation reward on hand-made states, and the environment's episode mechanics."""

import dataclasses
import math

from lpn_controller.rotations import tilt_angle
import numpy as np
import pytest
from sim_bridge.simulator import RobotState
from smooth_policy_trainer.config.env_config import (DEFAULT_REWARD_TERMS, EnvConfig,
                                                     RandomizationConfig, RewardTerm)
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.imitation_reward import (heading_error, imitation_errors,
                                                         imitation_reward, orientation_error)
from smooth_policy_trainer.motion.clips import ReferenceSample


def hand_made(num_joints=3):
    """Return a one-environment robot state and a reference it matches exactly."""
    identity = np.array([[1.0, 0.0, 0.0, 0.0]])
    state = RobotState(
        time=np.zeros(1), joint_positions=np.array([[0.1, -0.2, 0.3]]),
        joint_velocities=np.array([[1.0, 0.0, -1.0]]), joint_efforts=np.zeros((1, num_joints)),
        imu_orientation=identity, imu_angular_velocity=np.zeros((1, 3)),
        imu_linear_acceleration=np.zeros((1, 3)), base_position=np.array([[0.0, 0.0, 0.5]]),
        base_orientation=identity, base_linear_velocity=np.array([[0.5, 0.0, 0.0]]),
        base_angular_velocity=np.array([[0.0, 0.0, 0.2]]))
    reference = ReferenceSample(
        joint_positions=state.joint_positions.copy(),
        joint_velocities=state.joint_velocities.copy(),
        root_position=np.array([[0.0, 0.0, 0.5]]),
        root_orientation=identity.copy(),
        root_linear_velocity=state.base_linear_velocity.copy(),
        root_angular_velocity=state.base_angular_velocity.copy(),
        end_effector_positions=np.zeros((1, 2, 3)))
    return state, np.zeros((1, 2, 3)), reference


def test_perfect_tracking_earns_the_full_reward():
    state, end_effectors, reference = hand_made()
    errors = imitation_errors(state, end_effectors, reference)
    assert all(value[0] == pytest.approx(0.0, abs=1e-12) for value in errors.values())
    total, terms = imitation_reward(errors)
    assert total[0] == pytest.approx(1.0)
    for name, term in DEFAULT_REWARD_TERMS.items():
        assert terms[name][0] == pytest.approx(term.weight)


def test_each_error_enters_its_own_term_with_its_scale():
    state, end_effectors, reference = hand_made()
    state.joint_positions[0, 0] += 0.3                 # e_pose = 0.09
    state.joint_velocities[0, 2] += 2.0                # e_vel = 4
    end_effectors[0, 1] = [0.0, 0.1, 0.0]              # e_ee = 0.01
    state.base_position[0, 2] -= 0.1                   # e_root = 0.01 + 0 orientation
    state.base_angular_velocity[0, 2] += 1.0           # e_root_vel = 1
    errors = imitation_errors(state, end_effectors, reference)
    expected = {'pose': 0.09, 'velocity': 4.0, 'end_effector': 0.01, 'root': 0.01,
                'root_velocity': 1.0}
    for name, value in expected.items():
        assert errors[name][0] == pytest.approx(value)
    total, terms = imitation_reward(errors)
    assert terms['pose'][0] == pytest.approx(0.5 * math.exp(-2 * 0.09))
    assert terms['velocity'][0] == pytest.approx(0.1 * math.exp(-0.1 * 4.0))
    assert terms['end_effector'][0] == pytest.approx(0.15 * math.exp(-10 * 0.01))
    assert terms['root'][0] == pytest.approx(0.15 * math.exp(-10 * 0.01))
    assert terms['root_velocity'][0] == pytest.approx(0.1 * math.exp(-1.0))
    assert total[0] == pytest.approx(sum(t[0] for t in terms.values()))


def test_root_position_is_the_horizontal_distance_and_off_by_default():
    state, end_effectors, reference = hand_made()
    reference.root_position[0] = [3.3, -0.4, 0.9]      # 0.3 m ahead, 0.4 m aside
    state.base_position[0] = [3.0, 0.0, 0.9]
    errors = imitation_errors(state, end_effectors, reference)
    assert errors['root_position'][0] == pytest.approx(0.25)
    assert errors['root'][0] == pytest.approx(0.0)     # height alone, equal here
    total, terms = imitation_reward(errors)
    assert DEFAULT_REWARD_TERMS['root_position'].weight == 0.0
    assert terms['root_position'][0] == 0.0 and total[0] == pytest.approx(1.0)
    weighted = {**DEFAULT_REWARD_TERMS, 'root_position': RewardTerm(0.2, 5.0)}
    _, terms = imitation_reward(errors, weighted)
    assert terms['root_position'][0] == pytest.approx(0.2 * math.exp(-5.0 * 0.25))


def test_world_end_effector_error_sees_the_body_that_is_off():
    """A gripper right in the body frame of a base that swayed is wrong in the world."""
    state, end_effectors, reference = hand_made()
    end_effectors[0] = [[0.6, 0.0, 0.2], [0.3, 0.1, -0.5]]
    reference.end_effector_positions[0] = end_effectors[0]
    state.base_position[0, 1] += 0.03                  # swayed 3 cm sideways
    errors = imitation_errors(state, end_effectors, reference)
    assert errors['end_effector'][0] == pytest.approx(0.0, abs=1e-12)
    assert errors['end_effector_world'][0] == pytest.approx(2 * 0.03 ** 2)
    # Tilted 0.1 rad in pitch about the base: the gripper 0.6 m ahead drops by 0.6 sin 0.1.
    state, end_effectors, reference = hand_made()
    end_effectors[0] = [[0.6, 0.0, 0.0], [0.0, 0.0, 0.0]]
    reference.end_effector_positions[0] = end_effectors[0]
    pitch = 0.1
    state.base_orientation[0] = [math.cos(pitch / 2), 0.0, math.sin(pitch / 2), 0.0]
    errors = imitation_errors(state, end_effectors, reference)
    chord = 2 * 0.6 * math.sin(pitch / 2)
    assert errors['end_effector_world'][0] == pytest.approx(chord ** 2)
    assert DEFAULT_REWARD_TERMS['end_effector_world'].weight == 0.0


def test_end_effector_height_scores_feet_that_stay_down_and_ignores_drift():
    """The hop's term: a foot the clip lifts 5 cm off the floor that stays down costs 0.05^2."""
    state, end_effectors, reference = hand_made()
    end_effectors[0] = [[0.3, 0.1, -0.5], [-0.3, -0.1, -0.5]]
    reference.end_effector_positions[0] = end_effectors[0]
    reference.end_effector_positions[0, 0, 2] += 0.05   # the clip's foot is in the air
    state.base_position[0, :2] += [0.4, -0.2]           # drifted: the height part must not see it
    errors = imitation_errors(state, end_effectors, reference)
    assert errors['end_effector_height'][0] == pytest.approx(0.05 ** 2)
    assert errors['end_effector_world'][0] > 0.2
    assert DEFAULT_REWARD_TERMS['end_effector_height'].weight == 0.0


def test_world_terms_are_skipped_only_where_they_weigh_nothing():
    state, end_effectors, reference = hand_made()
    state.base_position[0, 1] += 0.03
    full = imitation_errors(state, end_effectors, reference)
    lean = imitation_errors(state, end_effectors, reference, world=False)
    assert 'end_effector_world' not in lean and 'end_effector_height' not in lean
    total_full, weighted_full = imitation_reward(full)
    total_lean, weighted_lean = imitation_reward(lean)
    assert total_lean[0] == total_full[0]
    assert weighted_lean.keys() == weighted_full.keys()
    weighing = dict(DEFAULT_REWARD_TERMS, end_effector_world=RewardTerm(0.3, 100.0))
    with pytest.raises(ValueError, match="'end_effector_world' has weight 0.3"):
        imitation_reward(lean, weighing)


def test_the_env_computes_world_terms_when_a_weight_asks_for_them():
    off = ImitationEnv(EnvConfig(clip='arm_circle', num_envs=1, physics='fast'))
    on = ImitationEnv(EnvConfig(clip='arm_circle', num_envs=1, physics='fast', reward_terms={
        **EnvConfig().reward_terms, 'end_effector_height': {'weight': 0.5, 'scale': 100.0}}))
    try:
        assert not off.reward.uses_world_terms and on.reward.uses_world_terms
        on.reset()
        result = on.step(np.zeros((1, on.num_actions)))
        assert 0.0 < result.reward_terms['end_effector_height'][0] <= 0.5
    finally:
        off.close()
        on.close()


def test_root_velocity_is_compared_in_the_body_frame():
    state, end_effectors, reference = hand_made()
    yaw = math.pi / 2  # robot turned left, moving along world +y: forward in its own frame
    state.base_orientation[0] = [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
    reference.root_orientation[0] = state.base_orientation[0]
    state.base_linear_velocity[0] = [0.0, 0.5, 0.0]
    reference.root_linear_velocity[0] = [0.0, 0.5, 0.0]
    assert imitation_errors(state, end_effectors, reference)['root_velocity'][0] == \
        pytest.approx(0.0, abs=1e-12)
    assert orientation_error(state.base_orientation, np.array([[1.0, 0, 0, 0]]))[0] == \
        pytest.approx(yaw)


@pytest.fixture(scope='module')
def env():
    environment = ImitationEnv(EnvConfig(clip='trot', num_envs=4, episode_length_s=0.5,
                                         seed=3))
    yield environment
    environment.close()


def test_reset_starts_on_the_reference_at_random_phases(env):
    observations, phases = env.reset()
    assert observations.shape == (4, env.observation_size) == (4, 60)
    assert np.all((phases >= 0) & (phases < 1)) and len(set(phases.round(6))) == 4
    state = env.sim.read_state()
    reference = env.clip.sample(env.absolute_phase())
    np.testing.assert_allclose(state.base_position[:, 2], reference.root_position[:, 2])
    assert np.max(np.abs(state.joint_positions - reference.joint_positions)) <= \
        env.config.reset_joint_noise + 1e-9


def test_episodes_are_truncated_at_their_length_and_restart(env):
    env.reset()
    steps = env.max_episode_steps
    assert steps == 25
    for _ in range(steps - 1):
        result = env.step(np.zeros((4, 18)))
        assert not result.truncated.any()
    result = env.step(np.zeros((4, 18)))
    survived = ~result.terminated
    assert np.all(result.truncated == survived)
    assert np.all(env.episode_step[survived] == 0), 'finished environments restart'
    assert len(result.finished_returns) == 4
    assert np.all(result.finished_lengths[survived] == steps)
    assert set(result.reward_terms) == set(DEFAULT_REWARD_TERMS)


def test_a_fall_terminates_the_episode(env):
    env.reset()
    # Full-scale actions of alternating sign throw the robot over within a few steps.
    terminated = np.zeros(4, dtype=bool)
    for step in range(60):
        result = env.step(np.full((4, 18), 10.0 if step % 10 < 5 else -10.0))
        terminated |= result.terminated
    assert terminated.any()


def test_same_seed_same_rollout_and_randomisation_changes_it():
    def rollout(config):
        environment = ImitationEnv(config)
        environment.reset()
        rewards = [environment.step(np.full((2, 18), 0.1)).rewards for _ in range(5)]
        environment.close()
        return np.array(rewards)
    base = EnvConfig(clip='trot', num_envs=2, seed=5)
    np.testing.assert_array_equal(rollout(base), rollout(base))
    randomized = dataclasses.replace(base, randomization=RandomizationConfig(
        enabled=True, max_latency_steps=2))
    assert not np.array_equal(rollout(base), rollout(randomized))


def test_policy_metadata_fields_describe_the_task(env):
    fields = env.policy_metadata()
    assert fields['joint_names'] == list(env.joint_names)
    assert fields['clip'] == 'trot' and fields['phase_period_s'] == pytest.approx(0.6)
    assert sum(term.size for term in fields['observation_terms']) == env.observation_size
    assert fields['default_pose'].shape == (18,)


def test_saved_state_continues_exactly():
    config = EnvConfig(clip='hop', num_envs=3, seed=2, episode_length_s=0.3,
                       randomization=RandomizationConfig(enabled=True, max_latency_steps=1))
    first, second = ImitationEnv(config), ImitationEnv(dataclasses.replace(config, seed=9))
    first.reset()
    second.reset()
    rng = np.random.default_rng(0)
    actions = rng.normal(0.0, 0.3, (30, 3, 18))
    for a in actions[:10]:
        first.step(a)
    observations, phases = second.set_state(first.get_state())
    np.testing.assert_array_equal(observations, first._observe())
    for a in actions[10:]:  # crosses episode ends: resets must draw the same numbers
        one, two = first.step(a), second.step(a)
        np.testing.assert_array_equal(one.observations, two.observations)
        np.testing.assert_array_equal(one.rewards, two.rewards)
    first.close()
    second.close()


def yaw_pitch(yaw, pitch=0.0):
    """Return the [w, x, y, z] quaternion of a yaw then a pitch (rad)."""
    turn = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
    lean = np.array([math.cos(pitch / 2), 0.0, math.sin(pitch / 2), 0.0])
    w1, x1, y1, z1 = turn
    w2, x2, y2, z2 = lean
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def test_tilt_ignores_heading_and_heading_wraps():
    upright = yaw_pitch(0.0)
    assert tilt_angle(yaw_pitch(1.2), upright) == pytest.approx(0.0, abs=1e-12)
    assert tilt_angle(yaw_pitch(1.2, 0.3), upright) == pytest.approx(0.3)
    assert heading_error(yaw_pitch(0.5), upright) == pytest.approx(0.5)
    assert heading_error(yaw_pitch(-0.5), yaw_pitch(0.2)) == pytest.approx(-0.7)
    assert heading_error(yaw_pitch(3.0), yaw_pitch(-3.0)) == pytest.approx(6.0 - 2 * math.pi)


def test_an_upright_robot_that_turned_is_not_a_fall(env):
    env.reset()
    reference = env.clip.sample(env.absolute_phase())
    sim = env.sim.envs[0]
    # Turned 60 degrees away from the reference heading, upright, at the reference height.
    sim.reset_to_pose(reference.root_position[0], yaw_pitch(math.radians(60)),
                      reference.joint_positions[0])
    result = env.step(np.zeros((4, 18)))
    assert not result.terminated[0]
    assert result.reward_terms['root'][0] < DEFAULT_REWARD_TERMS['root'].weight * 0.5
