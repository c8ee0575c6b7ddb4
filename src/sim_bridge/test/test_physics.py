"""Physics configurations: the fast one stands, its PD is stable, its contacts are the task's."""

import warnings

import mujoco
import numpy as np
import pytest
from sim_bridge.config import load_config
from sim_bridge.physics import (foot_geoms, geoms_of_bodies, physics_config,
                                PhysicsMismatchWarning, robot_geoms, warn_if_mismatch)
from sim_bridge.simulator import Simulator
from sim_bridge.vector import VectorSimulator

FALL_BODIES = ('body', '*_hip', '*_upper_leg', 'arm_link_*')


def stand(sim, seconds):
    """Hold the reset pose's targets; return the base heights and joint speeds per step."""
    heights, speeds = [], []
    for _ in range(int(round(seconds * sim.config.control_rate_hz))):
        sim.step()
        state = sim.read_state()
        heights.append(state.base_position[2])
        speeds.append(np.abs(state.joint_velocities).max())
    return np.array(heights), np.array(speeds)


def test_fast_runs_the_robot_at_250_hz_with_the_control_rate_and_gains_kept():
    full, fast = Simulator(), Simulator(physics='fast', contact_bodies=FALL_BODIES)
    assert fast.config.physics_rate_hz == 250.0 and fast.config.substeps == 5
    assert fast.model.opt.timestep == pytest.approx(0.004)
    assert fast.model.opt.integrator == int(mujoco.mjtIntegrator.mjINT_IMPLICITFAST)
    assert fast.config.control_rate_hz == full.config.control_rate_hz
    np.testing.assert_array_equal(fast.kp, full.kp)
    np.testing.assert_array_equal(fast.kd, full.kd)
    np.testing.assert_array_equal(fast.model.body_mass, full.model.body_mass)
    assert full.physics.name == 'full' and full.config.physics_rate_hz == 500.0


def test_fast_stands_where_full_stands_and_settles_without_oscillating():
    full, fast = Simulator(seed=0), Simulator(seed=0, physics='fast', contact_bodies=FALL_BODIES)
    results = {}
    for name, sim in (('full', full), ('fast', fast)):
        # A disturbed start: the PD must pull every joint back, not ring or blow up.
        sim.reset(joint_position_noise=0.1, joint_velocity_noise=1.0)
        results[name] = stand(sim, 3.0)
    full_heights, _ = results['full']
    heights, speeds = results['fast']
    assert heights[-1] == pytest.approx(full_heights[-1], abs=0.01)
    assert 0.45 < heights[-1] < 0.55
    assert speeds[-25:].max() < 0.05          # settled: below 0.05 rad/s over the last 0.5 s
    assert np.all(np.isfinite(heights))


def test_the_fast_collision_filter_keeps_the_feet_and_the_fall_bodies():
    sim = Simulator(physics='fast', contact_bodies=FALL_BODIES)
    model, config = sim.model, sim.config
    feet = set(foot_geoms(model, config))
    fall = set(geoms_of_bodies(model, FALL_BODIES))
    assert len(feet) == 4 and all(model.geom_type[g] == int(mujoco.mjtGeom.mjGEOM_SPHERE)
                                  for g in feet)
    for geom in robot_geoms(model):
        colliding = model.geom_contype[geom] != 0 or model.geom_conaffinity[geom] != 0
        assert colliding == (geom in feet | fall), model.geom(geom).name
    # Standing, the feet and only the feet touch the floor.
    stand(sim, 0.5)
    sim.refresh_readouts()
    touching = {int(g) for pair in sim.data.contact.geom[:sim.data.ncon] for g in pair
                if sim.model.geom_bodyid[g] != 0}
    assert touching == feet
    # The full model is left as its MJCF says.
    full = Simulator()
    assert all(full.model.geom_contype[g] == 1 for g in robot_geoms(full.model))


def test_fall_detection_still_sees_the_body_hit_the_floor_in_fast():
    with VectorSimulator(2, physics='fast', contact_bodies=FALL_BODIES, num_threads=1) as vec:
        vec.track(ground_geoms=vec.envs[0].geoms_of_bodies(FALL_BODIES))
        upside_down = [0.0, 1.0, 0.0, 0.0]   # rolled 180 degrees: back on the floor
        sim = vec.envs[1]
        sim.reset_to_pose([0.0, 0.0, 0.3], upside_down, sim.read_state().joint_positions)
        for _ in range(10):
            vec.step(np.array([env.joint_targets for env in vec.envs]))
        np.testing.assert_array_equal(vec.touching_ground(), [False, True])


def test_the_vector_simulator_reads_what_each_simulator_reads():
    with VectorSimulator(3, physics='fast', contact_bodies=FALL_BODIES) as vec:
        vec.track(sites=vec.config.foot_sites)
        rng = np.random.default_rng(0)
        targets = np.array([env.joint_targets for env in vec.envs])
        for _ in range(5):
            vec.step(targets + 0.05 * rng.standard_normal(targets.shape))
        vec.reset([1], joint_position_noise=0.05)   # a change outside step() is read again
        batched = vec.read_state()
        for i, env in enumerate(vec.envs):
            single = env.read_state()
            for name in single.__dataclass_fields__:
                np.testing.assert_array_equal(getattr(batched, name)[i], getattr(single, name),
                                              err_msg=name)
            np.testing.assert_array_equal(vec.site_positions()[i],
                                          env.site_positions(vec.config.foot_sites))


def test_unknown_physics_and_rates_that_do_not_divide_fail_clearly():
    with pytest.raises(ValueError, match=r"unknown physics configuration 'turbo'.*'fast'"):
        physics_config('turbo')
    odd = load_config(overrides={'control_rate_hz': 100.0})   # 250 / 100 is not whole
    with pytest.raises(ValueError, match='not a whole multiple of the control rate 100'):
        Simulator(odd, physics='fast')


def test_a_policy_in_a_simulator_of_another_physics_warns():
    with pytest.warns(PhysicsMismatchWarning, match="trained in physics configuration 'fast'"):
        assert warn_if_mismatch('fast', 'full')
    with pytest.warns(PhysicsMismatchWarning, match="'full' and now runs in 'fast'"):
        warn_if_mismatch(None, 'fast')   # a policy from before the field: full
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not warn_if_mismatch('fast', 'fast')
        assert not warn_if_mismatch(None, 'full')
