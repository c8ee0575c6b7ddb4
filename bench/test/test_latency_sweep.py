"""bench/latency_sweep.py end to end on a tiny budget: one episode of 0.5 s, two delays."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / 'bench' / 'latency_sweep.py'
POLICIES = REPO / 'src' / 'quadruped_arm_bringup' / 'policies'


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_sweep_prints_each_policy_model_and_delay_and_writes_json(tmp_path):
    output = tmp_path / 'latency.json'
    completed = subprocess.run(
        [sys.executable, str(BENCH), '--policies', str(POLICIES / 'lpn_trot'),
         str(POLICIES / 'lpn_trot_arm_wave'), '--robot-config', 'quadruped_arm',
         '--delays-ms', '0', '20', '--episodes', '1', '--seconds', '0.5',
         '--output', str(output)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = [line for line in completed.stdout.splitlines()
            if line.startswith('| lpn_')]
    # Two policies, the packaged robot twice (home and as the other model), two delays.
    assert len(rows) == 8
    for start in ('clip', 'on floor'):
        assert f'| lpn_trot_arm_wave | quadruped_arm | {start} | 20 |' in completed.stdout
    assert completed.stdout.count('- lpn_trot') == 4   # where each one falls, if it does
    figures = json.loads(output.read_text())
    assert figures['delays_s'] == [0.0, 0.02]
    for sweep in figures['sweeps']:
        assert sweep['start'] in ('clip', 'on floor')
        assert [row['action_latency_s'] for row in sweep['rows']] == [0.0, 0.02]
        for row in sweep['rows']:
            assert row['evaluation']['physics'] == 'full'
            assert 0.0 <= row['survival_rate'] <= 1.0 and row['hfr_percent'] is not None


def test_a_latency_off_the_physics_grid_is_refused_by_the_bench():
    completed = subprocess.run(
        [sys.executable, str(BENCH), '--policies', str(POLICIES / 'lpn_trot'),
         '--delays-ms', '5', '--episodes', '1', '--seconds', '0.1'],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1
    assert 'not a whole number of physics steps' in completed.stderr
