"""bench/randomization_ablation.py on a tiny budget: a group trains and is evaluated end to end."""

import json
import os
from pathlib import Path
import subprocess
import sys

from lpn_controller.policy_format import load_policy
import pytest

BENCH = Path(__file__).resolve().parents[1] / 'randomization_ablation.py'


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_ablation_bench_trains_and_evaluates_a_group_on_a_tiny_budget(tmp_path):
    output = tmp_path / 'ablation.json'
    environment = {key: value for key, value in os.environ.items() if key != 'MENAGERIE_ROOT'}
    done = subprocess.run(
        [sys.executable, str(BENCH), '--groups', 'latency', '--iterations', '1',
         '--num-envs', '2', '--episodes', '1', '--seconds', '0.3', '--set', 'ppo.num_steps=4',
         '--set', 'ppo.num_minibatches=1', '--out', str(tmp_path / 'runs'),
         '--output', str(output)], capture_output=True, text=True, timeout=300,
        env=environment)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split(' | ') for line in done.stdout.splitlines() if line.startswith('| latency')]
    assert [row[2] for row in rows] == ['home', 'home, driver gains']
    assert 'no menagerie_spot_arm rows' in done.stdout
    written = json.loads(output.read_text())
    assert set(written['runs']) == {'latency_seed0'}
    policy = load_policy(tmp_path / 'runs' / 'latency_seed0' / 'policy')
    assert set(policy.metadata.randomization) == {'action_latency', 'observation_latency',
                                                  'observation_noise'}
