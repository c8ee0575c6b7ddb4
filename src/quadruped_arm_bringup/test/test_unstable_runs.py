"""A closed-loop run whose simulation MuJoCo reset stops there and says so (fault bench, demo)."""

import math
from pathlib import Path

from lpn_controller.bags import BagReader, BagWriter
from lpn_controller.policy_format import load_policy
import pytest
from quadruped_arm_bringup import demo
from quadruped_arm_bringup.closed_loop import RolloutResult, run_closed_loop
from quadruped_arm_bringup.fault_injection import (Fault, FaultInjector, FaultOutcome,
                                                   instability_lines)

LPN = Path(__file__).resolve().parents[1] / 'policies' / 'lpn_trot_arm_wave'
UNSTABLE_AT_S = 0.2


class BlowUp(FaultInjector):
    """An injector that also makes the simulation unstable (absurd gains, no torque limits)."""

    def before_tick(self, time_s, simulator):
        """Push as the fault says; from UNSTABLE_AT_S on, the servos diverge."""
        super().before_tick(time_s, simulator)
        if time_s >= UNSTABLE_AT_S and simulator.kp.max() < 1e9:
            simulator.model.actuator_forcelimited[:] = 0
            simulator.set_pd_gains(1e9, 0.0)


@pytest.mark.filterwarnings('ignore::sim_bridge.physics.PhysicsMismatchWarning')
def test_an_unstable_simulation_stops_the_run_and_is_reported(tmp_path):
    with BagWriter(tmp_path / 'bag') as bag:
        result = run_closed_loop(load_policy(LPN), 1.0, bag,
                                 faults=BlowUp(Fault('push', 0.5, force_n=100.0)))
    assert len(result.instabilities) == 1 and 'mjWARN_BADQACC' in result.instabilities[0]
    assert not result.stayed_up
    # The bridge paused: nothing after the unstable step was simulated or recorded (/clock
    # goes out every 2 ms physics step, the state at 100 Hz).
    with BagReader(tmp_path / 'bag') as bag:
        ticks = round(UNSTABLE_AT_S / 0.002)
        assert ticks <= bag.topic('/clock').message_count <= ticks + 2
        assert bag.topic('/joint_states').message_count <= round(UNSTABLE_AT_S * 100)


def test_the_fault_table_and_demo_name_an_unstable_run(monkeypatch, tmp_path, capsys):
    event = 'simulation unstable in model.xml at t = 0.2000 s (mjWARN_BADQACC): Nan'
    outcome = FaultOutcome(Fault('estop', 1.0), 0.02, 'policy', '', None, 0.5, 1.0, 0.5, 1.0,
                           0.0, 0.5, (event,))
    assert outcome.ending.startswith('simulation unstable')
    assert instability_lines([outcome]) == [f'note: e-stop: {event}']

    def unstable_run(*args, **kwargs):
        return RolloutResult(1.0, 0.1, final_mode='policy', instabilities=[event],
                             min_base_height_m=0.5, messages=1)

    monkeypatch.setattr(demo, 'run_closed_loop', unstable_run)
    monkeypatch.setattr(demo, 'remove_old_bag', lambda path: None)
    result = demo.run_policy('LPN', load_policy(LPN), tmp_path / 'bag', 1.0, 0, None)
    printed = capsys.readouterr().out
    assert f'WARNING: {event}; the run stopped there' in printed
    assert 'ended in policy' in printed and not result.stayed_up
    assert math.isfinite(result.min_base_height_m)
