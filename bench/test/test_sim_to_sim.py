"""The fast-physics benches end to end: training throughput, sim-to-sim, task formulation."""

import json
from pathlib import Path
import subprocess
import sys

from lpn_controller.policy_format import load_policy
import pytest

BENCH = Path(__file__).resolve().parents[1]
TINY = ['env.num_envs=2', 'ppo.num_steps=4', 'ppo.num_minibatches=1', 'run.eval_every=0']
needs_bench = pytest.mark.skipif(not BENCH.is_dir(),
                                 reason='bench/ is not part of an installed package')


def run_bench(script, *arguments):
    """Run a bench script in a subprocess; returns the finished process (asserting success)."""
    completed = subprocess.run([sys.executable, str(BENCH / script), *arguments],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


@needs_bench
def test_training_throughput_times_both_configurations_and_ends_with_the_speedup(tmp_path):
    output = tmp_path / 'throughput.json'
    stdout = run_bench('training_throughput.py', '--iterations', '1', '--warmup', '0',
                       '--output', str(output),
                       *(part for item in TINY for part in ('--set', item))).stdout
    assert stdout.strip().splitlines()[-1].startswith('speedup=')
    figures = json.loads(output.read_text())
    assert figures['setup']['full']['physics_rate_hz'] == 500.0
    assert figures['setup']['fast']['physics_rate_hz'] == 250.0
    for name in ('full', 'fast'):
        shares = figures[name]['shares']
        assert sum(shares.values()) == pytest.approx(1.0)
        assert shares['physics'] > 0.0 and shares['update'] > 0.0
    assert figures['amdahl_bound'] <= figures['amdahl_limit']


@needs_bench
def test_training_throughput_reports_the_cost_of_randomisation(tmp_path):
    output = tmp_path / 'throughput.json'
    stdout = run_bench('training_throughput.py', '--compare', 'randomization', '--iterations',
                       '1', '--warmup', '0', '--output', str(output),
                       *(part for item in TINY for part in ('--set', item))).stdout
    assert stdout.strip().splitlines()[-1].startswith('speedup=')
    assert '| on / off |' in stdout
    figures = json.loads(output.read_text())
    assert figures['setup']['off']['randomized'] == []
    assert 'pushes' in figures['setup']['on']['randomized']
    for name in ('off', 'on'):
        assert sum(figures[name]['shares'].values()) == pytest.approx(1.0)


@needs_bench
def test_sim_to_sim_trains_in_both_and_evaluates_each_in_both(tmp_path):
    output = tmp_path / 'sim_to_sim.json'
    process = run_bench('sim_to_sim.py', '--iterations', '1', '--episodes', '2', '--seconds',
                        '0.5', '--num-envs', '2', '--out', str(tmp_path / 'runs'),
                        '--output', str(output),
                        *(part for item in TINY[1:3] for part in ('--set', item)))
    result = json.loads(output.read_text())
    assert [(row['trained_in'], row['iterations']) for row in result['rows']] == \
        [('full', 1), ('fast', 1)]
    assert all(set(row['evaluations']) == {'full', 'fast'} for row in result['rows'])
    assert {(check['trained_in'], check['transferred']) for check in result['checks']} == \
        {('full', 'fast'), ('fast', 'full')}
    assert 'no seed spread, 5 % alone' in process.stdout
    # Evaluating across configurations is the bench's purpose: it silences that warning.
    assert 'PhysicsMismatchWarning' not in process.stderr


@needs_bench
def test_task_formulation_tabulates_world_figures_before_joint_ones(tmp_path):
    output = tmp_path / 'formulation.json'
    process = run_bench('task_formulation.py', '--iterations', '1', '--seeds', '0',
                        '--variants', 'none', 'heading', '--num-envs', '2', '--episodes', '1',
                        '--seconds', '0.5', '--out', str(tmp_path / 'runs'),
                        '--output', str(output),
                        *(part for item in TINY[1:3] for part in ('--set', item)))
    header = next(line for line in process.stdout.splitlines() if line.startswith('| variant'))
    assert header.index('forward speed') < header.index('joint RMSE') < header.index('HFR')
    result = json.loads(output.read_text())
    assert set(result) == {'none', 'heading'}
    heading_policy = load_policy(tmp_path / 'runs' / 'trot' / 'heading_s0' / 'policy')
    assert 'heading' in [term.name for term in heading_policy.metadata.observation_terms]
    assert result['heading'][0]['evaluation']['physics'] == 'fast'
