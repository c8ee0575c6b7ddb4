"""The plain-Python control loop: start-up sequence, policy steps, faults, damping, limits."""

import dataclasses

from lpn_controller.controller import ControllerConfig, ControllerCore, minimum_jerk
from lpn_controller.example_policy import make_example_policy
from lpn_controller.monitor import Level, MonitorConfig
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyConfig, SafetyMode
import numpy as np
import pytest

JOINTS = ('hip', 'knee', 'elbow')
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])
DT = 0.02


def make_core(config=None, lower=None, upper=None):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=11, phase_period_s=0.5)
    runtime = make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact')
    config = config or ControllerConfig(safety=SafetyConfig(0.1, 0.8, 1.0),
                                        monitor=MonitorConfig(window_s=1.0))
    lower = metadata.default_pose - 1.0 if lower is None else lower
    upper = metadata.default_pose + 1.0 if upper is None else upper
    return ControllerCore(runtime, lower, upper, config)


def live_rates(time):
    """Return body rates that change every message, as a live IMU's do (a constant is frozen)."""
    return np.array([0.01, -0.02, 0.03]) + 1e-6 * time


def feed(core, time, positions, velocities=np.zeros(3), orientation=UPRIGHT):
    core.set_joint_state(time, positions, velocities)
    core.set_imu(time, orientation, live_rates(time))


def run_until_policy(core, positions):
    time = 0.0
    while core.safety.mode != SafetyMode.POLICY:
        feed(core, time, positions)
        output = core.step(time)
        time += DT
    return time - DT, output


def test_nothing_to_command_before_any_state():
    core = make_core()
    output = core.step(0.0)
    assert output.mode == SafetyMode.WAITING and output.joint_targets is None


def test_waiting_with_joint_states_only_commands_measured_positions():
    core = make_core()
    positions = np.array([0.1, 0.2, 0.3])
    core.set_joint_state(0.0, positions, np.array([1.0, 2.0, 3.0]))
    output = core.step(0.01)
    assert output.mode == SafetyMode.WAITING
    np.testing.assert_allclose(output.joint_targets, positions)


def test_interpolation_to_the_default_pose_follows_minimum_jerk():
    core = make_core()
    start = core.metadata.default_pose + np.array([0.5, -0.5, 0.2])
    targets = {}
    for step in range(51):
        time = step * DT
        feed(core, time, start)
        output = core.step(time)
        targets[step] = (output.mode, output.joint_targets)
    default = core.metadata.default_pose
    assert targets[0][0] == SafetyMode.INTERPOLATING
    np.testing.assert_allclose(targets[0][1], start)
    np.testing.assert_allclose(targets[25][1], start + 0.5 * (default - start))
    np.testing.assert_allclose(targets[10][1], start + minimum_jerk(0.2) * (default - start))
    assert targets[50][0] == SafetyMode.POLICY
    assert minimum_jerk(0.2) == pytest.approx(0.05792)


def test_policy_step_matches_runtime_and_observation():
    core = make_core()
    positions = core.metadata.default_pose + 0.05
    engaged_at, first = run_until_policy(core, positions)
    assert first.phase == 0.0
    runtime, builder = core.runtime, core.builder
    expected_observation = builder.build(positions, np.zeros(3), UPRIGHT, live_rates(engaged_at),
                                         np.zeros(3))
    expected_action = runtime.act(expected_observation, 0.0)
    np.testing.assert_allclose(first.action, expected_action)
    np.testing.assert_allclose(first.joint_targets,
                               core.metadata.default_pose + 0.25 * expected_action)

    time = engaged_at + DT
    feed(core, time, positions)
    second = core.step(time)
    assert second.phase == pytest.approx(DT / 0.5)
    observation = builder.build(positions, np.zeros(3), UPRIGHT, live_rates(time),
                                first.action)
    np.testing.assert_allclose(second.action, runtime.act(observation, DT / 0.5))


def test_targets_are_clamped_to_limits():
    metadata, _ = make_example_policy('lpn', JOINTS, seed=11)
    narrow_lower = metadata.default_pose - 1e-3
    narrow_upper = metadata.default_pose + 1e-3
    core = make_core(lower=narrow_lower, upper=narrow_upper)
    _, output = run_until_policy(core, metadata.default_pose + 0.3)
    assert np.all(output.joint_targets >= narrow_lower)
    assert np.all(output.joint_targets <= narrow_upper)
    waiting = make_core(lower=narrow_lower, upper=narrow_upper)
    waiting.set_joint_state(0.0, metadata.default_pose + 0.3, np.zeros(3))
    np.testing.assert_allclose(waiting.step(0.0).joint_targets, narrow_upper)


def test_non_finite_action_falls_back_to_damping(monkeypatch):
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    monkeypatch.setattr(core.runtime, 'act', lambda observation, phase: np.full(3, np.nan))
    time += DT
    feed(core, time, positions)
    output = core.step(time)
    assert output.mode == SafetyMode.DAMPING and output.action is None
    assert 'NaN' in output.transitions[-1].reason
    np.testing.assert_allclose(output.joint_targets, positions)


def test_stale_state_and_nan_inputs_fall_back_to_damping():
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    output = core.step(time + 0.5)
    assert output.mode == SafetyMode.DAMPING and 'stale' in output.transitions[0].reason
    np.testing.assert_allclose(output.joint_targets, positions)

    core = make_core()
    time, _ = run_until_policy(core, positions)
    feed(core, time + DT, np.array([np.nan, 0.0, 0.0]))
    output = core.step(time + DT)
    assert output.mode == SafetyMode.DAMPING and 'NaN' in output.transitions[0].reason
    # The last finite positions are held.
    np.testing.assert_allclose(output.joint_targets, positions)


def test_missing_velocities_never_start_the_policy():
    core = make_core()
    core.set_joint_state(0.0, core.metadata.default_pose, None)
    core.set_imu(0.0, UPRIGHT, np.zeros(3))
    assert core.step(0.0).mode == SafetyMode.WAITING


def test_tilt_falls_back_to_damping():
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    tilted = np.array([np.cos(0.5), np.sin(0.5), 0.0, 0.0])  # 1 rad about x
    feed(core, time + DT, positions, orientation=tilted)
    output = core.step(time + DT)
    assert output.mode == SafetyMode.DAMPING and 'tilt' in output.transitions[0].reason


def test_extra_passive_damping_through_position_targets():
    config = ControllerConfig(passive_extra_damping=6.0)
    core = make_core(config)
    positions, velocities = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])
    core.set_joint_state(0.0, positions, velocities)
    # kp is 60 for every joint: target = q - (6 / 60) qdot.
    np.testing.assert_allclose(core.step(0.0).joint_targets, positions - 0.1 * velocities)


def test_estop_and_reset_restart_through_interpolation():
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    assert core.engage_estop(time, 'topic').mode == SafetyMode.DAMPING
    feed(core, time + DT, positions)
    assert core.step(time + DT).mode == SafetyMode.DAMPING
    assert core.reset_estop(time + DT).mode == SafetyMode.WAITING
    feed(core, time + 2 * DT, positions)
    assert core.step(time + 2 * DT).mode == SafetyMode.INTERPOLATING


def test_monitor_runs_only_under_the_policy():
    core = make_core()
    report = core.monitor_report()
    assert report.level == Level.OK and 'not engaged' in report.message
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    for _ in range(60):
        time += DT
        feed(core, time, positions)
        core.step(time)
    report = core.monitor_report()
    assert report.samples == report.window_length == 50
    assert report.hfr is not None and report.sample_rate_hz == 50.0


def test_command_and_limit_checks():
    core = make_core()
    with pytest.raises(ValueError, match='command has 2 values'):
        core.set_command(np.zeros(2))
    metadata, _ = make_example_policy('lpn', JOINTS, seed=11)
    with pytest.raises(ValueError, match='expected 3'):
        make_core(lower=np.zeros(2), upper=np.ones(2))
    with pytest.raises(ValueError, match='below'):
        make_core(lower=np.ones(3), upper=np.zeros(3))


def test_extra_damping_drops_its_velocity_term_on_stale_state():
    core = make_core(ControllerConfig(passive_extra_damping=6.0))
    positions, velocities = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])
    core.set_joint_state(0.0, positions, velocities)
    np.testing.assert_allclose(core.step(1.0).joint_targets, positions)


def test_low_pass_filter_shapes_the_command_but_not_the_observation():
    metadata, weights = make_example_policy('lpn', JOINTS, seed=11, phase_period_s=0.5)
    metadata = dataclasses.replace(metadata, action_filter_alpha=0.25)
    runtime = make_runtime(ExportedPolicy(metadata, weights), lpn_mode='exact')
    core = ControllerCore(runtime, metadata.default_pose - 1.0, metadata.default_pose + 1.0,
                          ControllerConfig(safety=SafetyConfig(0.1, 0.8, 1.0),
                                           monitor=MonitorConfig(window_s=1.0)))
    positions = metadata.default_pose + 0.05
    engaged_at, first = run_until_policy(core, positions)
    raw_first = runtime.act(core.builder.build(positions, np.zeros(3), UPRIGHT,
                                               live_rates(engaged_at), np.zeros(3)), 0.0)
    # The command starts from zero at engagement, as a training episode does.
    np.testing.assert_allclose(first.action, 0.25 * raw_first)
    np.testing.assert_allclose(first.joint_targets,
                               metadata.default_pose + 0.25 * first.action)

    time = engaged_at + DT
    feed(core, time, positions)
    second = core.step(time)
    # The observation's previous action is the policy's own, unfiltered output.
    raw_second = runtime.act(core.builder.build(positions, np.zeros(3), UPRIGHT,
                                                live_rates(time), raw_first), DT / 0.5)
    np.testing.assert_allclose(second.action, 0.25 * raw_second + 0.75 * first.action)


def test_bit_identical_imu_readings_past_the_timeout_latch_damping():
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    frozen = live_rates(time)
    modes = []
    for step in range(1, 10):   # the IMU republishes one sample; joint states stay live
        now = time + step * DT
        core.set_joint_state(now, positions, np.zeros(3))
        core.set_imu(now, UPRIGHT, frozen)
        output = core.step(now)
        modes.append(output.mode)
        if output.transitions:
            assert 'frozen IMU' in output.transitions[0].reason
    # Up to 0.08 s of identical readings pass; 0.12 s do not (0.10 s sits on the float edge).
    assert modes[:4] == [SafetyMode.POLICY] * 4 and modes[5:] == [SafetyMode.DAMPING] * 4


def test_an_imu_that_stops_is_stale_not_frozen():
    core = make_core()
    positions = core.metadata.default_pose.copy()
    time, _ = run_until_policy(core, positions)
    core.set_joint_state(time + 0.2, positions, np.zeros(3))
    output = core.step(time + 0.2)
    assert output.mode == SafetyMode.DAMPING and 'stale IMU' in output.transitions[0].reason


def test_a_noise_free_imu_runs_with_the_frozen_check_off():
    config = ControllerConfig(safety=SafetyConfig(0.1, 0.8, 1.0, frozen_imu_timeout_s=0.0))
    core = make_core(config)
    positions = core.metadata.default_pose.copy()
    for step in range(100):
        core.set_joint_state(step * DT, positions, np.zeros(3))
        core.set_imu(step * DT, UPRIGHT, np.zeros(3))
        core.step(step * DT)
    assert core.safety.mode == SafetyMode.POLICY
