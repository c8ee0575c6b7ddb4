"""The study report from hand-made run records: statistics over seeds, ranking, plots, markers."""

import json

import pytest
from smooth_policy_trainer.cli.study import record_path
from smooth_policy_trainer.evaluation.study_grid import run_name, TROT_TARGETS
from smooth_policy_trainer.evaluation.study_report import (build_report, summarise,
                                                           tables_markdown)
from smooth_policy_trainer.runners.study_run import write_json_atomically

FIGURES = {'joint_rmse_rad': 0.05, 'forward_speed_m_s': 0.5, 'hfr': 0.02,
           'hfr_power_weighted': 0.01, 'sm': 0.001, 'action_rate': 0.02, 'jerk': 300.0,
           'survival_rate': 1.0}


def record(method, seed, reached_at=None, hfr_power_weighted=0.01, label=None):
    """Return a run record as study_runs writes it; ``reached_at`` None never reaches."""
    evaluations = []
    for iteration in (100, 200):
        met = reached_at is not None and iteration >= reached_at
        figures = {**FIGURES, 'hfr_power_weighted': hfr_power_weighted,
                   'forward_speed_m_s': 0.5 if met else 0.1}
        evaluations.append({'iteration': iteration, 'env_steps': 1536 * iteration,
                            'train_s': 1.5 * iteration, 'wall_s': 1.6 * iteration, 'met': met,
                            'unmet': [] if met else ['forward_speed_m_s >= 0.45',
                                                     '|heading_drift_deg_per_s| <= 1'],
                            'figures': figures})
    at_target = next((e for e in evaluations if e['met']), None)
    return {
        'format': 'smoothness-study-run', 'version': 1, 'task': 'trot_arm_wave',
        'method': method, 'label': label or method, 'seed': seed, 'config': 'base',
        'overrides': [], 'targets': [str(t) for t in TROT_TARGETS], 'cap_iterations': 200,
        'eval_every': 100, 'eval_episodes': 8, 'eval_seconds': 10.0,
        'train_past_target': False, 'num_envs': 64, 'env_steps_per_iteration': 1536,
        'reached': at_target is not None, 'stopped': 'target' if at_target else 'cap',
        'time_to_target_s': at_target and at_target['train_s'],
        'wall_to_target_s': at_target and at_target['wall_s'],
        'env_steps_to_target': at_target and at_target['env_steps'],
        'iterations_to_target': at_target and at_target['iteration'],
        'figures_at_target': at_target and at_target['figures'],
        'figures_at_cap': None if at_target else evaluations[-1]['figures'],
        'unmet_at_cap': None if at_target else evaluations[-1]['unmet'],
        'iterations': 200, 'env_steps': 307200, 'train_s': 300.0, 'wall_s': 320.0,
        's_per_iteration': 1.5, 'peak_rss_mib': 500.0 + seed, 'resumed': 0,
        'machine': 'test', 'git_revision': 'x',
        'curve': {'iteration': [100, 200], 'env_steps': [153600, 307200],
                  'train_s': [150.0, 300.0], 'wall_s': [160.0, 320.0], 'return': [10.0, 20.0]},
        'evaluations': evaluations}


RECORDS = [record('lpn_jacobian', 0, 100, 0.002, 'LPN + penalty'),
           record('lpn_jacobian', 1, 200, 0.004, 'LPN + penalty'),
           record('mlp', 0, 100, 0.05, 'MLP'),
           record('mlp', 1, None, 0.06, 'MLP'),
           record('caps', 0, None, 0.001, 'CAPS')]


def test_summary_averages_the_seeds_that_reached_and_ranks_by_power_weighted_hfr():
    summary = summarise(RECORDS)['trot_arm_wave']
    # Smoothest at the target first; a method that never reached it last, however smooth.
    assert list(summary) == ['lpn_jacobian', 'mlp', 'caps']
    lpn = summary['lpn_jacobian']
    assert (lpn['runs'], lpn['reached']) == (2, 2)
    assert lpn['time_to_target_s'] == pytest.approx((225.0, 75.0, 2))
    assert lpn['hfr_power_weighted'][:2] == pytest.approx((0.3, 0.1))   # percent
    mlp = summary['mlp']
    assert (mlp['runs'], mlp['reached']) == (2, 1)
    assert mlp['time_to_target_s'] == (150.0, 0.0, 1)             # the seed that reached it
    assert mlp['peak_rss_mib'] == pytest.approx((500.5, 0.5, 2))  # cost: every run
    assert summary['caps']['time_to_target_s'] == (None, None, 0)


def test_the_report_is_rebuilt_from_the_records_present(tmp_path):
    out = tmp_path / 'study'
    for item in RECORDS:
        write_json_atomically(record_path(out, run_name(item['task'], item['method'],
                                                        item['seed'])), item)
    (out / 'results' / 'trot_arm_wave' / 'mlp' / 'seed7.json').write_text('{not json')
    results = tmp_path / 'results.md'
    results.write_text('# Results\n\nKept.\n\n<!-- study:targets:begin -->\nold\n'
                       '<!-- study:targets:end -->\n\nAlso kept.\n')
    paths = build_report(out, results)
    report = paths['report'].read_text()
    assert '| LPN + penalty | 2/2 | 225 ± 75 | 230,400 ± 76,800 |' in report
    assert '| MLP | 1/2 | 150 |' in report and '| CAPS | 0/1 | n/a |' in report
    # The runs that missed: their last evaluation, the targets escaped for the table.
    assert '| MLP, seed 1 | 200 |' in report and '\\|heading_drift_deg_per_s\\| <= 1' in report
    for name in ('pareto', 'time_to_target', 'learning_curves'):
        assert (out / 'report' / f'trot_arm_wave_{name}.png').stat().st_size > 0
        assert f'](trot_arm_wave_{name}.png)' in report
    summary = json.loads(paths['summary'].read_text())
    assert summary['trot_arm_wave']['mlp']['reached'] == 1
    text = results.read_text()
    assert 'Kept.' in text and 'Also kept.' in text and 'old' not in text
    assert '](study/report/trot_arm_wave_pareto.png)' in text


def test_each_task_shows_its_own_world_figures():
    # A hop is judged by its flight and apex, a trot by its speed: each table has its own.
    hop = record('lpn_jacobian', 0, 100, 0.002, 'LPN + penalty')
    hop['task'] = 'hop'
    for evaluation in hop['evaluations']:
        evaluation['figures'].update(hop_flight_time_s=0.14, hop_apex_error_max_m=0.012)
    records = [*RECORDS, hop]
    text = tables_markdown(records, summarise(records), {}, '.')
    trot_table, hop_table = text.split('### hop')
    assert '| fwd (m/s) |' in trot_table and 'flight (s)' not in trot_table
    assert '| flight (s) | apex off (cm) |' in hop_table and 'fwd (m/s)' not in hop_table
    assert '| LPN + penalty | 1/1 | 150 | 153,600 | 0.050 | 0.140 | 1.2 |' in hop_table
