"""bench/normalizer_ablation.py on a tiny budget: each variant trains with its own normaliser."""

from pathlib import Path
import subprocess
import sys

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / 'normalizer_ablation.py'
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(),
                                reason='bench/ is not part of an installed package')


def test_the_ablation_runs_end_to_end_and_each_variant_keeps_its_normaliser(tmp_path):
    command = [sys.executable, str(SCRIPT), '--iterations', '1', '--seeds', '0',
               '--variants', 'ours', 'std_offset', '--num-envs', '2', '--eval-episodes', '1',
               '--eval-seconds', '0.4', '--out', str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith('| ')]
    assert [row.split(' | ')[0] for row in rows[1:]] == [
        '| ours', '| std_offset', '| **ours**', '| **std_offset**']
    assert '|da/d projected_gravity|' in rows[0]
    ours = load_policy(tmp_path / 'trot_ours_seed0' / 'policy').metadata.observation_std
    offset = load_policy(tmp_path / 'trot_std_offset_seed0' / 'policy').metadata.observation_std
    assert float(np.min(offset)) >= 0.01
    assert float(np.min(ours)) < 0.01     # a constant input: sqrt(1e-8 + ~0)
