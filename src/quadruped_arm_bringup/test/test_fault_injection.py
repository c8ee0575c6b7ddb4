"""bench/fault_injection.py end to end on a short horizon, the injector's pushes and checks."""

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from quadruped_arm_bringup.fault_injection import Fault, FaultInjector
from sim_bridge.config import MODEL_DIR
from sim_bridge.simulator import Simulator

BENCH = Path(__file__).resolve().parents[3] / 'bench' / 'fault_injection.py'
LPN = Path(__file__).resolve().parents[1] / 'policies' / 'lpn_trot_arm_wave'
VELOCITY_PUSHES = ('push on the base, 1 m/s sideways', 'push on the base, 1 m/s forward')


def load_bench():
    """Import bench/fault_injection.py as a module."""
    spec = importlib.util.spec_from_file_location('fault_injection_bench', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def table():
    """Run the bench's main(): faults 66 ms after the policy engages, 0.25 s watched after."""
    module = load_bench()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = module.main(['--policies', str(LPN), '--fault-at', '2.106', '--after', '0.25',
                            '--push-forces', '100', '--push-velocities', '1',
                            '--push-directions', 'sideways', 'forward'])
    assert code == 0
    rows = {}
    for line in printed.getvalue().splitlines():
        if line.startswith('| ') and not line.startswith('| policy '):
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            assert cells[:2] == ['lpn_trot_arm_wave', 'quadruped_arm']   # policy, model
            rows[cells[2]] = cells[2:]
    return rows


def test_every_fault_gets_a_row(table):
    assert list(table) == [
        'joint states stop', 'IMU freezes', 'NaN in one joint, every joint state from then on',
        'NaN in one joint, one joint state message', 'e-stop',
        'push on the base, 100 N for 0.1 s', *VELOCITY_PUSHES]


@pytest.mark.parametrize('fault, reason, reaction_ms, within', [
    # Fault at 2.106 s: the last clean state came at 2.10 s, control steps at 2.12, 2.14, ...
    ('joint states stop', 'stale joint states', '114', 'no'),   # age must pass 0.1 s
    ('IMU freezes', 'frozen IMU', '114', 'no'),                  # identical for over 0.1 s
    ('NaN in one joint, every joint state from then on', 'NaN', '14', 'yes'),
    ('e-stop', 'e-stop (topic)', '14', 'yes'),
])
def test_the_controller_damps_each_fault_with_its_reason(table, fault, reason, reaction_ms,
                                                         within):
    _, did, reaction, within_period, ended, *_ = table[fault]
    assert did.startswith('damping: ') and reason in did
    assert (reaction, within_period) == (reaction_ms, within)
    assert ended.startswith('damping, no fall')


def test_what_the_controller_never_reads_or_can_ride_out_leaves_the_policy_on(table):
    for fault in ('NaN in one joint, one joint state message',
                  'push on the base, 100 N for 0.1 s'):
        _, did, reaction, _, ended, *_ = table[fault]
        assert (did, reaction, ended) == ('stayed in policy', '-',
                                          'recovered, policy kept going')
    assert float(table['push on the base, 100 N for 0.1 s'][-1]) > 0.0   # it was pushed


def test_each_push_says_whether_the_robot_survived_and_how_fast_it_went(table):
    for fault, row in table.items():
        pushed = fault.startswith('push on the base')
        survived, speed = row[5], row[-1]
        assert (survived in ('yes', 'no')) == pushed and (speed != '-') == pushed
    for fault in VELOCITY_PUSHES:   # 66 ms into the trot the base barely moves: about 1 m/s
        assert 0.9 < float(table[fault][-1]) < 1.3
        assert table[fault][5] == ('yes' if table[fault][4].startswith('recovered') else 'no')


def test_the_bench_runs_each_policy_on_each_model_and_writes_json(tmp_path, capsys):
    bench, output = load_bench(), tmp_path / 'faults.json'
    trot = LPN.parent / 'lpn_trot'
    code = bench.main(['--policies', str(trot), str(LPN), '--robot-config', 'quadruped_arm',
                       str(MODEL_DIR / 'quadruped_arm.yaml'), '--faults', 'velocity_push',
                       '--push-velocities', '1.5', '--push-directions', 'forward',
                       '--fault-at', '2.106', '--after', '0.1', '--output', str(output)])
    assert code == 0
    rows = [line.split('|')[1:4] for line in capsys.readouterr().out.splitlines()
            if line.startswith('| lpn_')]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [policy, 'quadruped_arm', 'push on the base, 1.5 m/s forward']
        for policy in ('lpn_trot', 'lpn_trot', 'lpn_trot_arm_wave', 'lpn_trot_arm_wave')]
    outcomes = json.loads(output.read_text())
    assert [outcome['policy'] for outcome in outcomes] == ['lpn_trot'] * 2 + [LPN.name] * 2
    assert all(isinstance(outcome['survived'], bool) and outcome['peak_push_speed'] > 1.0
               for outcome in outcomes)
    assert bench.main(['--robot-config', 'no_such_robot']) == 1
    assert 'not a shipped robot configuration' in capsys.readouterr().err


@pytest.mark.parametrize('direction, size, expected', [
    ('forward', 1.5, [0.0, 1.5, 0.0]),     # heading world +y: forward is +y
    ('sideways', 1.0, [-1.0, 0.0, 0.0]),   # sideways is to the robot's left: world -x
])
def test_a_velocity_push_changes_the_base_velocity_by_its_size_along_the_heading(
        direction, size, expected):
    simulator = Simulator(seed=0)
    standing = simulator.read_state()
    yawed_left = [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]
    simulator.reset_to_pose(standing.base_position, yawed_left, standing.joint_positions,
                            root_linear_velocity=(0.2, -0.1, 0.0))
    injector = FaultInjector(Fault('velocity_push', 0.01, velocity_m_s=size,
                                   direction=direction))
    before = simulator.read_state().base_linear_velocity
    injector.before_tick(0.0, simulator)   # before its time: nothing
    np.testing.assert_array_equal(simulator.read_state().base_linear_velocity, before)
    injector.before_tick(0.01, simulator)
    after = simulator.read_state().base_linear_velocity
    np.testing.assert_allclose(after - before, expected, atol=1e-9)
    np.testing.assert_allclose(injector.velocity_change, expected, atol=1e-9)
    injector.before_tick(0.012, simulator)   # once only
    np.testing.assert_array_equal(simulator.read_state().base_linear_velocity, after)


def test_faults_are_checked():
    with pytest.raises(ValueError, match='unknown fault'):
        Fault('imu_flip', 1.0)
    with pytest.raises(ValueError, match='positive force'):
        Fault('push', 1.0)
    with pytest.raises(ValueError, match='positive velocity change'):
        Fault('velocity_push', 1.0)
    with pytest.raises(ValueError, match='unknown push direction'):
        Fault('velocity_push', 1.0, velocity_m_s=1.0, direction='up')
