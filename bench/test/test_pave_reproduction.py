"""bench/pave_reproduction.py end to end on a tiny budget: results, skipping, resuming."""

import importlib.util
import json
import math
from pathlib import Path
import sys

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / 'pave_reproduction.py'
TINY = ['--seeds', '1', '--no-progress', *sum((['--set', item] for item in (
    'learner.learning_starts=20', 'learner.batch_size=8', 'actor.hidden_sizes=[8]',
    'critic.hidden_sizes=[8]', 'run.eval_episodes=2', 'run.diagnostic_samples=8',
    'run.eval_every=0', 'run.checkpoint_every=20')), [])]


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """Return a function running the bench's main() with arguments, in this process."""
    spec = importlib.util.spec_from_file_location('pave_reproduction', BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(BENCH.parent))   # as when run: bench/ is on the path
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    outputs = ['--output-dir', str(tmp_path / 'runs'), '--json', str(tmp_path / 'r.json'),
               '--results', str(tmp_path / 'r.md'), '--figures', str(tmp_path / 'figures')]

    def run(*arguments):
        monkeypatch.setattr(sys, 'argv', ['pave_reproduction.py', *outputs, *TINY, *arguments])
        return module.main()
    run.module = module
    yield run
    torch.set_num_threads(threads)


def test_the_reproduction_runs_end_to_end_on_a_tiny_budget(bench, tmp_path, capsys):
    (tmp_path / 'r.md').write_text('# Results\n\nA discussion that a rerun must keep.\n')
    assert bench('--pendulum-steps', '40', '--hopper-steps', '30') == 0
    results = json.loads((tmp_path / 'r.json').read_text())
    assert len(results['runs']) == 6 and len(results['summary']) == 6
    for run in results['runs']:
        assert math.isfinite(run['return']) and run['wall_time_s'] > 0
        assert {'sup_mixed_hessian_spectral', 'negative_definite_rate',
                'action_gradient_cosine_flip_rate'} <= set(run['critic'])
        assert run['critic']['source'] == 'evaluation trajectories'
    pendulum = [run for run in results['runs'] if run['task'] == 'Pendulum-v1']
    assert all(run['steps'] == 40 and run['sm_pave'] > 0 for run in pendulum)
    assert {run['hfr_cutoff_hz'] for run in pendulum} == {5.0}   # f_s / 4 at 20 Hz
    text = (tmp_path / 'r.md').read_text()
    assert '| Hopper-v5 | TD3 + PAVE | 30 | 1 |' in text and '| 0.950 |' in text
    assert '| episode length | Sm (PAVE) | paper Sm | Sm (ours) |' in text
    assert 'Pendulum-v1 40 steps, Hopper-v5 30 steps (the paper: 1e6); seeds: 1' in text
    assert '| Walker2d | 1.990 | 1.272 | 1923 | 643 |' in text and 'LunarLander' in text
    for task in ('Pendulum-v1', 'Hopper-v5'):
        assert (tmp_path / 'figures' / f'{task}_training.png').stat().st_size > 0
        assert f'](figures/{task}_training.png)' in text
    capsys.readouterr()

    # Finished runs are skipped; a larger budget resumes a run from its checkpoint.
    assert bench('--pendulum-steps', '40', '--hopper-steps', '30') == 0
    assert capsys.readouterr().out.count('skipped (done)') == 6
    assert bench('--pendulum-steps', '60', '--tasks', 'Pendulum-v1', '--methods', 'pave') == 0
    assert 'Pendulum-v1_pave_seed0: done' in capsys.readouterr().out
    resumed = json.loads((tmp_path / 'runs' / 'Pendulum-v1_pave_seed0' /
                          'result.json').read_text())
    assert resumed['steps'] == 60
    text = (tmp_path / 'r.md').read_text()
    assert 'A discussion that a rerun must keep.' in text
    assert text.count('<!-- pave:reproduction:begin -->') == 1
    assert '| Pendulum-v1 | TD3 + PAVE | 60 | 1 |' in text


def test_results_with_replay_diagnostics_are_measured_again(bench, tmp_path, capsys):
    # Runs finished before the diagnostics moved onto the evaluation trajectories: rerunning
    # re-evaluates them from their last checkpoint, with the same (deterministic) return.
    arguments = ('--pendulum-steps', '40', '--tasks', 'Pendulum-v1', '--methods', 'base')
    assert bench(*arguments) == 0
    run_dir = tmp_path / 'runs' / 'Pendulum-v1_base_seed0'
    fresh = json.loads((run_dir / 'result.json').read_text())
    for path in (run_dir / 'result.json', run_dir / 'evaluations' / 'step_000000040.json'):
        old = json.loads(path.read_text())
        del old['critic']['source']
        path.write_text(json.dumps(old))
    capsys.readouterr()
    assert bench(*arguments) == 0
    assert 'Pendulum-v1_base_seed0: done' in capsys.readouterr().out
    again = json.loads((run_dir / 'result.json').read_text())
    assert again['critic'] == fresh['critic'] and again['return'] == fresh['return']


def test_after_an_interrupted_run_a_process_starts_no_other(bench, tmp_path, monkeypatch):
    # A pool worker is handed its next run before the parent can cancel it: once one run was
    # interrupted (or Ctrl-C came between runs), run_one must not start another.
    module = bench.module
    monkeypatch.setattr(module, 'STOPPED', [])
    monkeypatch.setattr(module.OffPolicyRunner, 'train', lambda runner: 'interrupted')
    spec = {'task': 'Pendulum-v1', 'method': 'base', 'seed': 0, 'steps': 40, 'progress': False,
            'output_dir': str(tmp_path / 'runs'), 'overrides': [], 'name': 'first'}
    assert module.run_one(spec) is None and module.STOPPED
    assert module.run_one({**spec, 'name': 'second'}) is None
    assert not (tmp_path / 'runs' / 'second').exists()


def test_side_by_side_runs_start_with_the_longest(bench):
    specs = [{'task': task, 'method': method, 'steps': steps, 'seed': seed}
             for task, steps in (('Pendulum-v1', 100), ('Hopper-v5', 200))
             for seed in range(2) for method in ('base', 'caps', 'pave')]
    order = [(spec['task'], spec['method'], spec['seed'])
             for spec in bench.module.longest_first(specs)]
    assert order[:2] == [('Hopper-v5', 'pave', 0), ('Hopper-v5', 'pave', 1)]
    assert order[-2:] == [('Pendulum-v1', 'base', 0), ('Pendulum-v1', 'base', 1)]
    assert sorted(order) == sorted((s['task'], s['method'], s['seed']) for s in specs)
