"""
Conversions between ROS message fields and library conventions, without importing ROS.

Functions take plain values or duck-typed objects with the message's attribute names, so they
are tested without rclpy. ROS quaternions are (x, y, z, w); library code uses [w, x, y, z].
"""

from typing import List, Sequence, Tuple

from lpn_controller.monitor import MonitorReport
from lpn_controller.safety import SafetyMode
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
