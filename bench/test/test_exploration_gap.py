"""bench/exploration_gap.py end to end on a tiny run: both modes rolled out from one checkpoint."""

from pathlib import Path
import subprocess
import sys

import pytest
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.runners.ppo_runner import Runner

BENCH = Path(__file__).resolve().parents[2] / 'bench' / 'exploration_gap.py'
TINY = ['env.clip=hop', 'env.num_envs=3', 'env.episode_length_s=0.5', 'ppo.num_steps=4',
        'ppo.num_minibatches=1', 'ppo.num_learning_epochs=1', 'policy.lpn_hidden_sizes=[16]',
        'policy.rank=4', 'critic.hidden_sizes=[16]', 'run.eval_every=0',
        'run.checkpoint_every=1', 'run.iterations=1', 'run.torch_threads=1']


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_sampled_and_the_mean_policy_are_rolled_out_from_one_checkpoint(tmp_path):
    runner = Runner(load_config(None, TINY), tmp_path / 'run', progress=False)
    try:
        assert runner.train() == 'finished'
    finally:
        runner.close()
    completed = subprocess.run([sys.executable, str(BENCH), str(tmp_path / 'run'),
                                '--seconds', '5'], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # 5 s is capped below the 0.5 s episode: no time-out resets the offsets it reads.
    assert 'iteration 1, 3 environments x 0.48 s' in completed.stdout
    rows = {line.split('|')[1].strip(): [float(cell) for cell in line.split('|')[2:-1]]
            for line in completed.stdout.splitlines()
            if line.startswith(('| sampled', '| mean'))}
    assert set(rows) == {'sampled', 'mean'}
    for survival, _, _, _, offset_mean, offset_max in rows.values():
        assert 0.0 <= survival <= 1.0 and 0.0 <= offset_mean <= offset_max
