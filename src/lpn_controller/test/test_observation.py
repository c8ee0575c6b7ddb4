"""The observation builder and motion phase (rotations: test_rotations.py)."""

from lpn_controller.example_policy import standard_observation_terms
from lpn_controller.observation import (build_observation, motion_phase, ObservationBuilder,
                                        ObservationTerm)
from lpn_controller.rotations import projected_gravity
import numpy as np
import pytest


def test_motion_phase():
    assert motion_phase(10.25, 10.0, 0.5) == pytest.approx(0.5)
    assert motion_phase(11.0, 10.0, 0.5) == pytest.approx(0.0)
    np.testing.assert_allclose(motion_phase(np.array([0.1, 0.9, 1.3]), 0.0, 0.8),
                               [0.125, 0.125, 0.625])
    with pytest.raises(ValueError, match='period'):
        motion_phase(1.0, 0.0, 0.0)


def robot_state(rng, batch=(), joints=3):
    return {
        'joint_positions': rng.normal(size=batch + (joints,)),
        'joint_velocities': rng.normal(size=batch + (joints,)),
        'orientation': wxyz_batch(rng, batch),
        'angular_velocity': rng.normal(size=batch + (3,)),
        'previous_action': rng.normal(size=batch + (joints,)),
    }


def wxyz_batch(rng, batch):
    quaternions = rng.normal(size=batch + (4,))
    return quaternions / np.linalg.norm(quaternions, axis=-1, keepdims=True)


def test_layout_order_offsets_and_scales():
    rng = np.random.default_rng(0)
    default_pose = np.array([0.1, -0.2, 0.3])
    terms = (
        ObservationTerm('joint_velocities', 3, 0.05),
        ObservationTerm('projected_gravity', 3),
        ObservationTerm('joint_positions', 3, (1.0, 2.0, 3.0)),
        ObservationTerm('command', 2, 0.5),
        ObservationTerm('previous_action', 3),
        ObservationTerm('base_angular_velocity', 3, 0.25),
    )
    state = robot_state(rng)
    command = np.array([1.0, -4.0])
    observation = build_observation(terms, default_pose, command=command, **state)
    expected = np.concatenate([
        0.05 * state['joint_velocities'],
        projected_gravity(state['orientation']),
        np.array([1.0, 2.0, 3.0]) * (state['joint_positions'] - default_pose),
        0.5 * command,
        state['previous_action'],
        0.25 * state['angular_velocity'],
    ])
    np.testing.assert_allclose(observation, expected)
    builder = ObservationBuilder(terms, default_pose)
    assert builder.size == 17
    assert builder.term_slice('command') == slice(9, 11)


def test_batch_equals_single():
    rng = np.random.default_rng(1)
    default_pose = rng.normal(size=3)
    builder = ObservationBuilder(standard_observation_terms(3, command_size=1), default_pose)
    state = robot_state(rng, batch=(5,))
    commands = rng.normal(size=(5, 1))
    batch = builder.build(command=commands, **state)
    assert batch.shape == (5, builder.size)
    for index in range(5):
        single = builder.build(command=commands[index],
                               **{key: value[index] for key, value in state.items()})
        np.testing.assert_allclose(batch[index], single)
    out = np.empty((5, builder.size))
    assert builder.build(command=commands, out=out, **state) is out


def test_layout_errors_are_clear():
    with pytest.raises(ValueError, match='unknown observation term'):
        ObservationBuilder([ObservationTerm('lidar', 3)], np.zeros(3))
    with pytest.raises(ValueError, match='size 4, expected 3'):
        ObservationBuilder([ObservationTerm('joint_positions', 4)], np.zeros(3))
    with pytest.raises(ValueError, match='twice'):
        ObservationBuilder([ObservationTerm('projected_gravity', 3)] * 2, np.zeros(3))
    builder = ObservationBuilder(standard_observation_terms(3, command_size=2), np.zeros(3))
    state = robot_state(np.random.default_rng(2))
    with pytest.raises(ValueError, match="needs 'command'"):
        builder.build(**state)
    with pytest.raises(ValueError, match="'command' has 3 entries"):
        builder.build(command=np.zeros(3), **state)
