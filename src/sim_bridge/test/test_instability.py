"""MuJoCo's instability resets are reported by the simulator, the vector simulator, the bridge."""

import logging
import os
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from sim_bridge.bridge import (BridgeCore, BridgeSettings, DIAGNOSTIC_ERROR, DIAGNOSTIC_OK,
                               DIAGNOSTIC_WARN, plan_ticks)
from sim_bridge.instability import forward_mujoco_log, InstabilityEvent, SimulationUnstable
from sim_bridge.simulator import Simulator
from sim_bridge.vector import VectorSimulator


def make_unstable(sim):
    """Absurd servo gains without torque limits: the next step's accelerations blow up."""
    sim.model.actuator_forcelimited[:] = 0
    sim.set_pd_gains(1e9, 0.0)
    sim.hold_targets(sim.joint_targets + 0.5)


def test_a_reset_by_mujoco_is_an_event_never_a_step(config, caplog):
    sim = Simulator(config, seed=0)
    assert sim.step() is None and sim.instability is None
    for _ in range(4):
        sim.step()
    start = sim.time
    make_unstable(sim)
    with caplog.at_level(logging.WARNING, logger='mujoco'):
        event = sim.step()
    assert isinstance(event, InstabilityEvent)
    assert event.warnings == ('mjWARN_BADQACC',) and event.reset
    assert event.model == str(config.model_path)
    assert event.time == pytest.approx(start)
    assert 'QACC' in event.text and 'unstable' in event.text
    assert config.model_path.name in str(event) and 'mjWARN_BADQACC' in str(event)
    assert sim.instability is event and sim.instabilities == 1
    # MuJoCo's own message went through logging, and the clock did not jump back to zero.
    assert any('QACC' in record.getMessage() for record in caplog.records)
    assert sim.time == pytest.approx(start + config.control_dt)
    with pytest.raises(SimulationUnstable, match='Reset the simulator'):
        sim.step()
    with pytest.raises(SimulationUnstable):
        sim.physics_step()
    sim.set_pd_gains(config.kp, config.kd)
    sim.reset(keep_time=True)
    assert sim.instability is None and sim.time >= start
    assert sim.step() is None and sim.instabilities == 1


def test_a_restored_state_clears_the_counters(config):
    sim = Simulator(config, seed=0)
    saved = sim.get_physics_state()
    make_unstable(sim)
    assert sim.physics_step() is not None
    sim.set_pd_gains(config.kp, config.kd)
    sim.set_physics_state(saved)
    assert sim.instability is None and sim.physics_step() is None


def test_vector_simulator_reports_the_environments_that_went_unstable(config):
    with VectorSimulator(4, config, seed=0, num_threads=2) as vec:
        targets = np.stack([env.joint_targets for env in vec.envs])
        assert vec.step(targets) == [] and not vec.unstable().any()
        for i in (1, 2):
            make_unstable(vec.envs[i])
        events = vec.step(targets + 0.5)
        assert [i for i, _ in events] == [1, 2]
        assert all(event.warnings == ('mjWARN_BADQACC',) for _, event in events)
        assert vec.unstable().tolist() == [False, True, True, False]
        with pytest.raises(SimulationUnstable):
            vec.step(targets)
        for i in (1, 2):
            vec.envs[i].set_pd_gains(config.kp, config.kd)
        vec.reset([1, 2])
        assert not vec.unstable().any() and vec.step(targets) == []


@pytest.mark.parametrize('on_unstable', ['pause', 'reset'])
def test_bridge_never_publishes_an_unstable_step(config, on_unstable):
    core = BridgeCore(Simulator(config, seed=0),
                      BridgeSettings(clock_every='control', state_rate_hz=50.0,
                                     on_unstable=on_unstable))
    core.command_array(core.sim.joint_targets)
    assert core.tick().instability is None
    assert core.diagnostic()[0] == DIAGNOSTIC_OK
    make_unstable(core.sim)
    result = core.tick()
    assert result.instability is not None and result.state is None
    assert core.instabilities == 1
    level, message, values = core.diagnostic()
    values = dict(values)
    assert values['unstable_steps'] == '1'
    assert values['last_unstable_warning'] == 'mjWARN_BADQACC'
    assert 'QACC' in values['last_unstable_text']
    core.sim.set_pd_gains(config.kp, config.kd)
    if on_unstable == 'pause':
        assert core.paused and level == DIAGNOSTIC_ERROR and 'paused' in message
        assert core.tick() is None
        done, why = core.set_paused(False)
        assert not done and '~/reset' in why and core.paused
        core.reset()
        assert not core.paused
    else:
        assert not core.paused and level == DIAGNOSTIC_WARN
        # Back at the keyframe, waiting for commands, with the clock still running forward.
        assert core.mode.name == 'WAITING' and core.sim.time >= result.time - 1e-9
    after = core.tick()
    assert after.instability is None and after.time > result.time - 1e-9


def test_on_unstable_must_name_a_behaviour(config):
    with pytest.raises(ValueError, match='on_unstable'):
        plan_ticks(config, BridgeSettings(on_unstable='ignore'))


UNSTABLE_RUN = """
import sys
sys.path.insert(0, {test_dir!r})
from test_instability import make_unstable
from sim_bridge.simulator import Simulator
sim = Simulator()
make_unstable(sim)
print('event:', sim.step())
"""


def test_mujoco_writes_no_log_file_in_the_working_directory(tmp_path):
    # A fresh interpreter, as a user's: MuJoCo's default handler would write MUJOCO_LOG.TXT here.
    script = UNSTABLE_RUN.format(test_dir=str(Path(__file__).parent))
    run = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert run.returncode == 0, run.stderr
    assert 'event: simulation unstable' in run.stdout
    assert 'MuJoCo: Nan, Inf or huge value in QACC' in run.stderr   # through logging
    assert list(tmp_path.iterdir()) == []


def test_mujoco_messages_can_be_forwarded_to_a_node_logger(config):
    received = []
    stop = forward_mujoco_log(lambda level, text: received.append((level, text)))
    try:
        sim = Simulator(config, seed=0)
        make_unstable(sim)
        sim.step()
    finally:
        stop()
    assert [level for level, _ in received] == [logging.WARNING]
    assert 'QACC' in received[0][1]
    assert logging.getLogger('mujoco').propagate
