"""The simulator core: standing, torque limits, determinism, readouts and errors."""

import dataclasses

from lpn_controller.rotations import tilt_angle
import numpy as np
import pytest

from sim_bridge.config import config_from_dict, ConfigError, DEFAULT_CONFIG_PATH, load_config
from sim_bridge.simulator import Simulator
from sim_bridge.vector import VectorSimulator
import yaml


def test_standing_pd_keeps_the_robot_up_for_10_seconds(config):
    sim = Simulator(config, seed=0)
    stand = sim.joint_targets
    heights, tilts = [], []
    for _ in range(int(10 * config.control_rate_hz)):
        sim.step(stand)
        state = sim.read_state()
        heights.append(state.base_position[2])
        tilts.append(np.degrees(tilt_angle(state.base_orientation)))
    assert sim.time == pytest.approx(10.0)
    assert min(heights) > 0.42, 'the body sank: the legs do not hold the robot up'
    assert max(tilts) < 5.0
    feet = sim.site_positions(config.foot_sites)
    assert np.all(feet[:, 2] < 0.05), 'a foot left the ground while standing'
    # Standing still: the accelerometer measures gravity, the gyro nearly nothing.
    assert np.linalg.norm(state.imu_linear_acceleration) == pytest.approx(9.81, abs=0.3)
    assert np.linalg.norm(state.imu_angular_velocity) < 0.05


def test_torque_limits_hold_for_targets_far_away(config):
    sim = Simulator(config, seed=0)
    sim.set_pd_gains(np.array(config.kp) * 10, config.kd)
    lower, upper = sim.joint_limits[:, 0], sim.joint_limits[:, 1]
    for step in range(100):
        sim.step(upper if step % 20 < 10 else lower)
        efforts = sim.read_state().joint_efforts
        assert np.all(np.abs(efforts) <= sim.effort_limits + 1e-9)
    assert np.any(np.isclose(np.abs(efforts), sim.effort_limits)), 'limits never reached'


def test_targets_are_clamped_to_joint_limits(config):
    sim = Simulator(config, seed=0)
    sim.set_joint_targets(np.full(18, 10.0))
    np.testing.assert_allclose(sim.joint_targets, sim.joint_limits[:, 1])


def test_non_finite_or_misshaped_targets_are_rejected(config):
    sim = Simulator(config, seed=0)
    targets = sim.joint_targets
    targets[4] = np.nan
    with pytest.raises(ValueError, match='front_right_hip_y'):
        sim.step(targets)
    with pytest.raises(ValueError, match='expected 18 joint targets'):
        sim.step(np.zeros(17))


def run_episode(sim, steps=50):
    rng = np.random.default_rng(1)
    stand = sim.joint_targets
    sim.reset(joint_position_noise=0.1, joint_velocity_noise=0.5)
    for _ in range(steps):
        sim.step(stand + 0.1 * rng.standard_normal(18))
    return sim.get_physics_state()


def test_same_seed_same_trajectory_other_seed_other_trajectory(config):
    first = run_episode(Simulator(config, seed=7))
    again = run_episode(Simulator(config, seed=7))
    other = run_episode(Simulator(config, seed=8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_reset_to_a_given_state_replays_exactly(config):
    sim = Simulator(config, seed=0)
    run_episode(sim, steps=20)
    saved = sim.get_physics_state()
    sim.step(sim.joint_targets + 0.2)
    after = sim.get_physics_state()
    sim.set_physics_state(saved)
    sim.step(sim.joint_targets + 0.2)
    np.testing.assert_array_equal(sim.get_physics_state(), after)
    state = sim.reset(qpos=sim.data.qpos.copy(), qvel=np.zeros(sim.model.nv))
    assert state.time == 0.0
    with pytest.raises(ValueError, match='qpos must have shape'):
        sim.reset(qpos=np.zeros(3))


def test_reset_keep_time_never_sends_the_clock_backwards(config):
    sim = Simulator(config, seed=0)
    sim.step()
    sim.step()
    assert sim.reset(keep_time=True).time == pytest.approx(2 * config.control_dt)


def test_physics_steps_add_up_to_a_control_step(config):
    a, b = Simulator(config, seed=0), Simulator(config, seed=0)
    targets = a.joint_targets + 0.1
    a.step(targets)
    for _ in range(config.substeps):
        b.physics_step(targets)
    np.testing.assert_array_equal(a.get_physics_state(), b.get_physics_state())


def test_unknown_joint_names_fail_with_the_name_and_the_model_joints():
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw['joints'] = raw['joints'][:-1] + ['arm_wrist_roll']
    raw['kp'] = raw['kd'] = 1.0
    with pytest.raises(ConfigError, match="unknown joint 'arm_wrist_roll'") as error:
        Simulator(config_from_dict(raw))
    assert 'arm_wr1' in str(error.value)


def test_unknown_keyframe_and_sensor_fail_clearly(config):
    with pytest.raises(ConfigError, match="keyframe 'crouch'"):
        Simulator(dataclasses.replace(config, keyframe='crouch'))
    with pytest.raises(ConfigError, match="base_body 'torso'"):
        Simulator(dataclasses.replace(config, base_body='torso'))


def test_a_subset_of_joints_in_another_order_can_be_commanded():
    config = load_config(overrides={'joints': ['arm_wr1', 'arm_sh0'], 'kp': 5.0, 'kd': 0.5})
    sim = Simulator(config, seed=0)
    assert sim.read_state().joint_positions.shape == (2,)
    sim.step([0.3, -0.2])
    np.testing.assert_allclose(sim.joint_targets, [0.3, -0.2])


def test_vector_simulator_matches_single_simulators(config):
    with VectorSimulator(3, config, seed=11, num_threads=2) as vec:
        vec.reset(joint_position_noise=0.05)
        stand = vec.envs[0].joint_targets
        targets = np.stack([stand, stand + 0.1, stand - 0.1])
        for _ in range(5):
            vec.step(targets)
        batched = vec.read_state()
        assert batched.joint_positions.shape == (3, 18)
        assert batched.time.shape == (3,)
        # Each environment equals a lone simulator given the same state and targets.
        for i, env in enumerate(vec.envs):
            np.testing.assert_array_equal(batched.base_position[i],
                                          env.read_state().base_position)
        with pytest.raises(ValueError, match='shape'):
            vec.step(np.zeros((2, 18)))


def test_vector_simulator_is_deterministic_under_a_seed(config):
    def rollout():
        with VectorSimulator(4, config, seed=3, num_threads=2) as vec:
            vec.reset(joint_position_noise=0.1)
            stand = vec.envs[0].joint_targets
            for _ in range(10):
                vec.step(np.tile(stand, (4, 1)))
            return vec.read_state().joint_positions
    first, second = rollout(), rollout()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[0], first[1]), 'environments share one random stream'


def test_reset_to_pose_and_ground_contact_of_named_bodies(config):
    sim = Simulator(config, seed=0)
    fall_geoms = sim.geoms_of_bodies(['body', 'arm_link_*'])
    sim.step()
    assert not sim.touches_ground(fall_geoms)
    # Body box (half height 0.085 m) placed through the floor: contact right after the reset.
    state = sim.reset_to_pose([0.0, 0.0, 0.05], [1.0, 0.0, 0.0, 0.0], sim.joint_targets,
                              root_linear_velocity=[0.3, 0.0, 0.0])
    np.testing.assert_allclose(state.base_linear_velocity, [0.3, 0.0, 0.0])
    assert sim.touches_ground(fall_geoms), 'a body lying on the ground must touch it'
    with pytest.raises(ValueError, match='match no body'):
        sim.geoms_of_bodies(['tail'])


def test_reading_state_does_not_change_the_trajectory(config):
    read, silent = Simulator(config, seed=0), Simulator(config, seed=0)
    targets = read.joint_targets + 0.1
    for _ in range(20):
        read.step(targets)
        read.read_state()
        read.site_positions(config.foot_sites)
        silent.step(targets)
    np.testing.assert_array_equal(read.get_physics_state(), silent.get_physics_state())


def test_readouts_describe_the_current_state(config):
    sim = Simulator(config, seed=0)
    sim.step(sim.joint_targets + 0.2)
    after_step = sim.read_state()
    clone = Simulator(config, seed=0)
    clone.set_physics_state(sim.get_physics_state())
    restored = clone.read_state()
    for name in ('imu_orientation', 'imu_angular_velocity', 'imu_linear_acceleration',
                 'joint_efforts'):
        np.testing.assert_allclose(getattr(after_step, name), getattr(restored, name),
                                   rtol=1e-9, atol=1e-9, err_msg=name)


def test_a_base_wrench_pushes_the_body_until_removed(config):
    sim, still = Simulator(config, seed=0), Simulator(config, seed=0)
    stand = sim.joint_targets
    sim.set_base_wrench([0.0, 300.0, 0.0])
    for _ in range(5):   # 0.1 s at 50 Hz
        sim.step(stand)
        still.step(stand)
    sim.set_base_wrench([0.0, 0.0, 0.0])
    pushed, reference = sim.read_state(), still.read_state()
    # 30 N s of lateral impulse: the body moves sideways, the unpushed one does not.
    assert pushed.base_linear_velocity[1] > 0.3 > abs(reference.base_linear_velocity[1])
    assert np.all(sim.data.xfrc_applied == 0.0)
    with pytest.raises(ValueError, match='finite 3-vector'):
        sim.set_base_wrench([np.nan, 0.0, 0.0])
