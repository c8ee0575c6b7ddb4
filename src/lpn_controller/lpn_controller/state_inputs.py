"""
Checks on the state the controller is fed, and where the body's orientation and velocity come from.

Nothing a driver sends is trusted: each check here either returns the value in the controller's
convention or raises :class:`InvalidInput` naming the input and what is wrong with it, and the
controller turns that into passive damping with the same words (controller.py). Plain numpy, no
ROS: the node's message conversion (message_fields.py) and the controller core both call these.

Odometry frames. ``nav_msgs/Odometry`` puts the pose in ``header.frame_id`` (odom) and the twist
in ``child_frame_id`` (the body). Some drivers fill the twist in the odom frame instead: Boston
Dynamics' Spot driver (spot_ros2's spot_driver) publishes the body's velocity in odom (or vision)
while ``child_frame_id`` says body. The policies observe body-frame velocity, so such a twist is
rotated into the body frame with the orientation of the same message (``twist_frame: odom``).
"""

from dataclasses import dataclass
import math
from typing import Optional

from lpn_controller.rotations import rotate_into_body, yaw_angle
import numpy as np

#: The frame a driver's odometry twist is expressed in: nav_msgs' child frame (the body), or the
#: pose's own frame (header.frame_id: odom, or vision on Spot with vision odometry).
TWIST_FRAMES = ('child', 'odom')
#: Where gravity, tilt and heading are read from: the IMU's orientation, or the odometry's pose
#: (as Boston Dynamics' spot-rl-example does), for a driver whose IMU frame is not the body's.
ORIENTATION_SOURCES = ('imu', 'odometry')

# A geometry_msgs quaternion should be unit; integrators drift slightly, a wrong field does not.
UNIT_NORM_TOLERANCE = 0.1


class InvalidInput(ValueError):
    """A message field the controller cannot use; the text names the input and the problem."""


@dataclass(frozen=True)
class OdometryConfig:
    """
    How the controller reads a driver's odometry (nav_msgs/Odometry).

    ``twist_frame``: one of TWIST_FRAMES. ``timeout_s``: odometry older than this latches
    damping, apart from the joint-state watchdog (a driver's odometry usually comes slower than
    its joint states: 50 Hz on Spot against 333 Hz). ``orientation_source``: one of
    ORIENTATION_SOURCES.
    """

    twist_frame: str = 'child'
    timeout_s: float = 0.1
    orientation_source: str = 'imu'

    def __post_init__(self):
        """Refuse unknown frames and sources and a non-positive timeout, naming the choices."""
        if self.twist_frame not in TWIST_FRAMES:
            raise ValueError(f'odometry twist frame {self.twist_frame!r} is not one of '
                             f'{", ".join(TWIST_FRAMES)}')
        if self.orientation_source not in ORIENTATION_SOURCES:
            raise ValueError(f'orientation source {self.orientation_source!r} is not one of '
                             f'{", ".join(ORIENTATION_SOURCES)}')
        if not (isinstance(self.timeout_s, (int, float)) and math.isfinite(self.timeout_s)
                and self.timeout_s > 0.0):
            raise ValueError(f'odometry timeout must be a positive number of seconds, got '
                             f'{self.timeout_s!r}')


def as_float_array(values, what: str, size: Optional[int] = None) -> np.ndarray:
    """
    Return ``values`` as a 1-D float64 array of ``size`` entries (any size when None).

    Raises InvalidInput for anything that is not a flat list of numbers of that length.
    NaN and inf pass: the caller decides what a non-finite value means.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f'{what}: not a list of numbers ({error})') from error
    if array.ndim != 1:
        raise InvalidInput(f'{what}: expected a flat list of numbers, got shape {array.shape}')
    if size is not None and array.shape[0] != size:
        raise InvalidInput(f'{what}: {array.shape[0]} values, expected {size}')
    return array


def checked_vector(values, what: str, size: int = 3) -> np.ndarray:
    """Return a finite vector of ``size`` floats, or raise InvalidInput naming ``what``."""
    vector = as_float_array(values, what, size)
    if not np.all(np.isfinite(vector)):
        raise InvalidInput(f'{what}: NaN or inf in {vector.tolist()}')
    return vector


def checked_orientation(orientation_wxyz, what: str) -> np.ndarray:
    """
    Return the unit quaternion [w, x, y, z] of a body-to-world orientation.

    ``orientation_wxyz`` None means the message says it has none (sensor_msgs/Imu:
    orientation_covariance[0] == -1). Raises InvalidInput for that, a zero, non-finite or
    clearly non-unit quaternion: each would make gravity, tilt and heading meaningless (a zero
    quaternion divides by zero in the projected gravity).
    """
    if orientation_wxyz is None:
        raise InvalidInput(f'{what}: absent (the message reports no orientation, '
                           'orientation_covariance[0] == -1)')
    quaternion = as_float_array(orientation_wxyz, what, 4)
    if not np.all(np.isfinite(quaternion)):
        raise InvalidInput(f'{what}: NaN or inf in the quaternion {quaternion.tolist()}')
    norm = float(np.sqrt(np.dot(quaternion, quaternion)))
    if norm == 0.0:
        raise InvalidInput(f'{what}: the quaternion is all zeros')
    if abs(norm - 1.0) > UNIT_NORM_TOLERANCE:
        raise InvalidInput(f'{what}: quaternion norm {norm:.4g} is not 1 (a unit quaternion is '
                           'expected)')
    return quaternion / norm


@dataclass(frozen=True)
class OdometryReading:
    """What the controller takes from one odometry message (see read_odometry)."""

    body_velocity: np.ndarray              # the twist's linear velocity in the body frame, m/s
    orientation: Optional[np.ndarray]      # the pose's unit quaternion, when it was read
    position: Optional[np.ndarray]         # the pose's position (odom frame), when it was read
    yaw: float = 0.0                       # the pose's yaw, rad, when the position was read


def read_odometry(config: OdometryConfig, linear_velocity, orientation_wxyz=None,
                  position=None, with_position: bool = False) -> OdometryReading:
    """
    Check and convert one odometry message's fields; raises InvalidInput naming a bad one.

    The orientation is read when the twist is in the odom frame (to rotate it into the body),
    under ``orientation_source: odometry``, or ``with_position`` (the position is counted in the
    odometry's heading frame); the position only ``with_position``.
    """
    velocity = checked_vector(linear_velocity, 'odometry twist linear velocity')
    orientation = None
    if config.twist_frame == 'odom' or config.orientation_source == 'odometry' or with_position:
        orientation = checked_orientation(orientation_wxyz, 'odometry orientation')
    if config.twist_frame == 'odom':
        velocity = rotate_into_body(orientation, velocity)
    if not with_position:
        return OdometryReading(velocity, orientation, None)
    return OdometryReading(velocity, orientation,
                           checked_vector(position, 'odometry pose position'),
                           float(yaw_angle(orientation)))
