"""The bridge node's logic, driven as plain Python: commands, staleness, ticks, conversions."""

import math
from pathlib import Path
import re

import numpy as np
import pytest

from sim_bridge.bridge import (BridgeCore, BridgeSettings, CommandError, CommandMode,
                               NODE_PARAMETERS, plan_ticks, RealTimePacer, stamp, xyzw)
from sim_bridge.simulator import Simulator
import yaml


@pytest.fixture
def core(config):
    return BridgeCore(Simulator(config, seed=0), BridgeSettings(clock_every='physics'))


def run_for(core, seconds):
    results = []
    while core.sim.time < seconds - 1e-9:
        results.append(core.tick())
    return results


def test_tick_plan_follows_clock_mode_and_state_rate(config):
    physics = plan_ticks(config, BridgeSettings(clock_every='physics', state_rate_hz=100))
    assert (physics.physics_steps_per_tick, physics.ticks_per_state) == (1, 5)
    control = plan_ticks(config, BridgeSettings(clock_every='control', state_rate_hz=50,
                                                real_time_factor=2.0))
    assert (control.physics_steps_per_tick, control.ticks_per_state) == (10, 1)
    assert control.wall_period == pytest.approx(0.01)
    for bad, message in [({'clock_every': 'always'}, 'clock_every'),
                         ({'state_rate_hz': 70}, 'must divide the tick rate'),
                         ({'state_rate_hz': 0}, 'must divide the tick rate'),
                         ({'real_time_factor': 0}, 'real_time_factor'),
                         ({'command_timeout_s': -1}, 'command_timeout_s')]:
        with pytest.raises(ValueError, match=message):
            plan_ticks(config, BridgeSettings(**bad))


def test_clock_every_physics_step_and_states_at_their_rate(core):
    results = run_for(core, 0.1)
    assert len(results) == 50
    times = [r.time for r in results]
    assert np.allclose(np.diff(times), 0.002)
    assert sum(r.state is not None for r in results) == 10


def test_waiting_robot_holds_its_keyframe_pose(core):
    keyframe = core.sim.joint_targets
    run_for(core, 2.0)
    assert core.mode is CommandMode.WAITING
    state = core.sim.read_state()
    assert state.base_position[2] > 0.42
    np.testing.assert_allclose(core.sim.joint_targets, keyframe)


def test_commands_by_name_track_and_a_subset_keeps_other_targets(core):
    targets = core.sim.joint_targets
    core.command_by_name(['arm_sh0'], [0.4])
    core.tick()
    assert core.mode is CommandMode.TRACKING
    expected = targets.copy()
    expected[core.joint_names.index('arm_sh0')] = 0.4
    np.testing.assert_allclose(core.sim.joint_targets, expected)
    for _ in range(40):
        core.command_by_name(['arm_sh0'], [0.4])
        run_for(core, core.sim.time + 0.02)
    assert core.sim.read_state().joint_positions[12] == pytest.approx(0.4, abs=0.05)


def test_array_command_in_configured_order(core):
    values = core.sim.joint_targets + 0.01
    core.command_array(values.tolist())
    core.tick()
    np.testing.assert_allclose(core.sim.joint_targets, values)


@pytest.mark.parametrize('names, positions, message', [
    (['arm_sh0', 'tail'], [0.0, 0.0], "unknown joint names ['tail']"),
    (['arm_sh0'], [math.nan], "non-finite targets for ['arm_sh0']"),
    (['arm_sh0'], [0.0, 1.0], '1 names but 2 positions'),
    (['arm_sh0', 'arm_sh0'], [0.0, 1.0], 'more than once'),
])
def test_bad_commands_are_rejected_whole(core, names, positions, message):
    before = core.sim.joint_targets
    with pytest.raises(CommandError, match=re.escape(message)):
        core.command_by_name(names, positions)
    core.tick()
    np.testing.assert_allclose(core.sim.joint_targets, before)
    assert core.mode is CommandMode.WAITING
    assert core.commands_rejected == 1


def test_bad_array_commands_are_rejected(core):
    with pytest.raises(CommandError, match='expected 18 values'):
        core.command_array([0.0] * 12)
    with pytest.raises(CommandError, match='non-finite'):
        core.command_array([math.inf] * 18)


def test_stale_commands_hold_the_last_posture_with_damping_then_resume(core):
    settings = core.settings
    # A wild command stream that then stops: the bridge must hold, not explode or drift.
    rng = np.random.default_rng(0)
    stand = core.sim.joint_targets
    for _ in range(10):
        core.command_array(stand + 0.05 * rng.standard_normal(18))
        run_for(core, core.sim.time + 0.02)
    assert core.mode is CommandMode.TRACKING
    changes = [r.mode_change for r in run_for(core, core.sim.time + 0.5) if r.mode_change]
    assert changes == [CommandMode.HOLDING]
    np.testing.assert_allclose(core.sim.kd, np.multiply(core.sim.config.kd,
                                                        settings.hold_kd_scale))
    held = core.sim.joint_targets
    run_for(core, core.sim.time + 3.0)
    state = core.sim.read_state()
    assert np.all(np.isfinite(state.joint_positions))
    assert state.base_position[2] > 0.4
    np.testing.assert_allclose(core.sim.joint_targets, held)
    assert np.max(np.abs(state.joint_velocities)) < 0.5
    core.command_array(stand)
    assert core.tick().mode_change is CommandMode.TRACKING
    np.testing.assert_allclose(core.sim.kd, core.sim.config.kd)


def test_pause_stops_time_and_reset_keeps_it_monotonic(core):
    run_for(core, 0.1)
    core.paused = True
    assert core.tick() is None
    assert core.sim.time == pytest.approx(0.1)
    core.paused = False
    core.command_array(core.sim.joint_targets)
    core.tick()
    state = core.reset()
    assert state.time == pytest.approx(0.102)
    assert core.mode is CommandMode.WAITING
    assert core.tick().time > state.time


def test_message_field_conversions():
    assert stamp(1.5) == (1, 500_000_000)
    assert stamp(0.002) == (0, 2_000_000)
    assert xyzw([1.0, 0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0, 1.0)


def test_shipped_parameter_file_matches_the_node_declarations():
    path = Path(__file__).resolve().parents[1] / 'config' / 'sim_bridge.yaml'
    shipped = yaml.safe_load(path.read_text())['sim_bridge']['ros__parameters']
    declared = {name: default for name, default, _ in NODE_PARAMETERS}
    assert shipped == declared
    assert all(description.strip() for _, _, description in NODE_PARAMETERS)


def test_pacer_catches_up_after_late_callbacks_and_drops_hopeless_backlogs():
    pacer = RealTimePacer(tick_dt=0.002, real_time_factor=1.0, max_ticks_per_call=20)
    assert pacer.ticks_due(100.0) == 0
    assert pacer.ticks_due(100.002) == 1
    assert pacer.ticks_due(100.0101) == 4       # a late callback runs every missed tick
    assert pacer.ticks_due(100.0102) == 0
    total = 5 + sum(pacer.ticks_due(100.0102 + 0.001 * k) for k in range(1, 991))
    assert total == 500                         # one simulated second per wall second
    assert pacer.ticks_due(101.5) == 1          # 0.5 s behind: restart, do not race
    assert pacer.dropped > 200
    fast = RealTimePacer(tick_dt=0.002, real_time_factor=4.0)
    fast.ticks_due(0.0)
    assert fast.ticks_due(0.01) == 20
