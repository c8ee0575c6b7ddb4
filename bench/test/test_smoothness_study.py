"""bench/smoothness_study.py on a tiny budget: every method trains, the study runs end to end."""

import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.ppo_runner import Runner

SCRIPT = Path(__file__).resolve().parents[1] / 'smoothness_study.py'
TINY_SETTINGS = ['ppo.num_steps=4', 'ppo.num_minibatches=1']
TINY = ['--tasks', 'hop', '--seeds', '0', '--iterations', '1', '--num-envs', '2',
        '--set', TINY_SETTINGS[0], '--set', TINY_SETTINGS[1],
        '--eval-episodes', '1', '--eval-seconds', '1', '--methods', 'mlp', 'low_pass']
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(),
                                reason='bench/ is not part of an installed package')


def study_methods():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from smoothness_study import BASE_CONFIG, METHODS
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return BASE_CONFIG, METHODS


@pytest.mark.parametrize('method', list(study_methods()[1]) if SCRIPT.is_file() else [])
def test_every_study_method_trains_and_exports(method, tmp_path):
    # In process, one iteration each: every switch the study sets reaches a working runner.
    base, methods = study_methods()
    overrides = ['env.clip=hop', 'env.num_envs=2', 'run.eval_every=0', *TINY_SETTINGS,
                 *methods[method][1]]
    runner = Runner(load_config(base, overrides), tmp_path, progress=False)
    try:
        scalars = runner.step()
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config))
    finally:
        runner.close()
    assert np.isfinite(scalars['train/reward_per_step'])
    assert policy.metadata.kind == runner.config.policy.kind


def test_the_study_runs_end_to_end_and_writes_its_tables(tmp_path):
    results = tmp_path / 'docs' / 'results.md'
    results.parent.mkdir()
    results.write_text('# Results\n\nA discussion that a rerun must keep.\n')
    command = [sys.executable, str(SCRIPT), *TINY, '--out', str(tmp_path / 'runs'),
               '--results', str(results), '--figures', str(tmp_path / 'docs' / 'study')]
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr

    methods = {name: study_methods()[1][name] for name in ('mlp', 'low_pass')}
    text = results.read_text()
    assert 'A discussion that a rerun must keep.' in text
    for label, _ in methods.values():
        assert f'| {label} |' in text
    for name in ('hop_spectra.png', 'hop_return_vs_time.png', 'results.json'):
        assert (tmp_path / 'docs' / 'study' / name).stat().st_size > 0
    assert '](study/hop_spectra.png)' in text
    summary = json.loads((tmp_path / 'docs' / 'study' / 'results.json').read_text())['summary']
    assert set(summary['hop']) == set(methods)
    for figures in summary['hop'].values():
        assert figures['peak_rss_mib'][0] > 0
        assert 0.0 <= figures['survival'][0] <= 1.0

    # A second invocation finds every run finished: no training (the logs do not grow), and
    # the report is rebuilt in place.
    logs = sorted((tmp_path / 'runs').glob('hop/*/seed0.log'))
    assert len(logs) == len(methods)
    sizes = [log.stat().st_size for log in logs]
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert [log.stat().st_size for log in logs] == sizes
    assert results.read_text().count('<!-- study:main:begin -->') == 1


def test_the_offpolicy_method_joins_the_study_with_its_own_budget(tmp_path):
    results = tmp_path / 'results.md'
    tiny_td3 = ['learner.learning_starts=20', 'learner.batch_size=8', 'actor.hidden_sizes=[8]',
                'critic.hidden_sizes=[8]', 'run.eval_every=0', 'run.log_every=8',
                'run.diagnostic_samples=8', 'env.num_envs=2']
    command = [sys.executable, str(SCRIPT), '--tasks', 'hop', '--seeds', '0', '--methods',
               'td3_pave', '--offpolicy-steps', '40', '--eval-episodes', '1',
               '--eval-seconds', '1', '--out', str(tmp_path / 'runs'), '--results',
               str(results), '--figures', str(tmp_path / 'figures'),
               *sum((['--offpolicy-set', item] for item in tiny_td3), [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    run_dir = tmp_path / 'runs' / 'hop' / 'td3_pave' / 'seed0'
    config = (run_dir / 'config.yaml').read_text()
    assert 'clip: hop' in config and 'total_steps: 40' in config
    assert 'enabled: true' in config.split('pave:')[1].split('caps:')[0]
    assert (run_dir / 'policy').is_dir()
    text = results.read_text()
    assert '| TD3 + PAVE (40 transitions) |' in text
    assert 'Off-policy runs: 40 env transitions each' in text
    summary = json.loads((tmp_path / 'figures' / 'results.json').read_text())['summary']
    # s / iteration: the time of as many transitions as one PPO iteration (64 x 24) collects.
    iteration_s = summary['hop']['td3_pave']['iteration_s'][0]
    assert iteration_s is not None and iteration_s > 0
    # Its training curve is left out of the return-against-time plot (PPO runs only).
    assert not (tmp_path / 'figures' / 'hop_return_vs_time.png').exists()
    assert (tmp_path / 'figures' / 'hop_spectra.png').stat().st_size > 0
