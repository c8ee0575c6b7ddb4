"""The one aggregation of the smoothness metrics over evaluation episodes."""

from lpn_controller.metrics import smoothness_report
import numpy as np
from smooth_policy_trainer.evaluation.smoothness import aggregate_smoothness


def episode(frequency, samples, rate=50.0):
    t = np.arange(samples) / rate
    return smoothness_report(np.sin(2 * np.pi * frequency * t)[:, None], rate)


def test_figures_are_means_over_episodes_with_their_windows():
    reports = [episode(2.0, 100), episode(15.0, 60)]
    figures = aggregate_smoothness(reports, 50.0)
    assert list(figures) == ['hfr', 'hfr_power_weighted', 'sm', 'action_rate',
                             'second_difference']
    hfr = figures['hfr']
    assert hfr['value'] == np.mean([report['hfr'].value for report in reports])
    assert (hfr['window_length'], hfr['window_length_min'], hfr['episodes']) == (80, 60, 2)
    assert hfr['sample_rate_hz'] == 50.0 and hfr['unit'] == reports[0]['hfr'].unit


def test_named_metrics_no_episode_measured_report_none():
    figures = aggregate_smoothness([episode(2.0, 100)], 50.0, names=('hfr', 'jerk'))
    assert list(figures) == ['hfr', 'jerk']
    assert figures['jerk'] == {'value': None, 'unit': None, 'sample_rate_hz': 50.0,
                               'window_length': 0, 'window_length_min': 0, 'episodes': 0,
                               'parameters': {}}
    assert aggregate_smoothness([], 50.0) == {}
