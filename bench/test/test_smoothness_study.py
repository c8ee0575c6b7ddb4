"""
The study command on a tiny budget: every method trains, runs on Ray and locally, resumes.

``python -m smooth_policy_trainer.study`` (bench/smoothness_study.py only calls it).
"""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.evaluation.study_grid import BASE_CONFIG, BASE_OVERRIDES, METHODS, TASKS
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.ppo_runner import Runner

TINY_SETTINGS = ['ppo.num_steps=4', 'ppo.num_minibatches=1']
TINY = ['--num-envs', '2', '--set', TINY_SETTINGS[0], '--set', TINY_SETTINGS[1],
        '--eval-episodes', '1', '--eval-seconds', '1']
BENCH = Path(__file__).resolve().parents[2] / 'bench' / 'smoothness_study.py'


def study(*arguments, **options):
    """Run the study command in its own process group; returns the CompletedProcess."""
    return subprocess.run([sys.executable, '-m', 'smooth_policy_trainer.study', *arguments],
                          capture_output=True, text=True, timeout=300, **options)


def records(out):
    """Return {run name: record} of the records a study wrote under ``out``."""
    return {str(path.relative_to(out / 'results').with_suffix('')): json.loads(path.read_text())
            for path in sorted((out / 'results').glob('*/*/seed*.json'))}


@pytest.mark.parametrize('method', list(METHODS))
def test_every_study_method_trains_and_exports(method, tmp_path):
    # In process, one iteration each: every switch the study sets reaches a working runner.
    overrides = [*BASE_OVERRIDES, *TASKS['hop'].overrides, *METHODS[method][1], 'env.clip=hop',
                 'env.num_envs=2', 'run.eval_every=0', *TINY_SETTINGS]
    runner = Runner(load_config(BASE_CONFIG, overrides), tmp_path, progress=False)
    try:
        scalars = runner.step()
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config))
    finally:
        runner.close()
    assert np.isfinite(scalars['train/reward_per_step'])
    assert policy.metadata.kind == runner.config.policy.kind


def test_the_study_on_embedded_ray_writes_one_record_per_run(tmp_path):
    out = tmp_path / 'study'
    done = study('--tasks', 'trot_arm_wave', '--methods', 'lpn_jacobian', 'mlp', '--seeds', '0',
                 '--iterations', '4', '--out', str(out), *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'ray:' in done.stdout      # an embedded Ray ran the runs
    found = records(out)
    assert set(found) == {'trot_arm_wave/lpn_jacobian/seed0', 'trot_arm_wave/mlp/seed0'}
    for record in found.values():
        # Four tiny iterations cannot trot at 0.45 m/s: not reached, evaluated at the cap.
        assert 'time_to_target_s' in record and record['time_to_target_s'] is None
        assert not record['reached'] and record['stopped'] == 'cap'
        assert record['iterations'] == record['cap_iterations'] == 4
        assert record['figures_at_cap']['survival_rate'] is not None
        assert record['unmet_at_cap'] and record['peak_rss_mib'] > 0
        assert [e['iteration'] for e in record['evaluations']] == [4]
        assert record['curve']['iteration'] == [4] and record['curve']['env_steps'] == [32]
    report = (out / 'report' / 'report.md').read_text()
    assert '| LPN + Jacobian penalty (w 0.05) | 0/1 |' in report
    assert (out / 'report' / 'trot_arm_wave_pareto.png').stat().st_size > 0


def test_a_killed_local_study_resumes_and_skips_finished_runs(tmp_path):
    out = tmp_path / 'study'
    grid = ['--tasks', 'hop', '--methods', 'mlp', 'low_pass', '--seeds', '0', '--iterations',
            '3', '--eval-every', '1', '--out', str(out), '--local', '--parallel', '1', *TINY]
    command = [sys.executable, '-m', 'smooth_policy_trainer.study', *grid]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not records(out) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)   # the study and its run, as a lost machine
        first.wait()
    before = records(out)
    assert list(before) == ['hop/mlp/seed0'], 'the first run should end before the kill'
    finished_log = out / 'runs' / 'hop' / 'mlp' / 'seed0' / 'train.log'
    log_size = finished_log.stat().st_size

    second = study(*grid)
    assert second.returncode == 0, second.stdout + second.stderr
    assert '1 runs to train, 1 finished before (skipped)' in second.stdout
    after = records(out)
    assert set(after) == {'hop/mlp/seed0', 'hop/low_pass/seed0'}
    assert after['hop/mlp/seed0'] == before['hop/mlp/seed0']     # not trained again
    assert finished_log.stat().st_size == log_size
    assert after['hop/low_pass/seed0']['iterations'] == 3

    # A higher cap continues the finished runs from their last checkpoint, not from scratch.
    third = study(*grid[:grid.index('--iterations') + 1], '5',
                  *grid[grid.index('--iterations') + 2:])
    assert third.returncode == 0, third.stdout + third.stderr
    extended = records(out)['hop/mlp/seed0']
    assert extended['iterations'] == 5 and extended['resumed'] == 1
    assert [e['iteration'] for e in extended['evaluations']] == [1, 2, 3, 4, 5]
    assert extended['evaluations'][:3] == before['hop/mlp/seed0']['evaluations']
    report = (out / 'report' / 'report.md').read_text()
    assert 'MLP + low-pass filter (alpha 0.5) | 0/1' in report


def test_a_terminated_study_stops_its_running_runs_and_they_resume(tmp_path):
    # SIGTERM to the study alone (a scheduler's kill, not Ctrl-C to the process group): the
    # running run must save and stop too, not train on to its cap while the study waits.
    out = tmp_path / 'study'
    grid = ['--tasks', 'hop', '--methods', 'mlp', '--seeds', '0', '--iterations', '100000',
            '--eval-every', '100000', '--checkpoint-every', '100000', '--out', str(out),
            '--local', '--parallel', '1', *TINY]
    log = out / 'runs' / 'hop' / 'mlp' / 'seed0' / 'train.log'
    study_process = subprocess.Popen([sys.executable, '-m', 'smooth_policy_trainer.study', *grid],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (log.is_file() and 'from iteration 0' in log.read_text()):
            assert study_process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)
        study_process.send_signal(signal.SIGTERM)
        _, errors = study_process.communicate(timeout=60)
    finally:
        if study_process.poll() is None:
            os.killpg(study_process.pid, signal.SIGKILL)
    assert study_process.returncode == 130, errors
    assert 'interrupted at iteration' in log.read_text()
    assert not records(out)      # no record: the run did not end, it stopped to resume
    progress = json.loads((out / 'runs' / 'hop' / 'mlp' / 'seed0' / 'progress.json').read_text())
    assert progress['iteration'] > 0


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_bench_script_calls_the_study_and_rebuilds_the_report(tmp_path):
    results = tmp_path / 'results.md'
    results.write_text('# Results\n\nA discussion that a rebuild must keep.\n')
    done = subprocess.run([sys.executable, str(BENCH), '--report-only', '--out',
                           str(tmp_path / 'study'), '--results', str(results)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = results.read_text()
    assert 'A discussion that a rebuild must keep.' in text
    assert text.count('<!-- study:targets:begin -->') == 1 and 'No run records yet.' in text
