"""Safety state machine transitions, driven as plain Python."""

import math

from lpn_controller.safety import SafetyConfig, SafetyInputs, SafetyMode, SafetyStateMachine
import pytest

GOOD = SafetyInputs(joint_state_age_s=0.01, imu_age_s=0.01, finite=True, tilt_rad=0.05)
CONFIG = SafetyConfig(state_timeout_s=0.1, max_tilt_rad=0.8, interpolation_duration_s=1.0)


def engaged_machine():
    machine = SafetyStateMachine(CONFIG)
    machine.update(0.0, GOOD)
    machine.update(1.0, GOOD)
    assert machine.mode == SafetyMode.POLICY
    return machine


def test_waits_until_both_inputs_arrive():
    machine = SafetyStateMachine(CONFIG)
    assert machine.mode == SafetyMode.WAITING and machine.commands_damping
    assert machine.update(0.0, SafetyInputs(None, None, False, None)) is None
    assert machine.update(0.1, SafetyInputs(0.0, None, True, None)) is None
    assert 'no IMU' in machine.reason
    assert machine.mode == SafetyMode.WAITING


def test_startup_sequence_waiting_interpolating_policy():
    machine = SafetyStateMachine(CONFIG)
    transition = machine.update(5.0, GOOD)
    assert (transition.previous, transition.mode) == (SafetyMode.WAITING,
                                                      SafetyMode.INTERPOLATING)
    assert machine.interpolation_fraction(5.25) == pytest.approx(0.25)
    assert machine.update(5.5, GOOD) is None
    transition = machine.update(6.0, GOOD)
    assert transition.mode == SafetyMode.POLICY and transition.time_s == 6.0
    assert not machine.commands_damping
    assert machine.interpolation_fraction(6.5) == 1.0


def test_waiting_does_not_start_while_tilted_or_stale():
    machine = SafetyStateMachine(CONFIG)
    machine.update(0.0, SafetyInputs(0.01, 0.01, True, tilt_rad=1.2))
    assert machine.mode == SafetyMode.WAITING and 'tilt' in machine.reason
    machine.update(0.1, SafetyInputs(0.5, 0.01, True, 0.0))
    assert machine.mode == SafetyMode.WAITING and 'stale joint states' in machine.reason


@pytest.mark.parametrize('inputs, reason', [
    (SafetyInputs(0.3, 0.01, True, 0.0), 'stale joint states'),
    (SafetyInputs(0.01, 0.3, True, 0.0), 'stale IMU'),
    (SafetyInputs(0.01, 0.01, False, 0.0), 'NaN'),
    (SafetyInputs(0.01, 0.01, True, 1.0), 'tilt'),
    (SafetyInputs(0.01, 0.01, True, math.nan), 'tilt unknown'),
])
@pytest.mark.parametrize('during', ['interpolating', 'policy'])
def test_faults_fall_back_to_damping(inputs, reason, during):
    machine = SafetyStateMachine(CONFIG)
    machine.update(0.0, GOOD)
    if during == 'policy':
        machine.update(1.0, GOOD)
    transition = machine.update(1.5, inputs)
    assert transition.mode == SafetyMode.DAMPING
    assert reason in transition.reason
    assert machine.commands_damping


def test_faults_latch_until_reset():
    machine = engaged_machine()
    machine.update(2.0, SafetyInputs(0.5, 0.01, True, 0.0))
    for time in (2.1, 3.0, 10.0):
        assert machine.update(time, GOOD) is None
        assert machine.mode == SafetyMode.DAMPING
    transition = machine.reset(10.5)
    assert transition.mode == SafetyMode.WAITING
    machine.update(10.6, GOOD)
    assert machine.mode == SafetyMode.INTERPOLATING


@pytest.mark.parametrize('steps', [0, 1, 2])
def test_estop_from_every_mode(steps):
    machine = SafetyStateMachine(CONFIG)
    for time in (0.0, 1.0)[:steps]:
        machine.update(time, GOOD)
    transition = machine.engage_estop(1.2, 'service')
    assert transition.mode == SafetyMode.DAMPING and 'service' in transition.reason
    assert machine.estop_active
    assert machine.update(1.3, GOOD) is None and machine.mode == SafetyMode.DAMPING


def test_estop_holds_through_reset_attempts_only_until_released():
    machine = engaged_machine()
    machine.engage_estop(2.0, 'topic')
    assert machine.engage_estop(2.1, 'service') is None  # already damping
    machine.reset(3.0)
    assert not machine.estop_active and machine.mode == SafetyMode.WAITING
    assert machine.reset(3.1) is None  # nothing to reset


def test_external_fault_latches():
    machine = engaged_machine()
    transition = machine.fault(2.0, 'policy produced a NaN or inf action')
    assert transition.mode == SafetyMode.DAMPING
    assert machine.fault(2.1, 'again') is None
    assert machine.reason == 'policy produced a NaN or inf action'


def test_config_is_checked():
    with pytest.raises(ValueError):
        SafetyStateMachine(SafetyConfig(state_timeout_s=0.0))


@pytest.mark.parametrize('during', ['waiting', 'interpolating', 'policy'])
def test_a_frozen_imu_falls_back_to_damping_or_never_starts(during):
    machine = SafetyStateMachine(CONFIG)
    frozen = SafetyInputs(0.01, 0.01, True, 0.05, imu_unchanged_s=0.11)
    if during != 'waiting':
        machine.update(0.0, GOOD)
    if during == 'policy':
        machine.update(1.0, GOOD)
    transition = machine.update(1.5, frozen)
    expected = SafetyMode.WAITING if during == 'waiting' else SafetyMode.DAMPING
    assert machine.mode == expected
    assert 'frozen IMU' in machine.reason and '0.110 s' in machine.reason
    assert (transition is None) == (during == 'waiting')


def test_imu_readings_unchanged_up_to_the_timeout_are_fine():
    machine = engaged_machine()
    assert machine.update(2.0, SafetyInputs(0.01, 0.01, True, 0.05, imu_unchanged_s=0.1)) is None
    assert machine.mode == SafetyMode.POLICY


def test_a_stale_imu_is_named_stale_before_frozen():
    machine = engaged_machine()
    machine.update(2.0, SafetyInputs(0.01, 0.3, True, 0.05, imu_unchanged_s=0.3))
    assert 'stale IMU' in machine.reason


def test_the_frozen_imu_check_can_be_turned_off():
    machine = SafetyStateMachine(SafetyConfig(0.1, 0.8, 1.0, frozen_imu_timeout_s=0.0))
    machine.update(0.0, SafetyInputs(0.01, 0.01, True, 0.05, imu_unchanged_s=10.0))
    assert machine.mode == SafetyMode.INTERPOLATING
    with pytest.raises(ValueError, match='frozen_imu_timeout_s'):
        SafetyStateMachine(SafetyConfig(frozen_imu_timeout_s=-0.1))
