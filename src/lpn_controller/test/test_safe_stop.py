"""When the controller asks the driver to deactivate its hardware (Spot: sit, power off)."""

from lpn_controller.safe_stop import SafeStopConfig, SafeStopPlanner, stop_hint
from lpn_controller.safety import SafetyMode
import pytest

SPOT = SafeStopConfig('SpotSystem', '/spot/controller_manager', damping_s=1.0)


def test_fault_powers_off_after_the_damping_time_once():
    planner = SafeStopPlanner(SPOT)
    assert planner.after_step(5.5, SafetyMode.DAMPING, 5.0, 'stale IMU', False) is None
    request = planner.after_step(6.0, SafetyMode.DAMPING, 5.0, 'stale IMU', False)
    assert (request.component, request.state_id) == ('SpotSystem', 2)
    assert request.state_label == 'inactive'
    assert request.reason == 'fault: stale IMU'
    assert planner.after_step(6.1, SafetyMode.DAMPING, 5.0, 'stale IMU', False) is None
    planner.done(True)
    assert 'powered off' in planner.reset_refusal()
    assert planner.at_shutdown('SIGINT') is None    # already asked


def test_estop_is_named_and_other_modes_never_power_off():
    planner = SafeStopPlanner(SPOT)
    for mode in (SafetyMode.WAITING, SafetyMode.INTERPOLATING, SafetyMode.POLICY):
        assert planner.after_step(99.0, mode, 0.0, '', False) is None
    assert planner.after_step(2.0, SafetyMode.DAMPING, 1.0, 'e-stop (topic)',
                              True).reason == 'estop: e-stop (topic)'


def test_a_failed_call_may_be_retried_and_does_not_block_reset():
    planner = SafeStopPlanner(SPOT)
    assert planner.at_shutdown('SIGTERM').reason == 'shutdown: SIGTERM'
    planner.done(False)
    assert planner.reset_refusal() is None
    assert planner.at_shutdown('exception') is not None


def test_events_left_out_and_no_component_do_nothing():
    only_shutdown = SafeStopPlanner(SafeStopConfig('SpotSystem', power_off_on=('shutdown',)))
    assert only_shutdown.after_step(9.0, SafetyMode.DAMPING, 0.0, 'x', True) is None
    assert only_shutdown.at_shutdown('SIGINT') is not None
    nothing = SafeStopPlanner(SafeStopConfig())
    assert nothing.at_shutdown('SIGINT') is None


def test_config_mistakes_are_named_and_the_hint_is_a_command():
    with pytest.raises(ValueError, match='unknown event.*reboot'):
        SafeStopConfig('SpotSystem', power_off_on=('reboot',))
    with pytest.raises(ValueError, match='damping_s'):
        SafeStopConfig('SpotSystem', damping_s=-1.0)
    assert SPOT.service == '/spot/controller_manager/set_hardware_component_state'
    assert stop_hint(SPOT) == (
        'ros2 service call /spot/controller_manager/set_hardware_component_state '
        'controller_manager_msgs/srv/SetHardwareComponentState '
        '"{name: SpotSystem, target_state: {id: 2, label: inactive}}"')
