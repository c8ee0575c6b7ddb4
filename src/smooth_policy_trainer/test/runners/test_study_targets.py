"""The study's targets and time to target: on hand-made evaluations, and a run that stops there."""

import json
from pathlib import Path
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from smooth_policy_trainer.cli.study import parse_args, run_spec
from smooth_policy_trainer.evaluation.study_grid import (evaluation_figures, first_at_target,
                                                         HOP_TARGETS, Target, Task,
                                                         time_to_target, TROT_TARGETS,
                                                         unmet_targets)
from smooth_policy_trainer.runners import study_run
import yaml

TRACKING = {'forward_speed_m_s': 0.5, 'lateral_speed_m_s': -0.01, 'heading_drift_deg_per_s': 0.3,
            'joint_rmse_rad': 0.05, 'survival_rate': 1.0}
TINY = ['--num-envs', '2', '--set', 'ppo.num_steps=4', '--set', 'ppo.num_minibatches=1',
        '--eval-episodes', '1', '--eval-seconds', '1']


def evaluation(iteration, **changes):
    """Return an evaluation entry as study_runs records it (100 env steps, 2 s an iteration)."""
    return {'iteration': iteration, 'env_steps': 100 * iteration, 'train_s': 2.0 * iteration,
            'wall_s': 2.5 * iteration, 'figures': {**TRACKING, **changes}}


def test_time_to_target_is_the_first_evaluation_that_meets_every_target():
    evaluations = [
        evaluation(50, forward_speed_m_s=0.1),           # too slow
        evaluation(100, heading_drift_deg_per_s=-1.5),   # turns
        evaluation(150, survival_rate=0.875),            # one of eight fell
        evaluation(200),                                 # everything met: the target
        evaluation(250, joint_rmse_rad=0.2),             # later regressions do not move it
        evaluation(300),
    ]
    assert first_at_target(evaluations, TROT_TARGETS) is evaluations[3]
    assert time_to_target(evaluations, TROT_TARGETS) == {
        'time_to_target_s': 400.0, 'wall_to_target_s': 500.0, 'env_steps_to_target': 20000,
        'iterations_to_target': 200}


def test_time_to_target_is_null_when_no_evaluation_meets_the_targets():
    evaluations = [evaluation(50, forward_speed_m_s=0.44), evaluation(100, lateral_speed_m_s=0.06)]
    assert first_at_target(evaluations, TROT_TARGETS) is None
    assert time_to_target(evaluations, TROT_TARGETS) == dict.fromkeys(
        ('time_to_target_s', 'wall_to_target_s', 'env_steps_to_target', 'iterations_to_target'))
    assert time_to_target([], TROT_TARGETS)['time_to_target_s'] is None


def test_targets_compare_as_stated_and_a_missing_figure_fails():
    assert unmet_targets(TRACKING, TROT_TARGETS) == []
    # |lateral| and |heading| bound both signs; the bounds themselves are met.
    edge = {**TRACKING, 'forward_speed_m_s': 0.45, 'lateral_speed_m_s': -0.05,
            'heading_drift_deg_per_s': -1.0, 'joint_rmse_rad': 0.10}
    assert unmet_targets(edge, TROT_TARGETS) == []
    assert unmet_targets({**TRACKING, 'heading_drift_deg_per_s': -1.01}, TROT_TARGETS) == [
        '|heading_drift_deg_per_s| <= 1']
    # No hop figures (no whole cycle, or everything fell): not at target.
    assert len(unmet_targets({'survival_rate': 1.0, 'hop_cycles_with_flight': None},
                             HOP_TARGETS)) == 2
    assert unmet_targets({'survival_rate': 1.0, 'hop_cycles_with_flight': 1.0,
                          'hop_apex_error_max_m': 0.029}, HOP_TARGETS) == []
    assert not Target('joint_rmse_rad', '<=', 0.1).met({'joint_rmse_rad': float('nan')})
    with pytest.raises(ValueError, match='unknown comparison'):
        Target('joint_rmse_rad', '<', 0.1).met(TRACKING)


def test_evaluation_figures_reads_nested_figures_and_leaves_absent_ones_none():
    result = {'return': 10.0, 'joint_rmse_rad': 0.1, 'survival_rate': 1.0,
              'world': {'root_position_error_rms_m': 0.2,
                        'hop': {'cycles_with_flight': 0.5, 'apex_error_max_m': 0.04}},
              'smoothness': {'hfr': {'value': 0.02}, 'hfr_power_weighted': {'value': 0.01},
                             'jerk': {'value': None}}}
    figures = evaluation_figures(result)
    assert figures['hop_cycles_with_flight'] == 0.5 and figures['hfr_power_weighted'] == 0.01
    assert figures['forward_speed_m_s'] is None and figures['jerk'] is None


def test_unknown_methods_and_tasks_are_named():
    with pytest.raises(SystemExit):
        parse_args(['--methods', 'mlp', 'lpn_penalty'])
    with pytest.raises(SystemExit):
        parse_args(['--tasks', 'walk'])
    with pytest.raises(SystemExit):
        parse_args(['--local', '--address', 'auto'])


def test_a_run_stops_at_the_first_evaluation_meeting_its_targets(tmp_path, monkeypatch, capsys):
    # Targets any policy meets from the start: the run stops at its first evaluation, not the cap.
    hop = study_run.TASKS['hop']
    monkeypatch.setitem(study_run.TASKS, 'hop', Task((Target('survival_rate', '>=', 0.0),),
                                                     hop.overrides))
    args = parse_args(['--tasks', 'hop', '--methods', 'lpn_jacobian', '--iterations', '6',
                       '--eval-every', '2', '--out', str(tmp_path), *TINY])
    spec = run_spec(args, 'hop', 'lpn_jacobian', 0)
    spec_path = tmp_path / 'spec.json'
    spec_path.write_text(json.dumps(spec))
    assert study_run.main([str(spec_path), str(tmp_path / 'record.json')]) == 0
    record = json.loads((tmp_path / 'record.json').read_text())
    assert record['reached'] and record['stopped'] == 'target'
    assert record['iterations'] == record['iterations_to_target'] == 2
    assert record['env_steps_to_target'] == 2 * 4 * 2
    assert 0.0 < record['time_to_target_s'] <= record['wall_to_target_s']
    assert record['figures_at_target'] == record['evaluations'][0]['figures']
    assert record['figures_at_cap'] is None      # stopped before the cap
    assert np.isfinite(record['figures_at_target']['hfr_power_weighted'])
    assert record['peak_rss_mib'] > 0 and record['s_per_iteration'] > 0
    run_dir = tmp_path / 'runs' / 'hop' / 'lpn_jacobian' / 'seed0'
    assert (run_dir / 'policy_at_target').is_dir() and (run_dir / 'policy').is_dir()
    # The hop's own reward terms (the shipped lpn_hop's) on top of the base formulation.
    config = yaml.safe_load((run_dir / 'config.yaml').read_text())
    assert config['env']['reward_terms']['end_effector_height'] == {'weight': 0.5,
                                                                    'scale': 1000.0}
    assert config['env']['reward_terms']['root']['scale'] == 200.0
    assert config['env']['observe_heading'] and config['env']['physics'] == 'fast'


def test_a_terminated_run_saves_and_resumes_where_it_stopped(tmp_path):
    args = parse_args(['--tasks', 'trot_arm_wave', '--methods', 'mlp', '--iterations', '40',
                       '--eval-every', '1', '--out', str(tmp_path), *TINY])
    spec = run_spec(args, 'trot_arm_wave', 'mlp', 0)
    spec_path = tmp_path / 'spec.json'
    spec_path.write_text(json.dumps(spec))
    progress = Path(spec['run_dir']) / 'progress.json'
    run = subprocess.Popen([sys.executable, '-m', 'smooth_policy_trainer.runners.study_run',
                            str(spec_path), str(tmp_path / 'record.json')],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not progress.is_file() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    output = run.communicate(timeout=120)[0]
    assert run.returncode == study_run.INTERRUPTED, output
    assert 'interrupted at iteration' in output and not (tmp_path / 'record.json').exists()
    stopped = json.loads(progress.read_text())
    assert 1 <= stopped['iteration'] < 40

    # Started again (here with a cap of 'stopped + 2'): it continues from the checkpoint.
    spec['cap'] = stopped['iteration'] + 2
    spec_path.write_text(json.dumps(spec))
    assert study_run.main([str(spec_path), str(tmp_path / 'record.json')]) == 0
    record = json.loads((tmp_path / 'record.json').read_text())
    assert record['resumed'] == 1 and record['iterations'] == spec['cap']
    assert [e['iteration'] for e in record['evaluations']] == list(range(1, spec['cap'] + 1))
    assert record['evaluations'][:stopped['iteration']] == stopped['evaluations']
    assert record['train_s'] >= stopped['train_s']
