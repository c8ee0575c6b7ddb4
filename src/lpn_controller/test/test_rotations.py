"""The one implementation of quaternion math: products, rotations, gravity, yaw, tilt, wrap."""

import math

from lpn_controller.rotations import (projected_gravity, quat_conjugate, quat_multiply,
                                      quat_to_rotvec, rotate_into_body, rotate_into_world,
                                      tilt_angle, wrap_angle, yaw_angle)
import numpy as np
import pytest
from scipy.spatial.transform import Rotation


def wxyz(rotation):
    x, y, z, w = rotation.as_quat()  # scipy's default order is scalar-last
    return np.array([w, x, y, z])


def test_projected_gravity_matches_rotation_matrix():
    rotations = Rotation.random(20, random_state=3)
    quaternions = np.array([wxyz(rotation) for rotation in rotations])
    expected = rotations.inv().apply([0.0, 0.0, -1.0])
    np.testing.assert_allclose(projected_gravity(quaternions), expected, atol=1e-12)
    np.testing.assert_allclose(projected_gravity([1.0, 0.0, 0.0, 0.0]), [0.0, 0.0, -1.0])
    # Non-unit quaternions are normalised.
    np.testing.assert_allclose(projected_gravity(3.0 * quaternions[0]), expected[0], atol=1e-12)


def test_pitch_forward_moves_gravity_to_positive_x():
    # Nose down (positive pitch about body y): gravity leans towards the body's +x.
    gravity = projected_gravity(wxyz(Rotation.from_euler('y', 0.3)))
    np.testing.assert_allclose(gravity, [math.sin(0.3), 0.0, -math.cos(0.3)], atol=1e-12)


def test_tilt_from_upright():
    assert tilt_angle([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.0)
    assert tilt_angle(wxyz(Rotation.from_euler('x', 0.7))) == pytest.approx(0.7)
    assert tilt_angle(wxyz(Rotation.from_euler('zy', [2.0, -0.4]))) == pytest.approx(0.4)
    assert tilt_angle(wxyz(Rotation.from_euler('x', math.pi))) == pytest.approx(math.pi)


def test_rotations_between_body_and_world():
    yaw_90 = [math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]
    # Moving along world +x while facing world +y is moving to the body's right (-y).
    np.testing.assert_allclose(rotate_into_body(yaw_90, [1.0, 0.0, 0.0]), [0.0, -1.0, 0.0],
                               atol=1e-12)
    rng = np.random.default_rng(0)
    quaternions = rng.standard_normal((5, 4))
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    vectors = rng.standard_normal((5, 3))
    batched = rotate_into_body(quaternions, vectors)
    for q, v, b in zip(quaternions, vectors, batched):
        w, x, y, z = q
        rotation = np.array([  # body-to-world rotation matrix of q
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
        np.testing.assert_allclose(b, rotation.T @ v, atol=1e-12)
    np.testing.assert_allclose(rotate_into_world(quaternions, batched), vectors, atol=1e-12)
    # Tilt ignores heading: a pure yaw has none, a 0.3 rad pitch on top of it has 0.3.
    assert tilt_angle(yaw_90) == pytest.approx(0.0, abs=1e-12)
    pitch = [math.cos(0.15), 0.0, math.sin(0.15), 0.0]
    assert tilt_angle(pitch) == pytest.approx(0.3)
    assert tilt_angle(pitch, reference=pitch) == pytest.approx(0.0, abs=1e-7)


def test_product_conjugate_and_rotation_vector_match_scipy():
    first, second = Rotation.random(2, random_state=5)
    product = quat_multiply(wxyz(first), wxyz(second))
    np.testing.assert_allclose(np.abs(product @ wxyz(first * second)), 1.0, atol=1e-12)
    np.testing.assert_allclose(quat_multiply(wxyz(first), quat_conjugate(wxyz(first))),
                               [1.0, 0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(quat_to_rotvec(wxyz(first)), first.as_rotvec(), atol=1e-12)
    np.testing.assert_allclose(quat_to_rotvec([1.0, 0.0, 0.0, 0.0]), [0.0, 0.0, 0.0])


def test_yaw_tilt_and_gravity_ignore_the_length_of_the_quaternion():
    # Integrators and messages deliver slightly non-unit quaternions (and a test may scale one
    # by 3): the angles must be those of the rotation, not of the length.
    rotations = Rotation.random(50, random_state=7)
    unit = np.array([wxyz(rotation) for rotation in rotations])
    lengths = np.random.default_rng(1).uniform(0.5, 3.0, size=(50, 1))
    scaled = unit * lengths
    expected_yaw = np.array([rotation.as_euler('ZYX')[0] for rotation in rotations])
    np.testing.assert_allclose(yaw_angle(unit), expected_yaw, atol=1e-12)
    np.testing.assert_allclose(yaw_angle(scaled), expected_yaw, atol=1e-12)
    np.testing.assert_allclose(projected_gravity(scaled), projected_gravity(unit), atol=1e-12)
    np.testing.assert_allclose(tilt_angle(scaled), tilt_angle(unit), atol=1e-9)
    reference = unit[::-1]
    np.testing.assert_allclose(tilt_angle(scaled, 2.0 * reference), tilt_angle(unit, reference),
                               atol=1e-7)
    tilted = np.array([math.cos(0.2), math.sin(0.2), 0.0, 0.0])   # 0.4 rad of roll
    assert tilt_angle(1.02 * tilted) == pytest.approx(0.4)
    assert tilt_angle(1.02 * tilted, [0.98, 0.0, 0.0, 0.0]) == pytest.approx(0.4)


def test_wrap_angle_lands_in_minus_pi_pi():
    angles = np.array([0.0, math.pi, -math.pi, 3.5 * math.pi, -7.0, 1e-3])
    wrapped = wrap_angle(angles)
    assert np.all(wrapped >= -math.pi) and np.all(wrapped < math.pi)
    np.testing.assert_allclose(np.cos(wrapped), np.cos(angles), atol=1e-12)
    np.testing.assert_allclose(np.sin(wrapped), np.sin(angles), atol=1e-12)
    assert wrap_angle(math.pi) == pytest.approx(-math.pi)
