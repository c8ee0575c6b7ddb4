"""bench/fault_injection.py end to end on a short horizon, and the injector's checks."""

import contextlib
import importlib.util
import io
from pathlib import Path

import pytest
from quadruped_arm_bringup.fault_injection import Fault

BENCH = Path(__file__).resolve().parents[3] / 'bench' / 'fault_injection.py'


@pytest.fixture(scope='module')
def table():
    """Run the bench's main(): faults 66 ms after the policy engages, 0.25 s watched after."""
    spec = importlib.util.spec_from_file_location('fault_injection_bench', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = module.main(['--fault-at', '2.106', '--after', '0.25', '--push-forces', '100'])
    assert code == 0
    rows = {}
    for line in printed.getvalue().splitlines():
        if line.startswith('| ') and not line.startswith('| fault '):
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            rows[cells[0]] = cells
    return rows


def test_every_fault_gets_a_row(table):
    assert list(table) == [
        'joint states stop', 'IMU freezes', 'NaN in one joint, every joint state from then on',
        'NaN in one joint, one joint state message', 'e-stop',
        'push on the base, 100 N for 0.1 s']


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


def test_faults_are_checked():
    with pytest.raises(ValueError, match='unknown fault'):
        Fault('imu_flip', 1.0)
    with pytest.raises(ValueError, match='positive force'):
        Fault('push', 1.0)
