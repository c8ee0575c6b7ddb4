"""
Conversions between ROS message fields and library conventions, without importing ROS.

Functions take plain values or duck-typed objects with the message's attribute names, so they
are tested without rclpy. ROS quaternions are (x, y, z, w); library code uses [w, x, y, z].
"""

from typing import List, Optional, Sequence, Tuple

from lpn_controller.monitor import MonitorReport
from lpn_controller.safety import SafetyMode
from lpn_controller.state_inputs import as_float_array, InvalidInput
import numpy as np


def quaternion_to_wxyz(quaternion) -> np.ndarray:
    """Return [w, x, y, z] from an object with x, y, z, w (geometry_msgs/Quaternion)."""
    return np.array([quaternion.w, quaternion.x, quaternion.y, quaternion.z], dtype=np.float64)


def wxyz_to_xyzw(orientation_wxyz: Sequence[float]) -> Tuple[float, float, float, float]:
    """Return (x, y, z, w) for filling a geometry_msgs/Quaternion from [w, x, y, z]."""
    w, x, y, z = (float(value) for value in orientation_wxyz)
    return x, y, z, w


def vector3_to_array(vector) -> np.ndarray:
    """Return [x, y, z] from an object with x, y, z (geometry_msgs/Vector3)."""
    return np.array([vector.x, vector.y, vector.z], dtype=np.float64)


def imu_orientation_wxyz(imu) -> np.ndarray:
    """
    Return the IMU orientation as [w, x, y, z]; NaNs when the IMU reports none.

    REP 145: orientation_covariance[0] == -1 means the orientation field is not filled.
    """
    covariance = imu.orientation_covariance
    if len(covariance) > 0 and covariance[0] == -1.0:
        return np.full(4, np.nan)
    return quaternion_to_wxyz(imu.orientation)


def joint_state_fields(message) -> Tuple[List[str], np.ndarray, Optional[np.ndarray]]:
    """
    Return (names, positions, velocities or None) of a sensor_msgs/JointState.

    Raises InvalidInput for no names, a name that is not text or is listed twice, positions not
    one per name, or velocities neither one per name nor absent (an empty list: None). Values
    may be NaN: the controller names and handles those.
    """
    names = list(message.name)
    if not names:
        raise InvalidInput('no joint names')
    if not all(isinstance(name, str) and name for name in names):
        raise InvalidInput(f'a joint name is empty or not text: {names!r}')
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise InvalidInput(f'joint(s) listed twice: {", ".join(twice)}')
    positions = as_float_array(message.position, 'position', len(names))
    velocities = None
    if len(message.velocity) > 0:
        velocities = as_float_array(message.velocity, 'velocity', len(names))
    return names, positions, velocities


def imu_fields(imu) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """
    Return (orientation [w, x, y, z] or None, angular velocity) of a sensor_msgs/Imu.

    None when the IMU says it has no orientation (REP 145: orientation_covariance[0] == -1);
    the values are not checked here (the controller checks what it reads).
    """
    covariance = as_float_array(imu.orientation_covariance, 'orientation_covariance')
    orientation = None
    if not (covariance.size > 0 and covariance[0] == -1.0):
        orientation = as_float_array(_wxyz_values(imu.orientation), 'orientation', 4)
    return orientation, as_float_array(_xyz_values(imu.angular_velocity),
                                       'angular_velocity', 3)


def odometry_fields(odometry) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Return the fields of a nav_msgs/Odometry the controller reads.

    (twist linear velocity, pose orientation [w, x, y, z], pose position).
    """
    return (as_float_array(_xyz_values(odometry.twist.twist.linear),
                           'twist.twist.linear', 3),
            as_float_array(_wxyz_values(odometry.pose.pose.orientation),
                           'pose.pose.orientation', 4),
            as_float_array(_xyz_values(odometry.pose.pose.position), 'pose.pose.position', 3))


def command_fields(message) -> np.ndarray:
    """Return the values of a std_msgs/Float64MultiArray command."""
    return as_float_array(message.data, 'data')


def _wxyz_values(quaternion) -> list:
    # A list, not an array: a field of the wrong type then fails in as_float_array, named.
    return [quaternion.w, quaternion.x, quaternion.y, quaternion.z]


def _xyz_values(vector) -> list:
    return [vector.x, vector.y, vector.z]


def stamp_to_seconds(stamp) -> float:
    """Return seconds from an object with sec and nanosec (builtin_interfaces/Time)."""
    return stamp.sec + 1e-9 * stamp.nanosec


def seconds_to_stamp(seconds: float) -> Tuple[int, int]:
    """Return (sec, nanosec) for a builtin_interfaces/Time."""
    nanoseconds = int(round(seconds * 1e9))
    return nanoseconds // 1_000_000_000, nanoseconds % 1_000_000_000


SAFETY_MODE_LEVELS = {
    SafetyMode.WAITING: 1,
    SafetyMode.INTERPOLATING: 0,
    SafetyMode.POLICY: 0,
    SafetyMode.DAMPING: 2,
}


def safety_diagnostic(mode: SafetyMode, reason: str, estop_active: bool,
                      control_rate_hz: float, phase) -> Tuple[int, str, List[Tuple[str, str]]]:
    """Return (level 0/1/2, message, key-value pairs) for the safety DiagnosticStatus."""
    values = [
        ('mode', mode.value),
        ('reason', reason),
        ('estop_active', str(estop_active)),
        ('control_rate_hz', f'{control_rate_hz:g}'),
        ('phase', 'n/a' if phase is None else f'{phase:.4f}'),
    ]
    return SAFETY_MODE_LEVELS[mode], f'{mode.value}: {reason}', values


def monitor_diagnostic(report: MonitorReport) -> Tuple[int, str, List[Tuple[str, str]]]:
    """Return (level 0/1/2, message, key-value pairs) for the smoothness DiagnosticStatus."""
    def figure(value):
        return 'n/a' if value is None else f'{value:.6g}'

    values = [
        ('sample_rate_hz', f'{report.sample_rate_hz:g}'),
        ('window_length', str(report.window_length)),
        ('samples', str(report.samples)),
        ('hfr', figure(report.hfr)),
        ('hfr_power_weighted', figure(report.hfr_power_weighted)),
        ('sm', figure(report.sm)),
        ('action_rate', figure(report.action_rate)),
    ]
    for name, joint in report.per_joint.items():
        values.extend([
            (f'{name}/hfr', figure(joint.hfr)),
            (f'{name}/sm', figure(joint.sm)),
            (f'{name}/action_rate', figure(joint.action_rate)),
            (f'{name}/level', joint.level.name),
        ])
    return int(report.level), report.message, values
