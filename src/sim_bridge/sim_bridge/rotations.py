"""
Rotations of [w, x, y, z] quaternions (MuJoCo's order), broadcast over leading axes.

One implementation for the bridge node (odometry twist), the demo, the trainer's reward and its
evaluation. lpn_controller keeps its own projected gravity: it must run without sim_bridge.
"""

import numpy as np


def rotate_into_body(quaternion_wxyz, vector_world):
    """
    Express world-frame vectors in the body frame of [w, x, y, z] orientations.

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
    inverse = np.asarray(quaternion_wxyz, dtype=float) * np.array([1.0, -1.0, -1.0, -1.0])
    return rotate_into_body(inverse, vector_body)


def tilt_angle(quaternion_wxyz, reference_wxyz=(1.0, 0.0, 0.0, 0.0)):
    """
    Return the angle (rad) between the body's up axis and the reference's (the world's).

    Roll and pitch only: heading does not count, so a robot that turned while upright has no
    tilt.
    """
    up = np.array([0.0, 0.0, 1.0])
    body_up = rotate_into_world(quaternion_wxyz, up)
    reference_up = rotate_into_world(reference_wxyz, up)
    return np.arccos(np.clip(np.sum(body_up * reference_up, axis=-1), -1.0, 1.0))


def yaw_angle(quaternion_wxyz):
    """Return the heading (rad, in [-pi, pi]) of [w, x, y, z] orientations: yaw about world z."""
    w, x, y, z = np.moveaxis(np.asarray(quaternion_wxyz, dtype=float), -1, 0)
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
