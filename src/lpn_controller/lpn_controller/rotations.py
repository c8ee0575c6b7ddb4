"""
Rotations of [w, x, y, z] quaternions (MuJoCo's order, body to world), the one implementation.

The controller, the simulator (sim_bridge imports this module: the controller must run without
the simulator, not the other way round) and the trainer use these functions. Every function
broadcasts over leading axes, and every angle they return is the same for a quaternion and for any
positive multiple of it: integrators and messages deliver slightly non-unit quaternions, and yaw,
tilt and projected gravity must not depend on the length. quat_multiply, quat_conjugate and the
rotate_* functions are the algebra itself and do scale with it.
"""

import numpy as np

IDENTITY = (1.0, 0.0, 0.0, 0.0)


def quat_multiply(a, b):
    """Hamilton product of [w, x, y, z] quaternions (broadcasting over leading axes)."""
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=float), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=float), -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def quat_conjugate(q):
    """Conjugate of [w, x, y, z] quaternions: the inverse rotation of unit ones."""
    return np.asarray(q, dtype=float) * np.array([1.0, -1.0, -1.0, -1.0])


def quat_to_rotvec(q):
    """Rotation vectors (axis times angle in [0, pi]) of [w, x, y, z] quaternions."""
    q = np.asarray(q, dtype=float)
    q = np.where(q[..., :1] < 0, -q, q)
    w, v = q[..., 0], q[..., 1:]
    s = np.linalg.norm(v, axis=-1)
    small = s < 1e-12
    # sin(angle / 2) = s and cos(angle / 2) = w; near zero angle/s -> 2 / w.
    scale = np.where(small, 2.0 / np.where(small, w, 1.0),
                     2.0 * np.arctan2(s, w) / np.where(small, 1.0, s))
    return v * scale[..., None]


def rotate_into_body(quaternion_wxyz, vector_world):
    """
    Express world-frame vectors in the body frame of unit [w, x, y, z] orientations.

    Broadcasts over leading axes: (4,) with (3,), or (N, 4) with (N, 3).
    """
    quaternion = np.asarray(quaternion_wxyz, dtype=float)
    vector = np.asarray(vector_world, dtype=float)
    w = quaternion[..., :1]
    axis = -quaternion[..., 1:]  # the inverse rotation
    twice_cross = 2.0 * np.cross(axis, vector)
    return vector + w * twice_cross + np.cross(axis, twice_cross)


def rotate_into_world(quaternion_wxyz, vector_body):
    """Express body-frame vectors in the world frame (the inverse of rotate_into_body)."""
    return rotate_into_body(quat_conjugate(quaternion_wxyz), vector_body)


def projected_gravity(orientation):
    """
    Return the unit gravity direction in the body frame, shape ``(..., 3)``.

    ``orientation`` is a body-to-world quaternion ``[w, x, y, z]`` of shape ``(..., 4)``; it is
    normalised here. An upright body gives ``[0, 0, -1]``.
    """
    q = np.asarray(orientation, dtype=np.float64)
    # R(q) is quadratic in q, so dividing by |q|^2 gives the rotation of the unit quaternion.
    # R^T @ [0, 0, -1] is minus the third row of R, written out to avoid building R.
    if q.ndim == 1:
        # Python floats: several times faster than numpy scalars for the per-step case.
        w, x, y, z = q.tolist()
        scale = 1.0 / (w * w + x * x + y * y + z * z)
        return np.array([-2.0 * (x * z - w * y) * scale, -2.0 * (y * z + w * x) * scale,
                         (x * x + y * y - w * w - z * z) * scale])
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    scale = 1.0 / (w * w + x * x + y * y + z * z)
    gravity = np.empty(q.shape[:-1] + (3,))
    gravity[..., 0] = -2.0 * (x * z - w * y) * scale
    gravity[..., 1] = -2.0 * (y * z + w * x) * scale
    gravity[..., 2] = (x * x + y * y - w * w - z * z) * scale
    return gravity


def yaw_angle(orientation):
    """Return the yaw (rad, in [-pi, pi]) of body-to-world quaternions ``[w, x, y, z]``."""
    q = np.asarray(orientation, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    # Both arguments scale with |q|^2, so the angle does not depend on the length.
    return np.arctan2(2.0 * (w * z + x * y), w * w + x * x - y * y - z * z)


def heading_frame(vectors, yaw):
    """Return (along, across) the heading ``yaw`` of the horizontal part of world vectors."""
    vectors = np.asarray(vectors, dtype=float)
    cos, sin = np.cos(yaw), np.sin(yaw)
    return (cos * vectors[..., 0] + sin * vectors[..., 1],
            -sin * vectors[..., 0] + cos * vectors[..., 1])


def wrap_angle(angle):
    """Return angles (rad) wrapped to [-pi, pi)."""
    return np.mod(np.asarray(angle, dtype=np.float64) + np.pi, 2.0 * np.pi) - np.pi


def tilt_angle(orientation, reference=None):
    """
    Return the angle (rad) between the body's up axis and the reference's (default: the world's).

    Roll and pitch only: heading does not count, so a robot that turned while upright has no
    tilt. 0 upright, pi/2 on its side, pi upside down.
    """
    if reference is None:
        return np.arccos(np.clip(-projected_gravity(orientation)[..., 2], -1.0, 1.0))
    cosine = np.sum(_up_axis(orientation) * _up_axis(reference), axis=-1)
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def _up_axis(orientation):
    """Return the body z axis in the world (the third column of R(q)), for any length of q."""
    q = np.asarray(orientation, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    scale = 1.0 / (w * w + x * x + y * y + z * z)
    return np.stack([2.0 * (x * z + w * y) * scale, 2.0 * (y * z - w * x) * scale,
                     (w * w - x * x - y * y + z * z) * scale], axis=-1)
