"""Per-environment physics parameters, pushes and the late targets of VectorSimulator.step."""

from lpn_controller.rotations import quat_multiply
import mujoco
import numpy as np
import pytest
from sim_bridge.randomization import (heading_velocity_change, ModelRandomizer,
                                      PhysicsParameters, push_bases)
from sim_bridge.vector import VectorSimulator


@pytest.fixture(scope='module')
def vector():
    simulator = VectorSimulator(3, seed=0, num_threads=1)
    yield simulator
    simulator.close()


def test_parameters_scale_the_nominal_values_of_the_chosen_environments_only(vector):
    models = ModelRandomizer(vector)
    nominal = models.current()
    n = len(vector.joint_names)
    parameters = PhysicsParameters(
        base_mass_scale=np.array([1.2]), link_mass_scale=np.array([0.9]),
        base_com_offset=np.array([[0.01, -0.02, 0.03]]), base_inertia_scale=np.array([1.5]),
        friction=np.array([0.5]), foot_solref=np.array([[0.03, 0.8]]),
        foot_solimp=np.array([[0.8, 0.9]]), foot_radius_scale=np.array([1.4]),
        kp_scale=np.full((1, n), 2.0), kd_scale=np.full((1, n), 0.5),
        strength_scale=np.full((1, n), 0.9), armature_scale=np.array([3.0]),
        damping_scale=np.array([0.25]))
    try:
        models.apply([1], parameters)
        now = models.current()
        for key in nominal:   # environments 0 and 2 keep every nominal value
            for i in (0, 2):
                np.testing.assert_array_equal(now[key][i], nominal[key][i])
        assert now['base_mass'][1] == pytest.approx(1.2 * nominal['base_mass'][1])
        np.testing.assert_allclose(now['link_mass'][1], 0.9 * nominal['link_mass'][1])
        np.testing.assert_allclose(now['base_ipos'][1] - nominal['base_ipos'][1],
                                   [0.01, -0.02, 0.03])
        np.testing.assert_allclose(now['base_inertia'][1], 1.5 * nominal['base_inertia'][1])
        np.testing.assert_allclose(now['friction'][1], 0.5)
        np.testing.assert_allclose(now['foot_solref'][1], [[0.03, 0.8]] * 4)
        np.testing.assert_allclose(now['foot_solimp'][1], [[0.8, 0.9]] * 4)
        np.testing.assert_allclose(now['foot_radius'][1], 1.4 * nominal['foot_radius'][1])
        np.testing.assert_allclose(now['kp'][1], 2.0 * 0.9 * nominal['kp'][1])
        np.testing.assert_allclose(now['kd'][1], 0.5 * 0.9 * nominal['kd'][1])
        np.testing.assert_allclose(now['torque_limit'][1], 0.9 * nominal['torque_limit'][1])
        np.testing.assert_allclose(now['armature'][1], 3.0 * nominal['armature'][1])
        np.testing.assert_allclose(now['damping'][1], 0.25 * nominal['damping'][1])
        # The broad phase sees the bigger feet too.
        model = vector.envs[1].model
        np.testing.assert_allclose(model.geom_rbound[models.feet], now['foot_radius'][1])
        # A second draw scales the nominal values again: draws never compound.
        models.apply([1], PhysicsParameters(base_mass_scale=np.array([1.2])))
        again = models.current()
        assert again['base_mass'][1] == pytest.approx(1.2 * nominal['base_mass'][1])
        np.testing.assert_array_equal(again['kp'][1], nominal['kp'][1])
    finally:
        models.restore()
    for key, value in models.current().items():
        np.testing.assert_array_equal(value, nominal[key])


def test_a_centre_of_mass_offset_moves_the_inertial_frame(vector):
    models = ModelRandomizer(vector)
    offset = np.array([0.03, -0.02, 0.015])
    try:
        models.apply([1], PhysicsParameters(base_com_offset=offset[None]))
        vector.reset()
        env = vector.envs[1]
        mujoco.mj_forward(env.model, env.data)
        base = models.base_body
        rotation = env.data.xmat[base].reshape(3, 3)
        np.testing.assert_allclose(env.data.xipos[base] - env.data.xpos[base],
                                   rotation @ (models.nominal[1]['base_ipos'] + offset),
                                   atol=1e-12)
    finally:
        models.restore()
    assert vector.envs[1].model.body_sameframe[models.base_body] == \
        models.nominal[1]['base_sameframe']


def test_a_randomised_environment_still_steps(vector):
    models = ModelRandomizer(vector)
    n = len(vector.joint_names)
    try:
        models.apply([0, 1, 2], PhysicsParameters(kp_scale=np.full((3, n), 1.5),
                                                  foot_radius_scale=np.array([0.8, 1.0, 1.3])))
        vector.reset()
        targets = vector.read_state().joint_positions
        for _ in range(10):
            assert vector.step(targets) == []
    finally:
        models.restore()


def test_a_push_changes_the_base_velocity_by_the_drawn_amount(vector):
    vector.reset()
    before = vector.read_state().base_linear_velocity
    change = np.array([[0.7, -0.4, 0.0]])
    push_bases(vector, [2], change)
    after = vector.read_state().base_linear_velocity
    np.testing.assert_allclose(after[2] - before[2], change[0], atol=1e-12)
    np.testing.assert_array_equal(after[:2], before[:2])
    with pytest.raises(ValueError, match='finite'):
        push_bases(vector, [0], [[np.nan, 0.0, 0.0]])


def test_a_heading_frame_push_turns_with_the_heading_only():
    # Yawed 90 deg left, pitched 0.3 rad: forward is world +y, sideways (left) world -x.
    yaw = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])
    pitch = np.array([np.cos(0.15), 0.0, np.sin(0.15), 0.0])
    orientation = quat_multiply(yaw, pitch)
    np.testing.assert_allclose(heading_velocity_change(orientation, 1.5, 0.0), [0, 1.5, 0],
                               atol=1e-12)
    np.testing.assert_allclose(heading_velocity_change(orientation, 0.0, 1.0), [-1, 0, 0],
                               atol=1e-12)
    np.testing.assert_allclose(heading_velocity_change([1.0, 0, 0, 0], 0.6, -0.8),
                               [0.6, -0.8, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match='finite'):
        heading_velocity_change([1.0, 0, 0, 0], np.nan, 0.0)


def test_late_targets_hold_for_the_stated_physics_steps():
    substeps = None
    runs = {}
    for case in ('plain', 'none_late', 'all_late', 'late_only'):
        sim = VectorSimulator(1, seed=0, num_threads=1)
        substeps = sim.config.substeps
        sim.reset()
        start = sim.read_state().joint_positions
        late, new = start + 0.05, start - 0.05
        if case == 'plain':
            sim.step(new)
        elif case == 'none_late':
            sim.step(new, late_targets=late, late_substeps=[0])
        elif case == 'all_late':
            sim.step(new, late_targets=late, late_substeps=[substeps])
        else:
            sim.step(late)
        runs[case] = sim.read_state().joint_positions
        sim.close()
    np.testing.assert_array_equal(runs['none_late'], runs['plain'])     # the same code path
    np.testing.assert_array_equal(runs['all_late'], runs['late_only'])
    assert not np.allclose(runs['all_late'], runs['plain'])
    sim = VectorSimulator(1, seed=0, num_threads=1)
    with pytest.raises(ValueError, match='late_substeps'):
        sim.step(start, late_targets=start, late_substeps=[substeps + 1])
    sim.close()
