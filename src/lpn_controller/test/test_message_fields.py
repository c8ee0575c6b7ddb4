"""Message-field conversions and diagnostics content, without ROS."""

from types import SimpleNamespace

from lpn_controller.message_fields import (
    imu_orientation_wxyz, monitor_diagnostic, quaternion_to_wxyz, safety_diagnostic,
    seconds_to_stamp, stamp_to_seconds, vector3_to_array, wxyz_to_xyzw)
from lpn_controller.monitor import MonitorConfig, SmoothnessMonitor
from lpn_controller.safety import SafetyMode
import numpy as np
import pytest


def quaternion(x, y, z, w):
    return SimpleNamespace(x=x, y=y, z=z, w=w)


def test_quaternion_orders():
    np.testing.assert_array_equal(quaternion_to_wxyz(quaternion(0.1, 0.2, 0.3, 0.9)),
                                  [0.9, 0.1, 0.2, 0.3])
    assert wxyz_to_xyzw([0.9, 0.1, 0.2, 0.3]) == (0.1, 0.2, 0.3, 0.9)
    np.testing.assert_array_equal(vector3_to_array(SimpleNamespace(x=1, y=2, z=3)), [1, 2, 3])


def test_imu_without_orientation_reads_as_nan():
    imu = SimpleNamespace(orientation=quaternion(0, 0, 0, 1),
                          orientation_covariance=[-1.0] + [0.0] * 8)
    assert np.all(np.isnan(imu_orientation_wxyz(imu)))
    imu.orientation_covariance = [0.0] * 9
    np.testing.assert_array_equal(imu_orientation_wxyz(imu), [1, 0, 0, 0])


def test_stamps():
    assert stamp_to_seconds(SimpleNamespace(sec=3, nanosec=500_000_000)) == 3.5
    assert seconds_to_stamp(3.25) == (3, 250_000_000)


def test_diagnostics_content():
    level, message, values = safety_diagnostic(SafetyMode.DAMPING, 'e-stop (topic)', True,
                                               50.0, None)
    assert level == 2 and message == 'damping: e-stop (topic)'
    assert ('estop_active', 'True') in values and ('phase', 'n/a') in values
    assert safety_diagnostic(SafetyMode.POLICY, 'ok', False, 50.0, 0.25)[0] == 0

    monitor = SmoothnessMonitor(['hip'], 50.0, MonitorConfig(window_s=0.2))
    for step in range(10):
        monitor.push([0.01 * step])
    report = monitor.report()
    level, message, values = monitor_diagnostic(report)
    keys = dict(values)
    assert level == int(report.level) and message == report.message
    assert float(keys['hfr']) == pytest.approx(report.hfr, rel=1e-5)
    assert float(keys['hfr_power_weighted']) == pytest.approx(report.hfr_power_weighted,
                                                              rel=1e-5)
    assert keys['sample_rate_hz'] == '50' and keys['window_length'] == '10'
    assert {'hip/hfr', 'hip/sm', 'hip/action_rate', 'hip/level'} <= set(keys)
