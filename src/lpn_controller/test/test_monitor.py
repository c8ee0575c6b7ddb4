"""Smoothness monitor: window handling and OK/WARN/ERROR levels."""

import math

from lpn_controller.monitor import Level, MonitorConfig, SmoothnessMonitor, Threshold
import numpy as np
import pytest

RATE = 50.0
JOINTS = ('hip', 'knee', 'wrist')


def gait(samples, amplitude=0.3, frequency=2.0):
    time = np.arange(samples) / RATE
    return amplitude * np.sin(2 * math.pi * frequency * time)[:, None] * np.ones(len(JOINTS))


def fed_monitor(actions, config=MonitorConfig()):
    monitor = SmoothnessMonitor(JOINTS, RATE, config)
    for action in actions:
        monitor.push(action)
    return monitor


def test_window_is_bounded_and_ordered():
    monitor = SmoothnessMonitor(JOINTS, RATE, MonitorConfig(window_s=0.2))
    assert monitor.window_length == 10
    for step in range(37):
        monitor.push(np.full(3, float(step)))
    window = monitor.window()
    assert window.shape == (10, 3)
    np.testing.assert_array_equal(window[:, 0], np.arange(27, 37))
    monitor.reset()
    assert monitor.samples == 0 and monitor.window().shape == (0, 3)


def test_filling_window_reports_ok_without_figures():
    report = fed_monitor(gait(30)).report()
    assert report.level == Level.OK
    assert report.hfr is None and report.samples == 30 and report.window_length == 100
    assert report.hfr_power_weighted is None
    assert 'filling' in report.message


def test_smooth_gait_is_ok():
    report = fed_monitor(gait(400)).report()
    assert report.level == Level.OK, report.message
    assert report.hfr < 0.01
    assert 0.0 <= report.hfr_power_weighted < 0.01
    assert report.sample_rate_hz == RATE and report.window_length == 100
    assert set(report.per_joint) == set(JOINTS)
    assert report.per_joint['knee'].action_rate == pytest.approx(report.action_rate / math.sqrt(3),
                                                                 rel=1e-9)


def test_noisy_actions_are_an_error():
    actions = gait(200) + np.random.default_rng(0).normal(0.0, 0.2, (200, 3))
    report = fed_monitor(actions).report()
    assert report.level == Level.ERROR
    assert report.message.startswith('ERROR: ')
    assert 'hip (' in report.message and 'hfr' in report.message


def test_levels_follow_thresholds():
    actions = gait(200) + np.random.default_rng(1).normal(0.0, 0.03, (200, 3))
    report = fed_monitor(actions).report()
    loose = MonitorConfig(hfr=Threshold(report.hfr * 2, None), sm=Threshold(None, None),
                          action_rate=Threshold(None, None))
    assert fed_monitor(actions, loose).report().level == Level.OK
    warn = MonitorConfig(hfr=Threshold(report.hfr * 0.5, report.hfr * 10),
                         sm=Threshold(None, None), action_rate=Threshold(None, None))
    assert fed_monitor(actions, warn).report().level == Level.WARN
    rate_error = MonitorConfig(hfr=Threshold(None, None), sm=Threshold(None, None),
                               action_rate=Threshold(None, report.action_rate * 0.9))
    rate_report = fed_monitor(actions, rate_error).report()
    assert rate_report.level == Level.ERROR
    assert rate_report.message.startswith('ERROR: action_rate ')


def test_one_jittering_joint_raises_the_level_and_is_named():
    actions = gait(200)
    # 25 Hz chatter of 0.3 rad: power 0.09 against the gait's 0.045, so HFR = 2/3.
    actions[:, 2] += 0.3 * np.where(np.arange(200) % 2 == 0, 1.0, -1.0)
    config = MonitorConfig(hfr=Threshold(0.3, 0.6), sm=Threshold(None, None),
                           action_rate=Threshold(None, None))
    report = fed_monitor(actions, config).report()
    assert report.per_joint['wrist'].hfr == pytest.approx(2 / 3, abs=1e-3)
    assert report.per_joint['wrist'].level == Level.ERROR
    assert report.per_joint['hip'].level == Level.OK
    assert report.level == Level.ERROR
    assert report.message.startswith('ERROR: wrist (hfr ')
    assert 'hip' not in report.message


def test_a_joint_that_barely_moves_is_not_judged_on_hfr():
    actions = gait(200)
    actions[:, 1] = 1e-4 * np.random.default_rng(2).normal(size=200)  # tiny noise, high HFR
    report = fed_monitor(actions).report()
    assert report.per_joint['knee'].hfr > 0.3
    assert report.per_joint['knee'].level == Level.OK
    assert report.level == Level.OK


def test_invalid_settings_are_rejected():
    with pytest.raises(ValueError, match='at least 8'):
        SmoothnessMonitor(JOINTS, RATE, MonitorConfig(window_s=0.1))
    with pytest.raises(ValueError, match='Nyquist'):
        SmoothnessMonitor(JOINTS, 15.0, MonitorConfig(window_s=2.0, cutoff_hz=10.0))


def test_an_intended_large_slow_arm_swing_is_not_flagged_by_default():
    # Measured on a trained trot_arm_wave policy in ROS: the wrist swings with amplitude ~1
    # (action units) at 0.83 Hz, off the window's bins; the earlier Sm default warned on it.
    time = np.arange(200) / 50.0
    actions = np.full((200, len(JOINTS)), 0.1)
    actions[:, 2] = np.sin(2 * math.pi * 0.83 * time + 0.3)
    assert fed_monitor(actions, MonitorConfig()).report().level == Level.OK
    earlier = MonitorConfig(sm=Threshold(warn=0.004, error=0.008))
    assert fed_monitor(actions, earlier).report().level != Level.OK
    assert Threshold.from_parameters(0.0, 0.0) == Threshold(None, None)
    assert Threshold.from_parameters(0.1, 0.3).as_parameters() == (0.1, 0.3)
