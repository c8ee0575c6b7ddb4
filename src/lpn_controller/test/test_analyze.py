"""Bag analysis on bags with known spectra, its error paths, and the command line."""

import json

from lpn_controller import metrics
from lpn_controller.analyze import (
    AnalysisConfig, analyze_bag, estimate_rate, group_joints, main, resample)
from lpn_controller.bags import BagError, BagWriter
import numpy as np
import pytest

RATE = 50.0
LEGS = ('front_left_hip_x', 'front_left_hip_y', 'front_left_knee')
ARM = ('arm_sh0', 'arm_wr0')
NAMES = LEGS + ARM
ACTION = '/lpn_controller/action'


def known_actions(times):
    """Legs at 2 Hz and 1.5 Hz (all power below 10 Hz), arm_sh0 at 20 Hz, arm_wr0 still."""
    phase = 2.0 * np.pi * times[:, None]
    return np.hstack([np.sin(2.0 * phase), 0.5 * np.sin(2.0 * phase + 1.0),
                      np.cos(1.5 * phase), 0.2 * np.sin(20.0 * phase), np.full_like(phase, 0.1)])


def positions_at(times):
    return np.hstack([np.sin(k * times[:, None]) for k in range(1, len(NAMES) + 1)])


def write_bag(path, steps=500, jitter_s=0.0, storage='mcap', topic=ACTION, joint_states=True,
              nan_steps=()):
    """Write actions at 50 Hz from t = 3 s and joint states at 100 Hz, names reversed."""
    rng = np.random.default_rng(0)
    times = 3.0 + np.arange(steps) / RATE + rng.uniform(-jitter_s, jitter_s, steps)
    actions = known_actions(times)
    actions[list(nan_steps), 1] = np.nan
    with BagWriter(path, storage=storage) as bag:
        for time_s, action in zip(times, actions):
            bag.write_joint_state(topic, time_s, NAMES, action, receive_time_s=time_s + 0.003)
        if joint_states:
            state_times = 3.0 + np.arange(2 * steps) / (2 * RATE)
            for time_s, position in zip(state_times, positions_at(state_times)):
                bag.write_joint_state('/joint_states', time_s, NAMES[::-1], position[::-1],
                                      np.zeros(len(NAMES)), np.zeros(len(NAMES)))
    return path


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_known_spectra_give_the_expected_hfr_per_joint(tmp_path, storage):
    report = analyze_bag(write_bag(tmp_path / 'bag', storage=storage)).report
    hfr = report['metrics']['hfr']['per_joint']
    assert max(hfr[name] for name in LEGS) < 1e-3
    assert hfr['arm_sh0'] > 0.99
    assert hfr['arm_wr0'] == 0.0  # a still joint has no power at all
    assert report['storage'] == storage
    assert report['sample_rate_hz'] == pytest.approx(RATE)
    assert report['window_length'] == 500
    assert report['groups'] == {'legs': list(LEGS), 'arm': list(ARM)}
    assert report['group_metrics']['legs']['hfr'] < 1e-3
    assert report['group_metrics']['arm']['hfr'] == pytest.approx(
        (hfr['arm_sh0'] + hfr['arm_wr0']) / 2)
    # Power-weighted: each joint's share of the high-frequency power over all joints' power.
    shares = report['metrics']['hfr_power_weighted']['per_joint']
    assert sum(shares.values()) == pytest.approx(report['metrics']['hfr_power_weighted']['value'])
    assert shares['arm_wr0'] == 0.0 and shares['arm_sh0'] > 0.0


def test_regular_stamps_give_exactly_the_metrics_of_the_arrays(tmp_path):
    analysis = analyze_bag(write_bag(tmp_path / 'bag'))
    times = 3.0 + np.arange(500) / RATE
    direct = metrics.smoothness_report(known_actions(times), RATE, positions_at(times)[:, :])
    figures = analysis.report['metrics']
    for name, result in direct.items():
        assert figures[name]['value'] == pytest.approx(result.value, rel=1e-9, abs=1e-12), name
        assert figures[name]['sample_rate_hz'] == pytest.approx(RATE)
        assert figures[name]['window_length'] == result.window_length
    assert figures['hfr']['parameters'] == {'cutoff_hz': 10.0, 'segment_length': 256}


def test_jerk_comes_from_joint_states_by_name_on_the_action_grid(tmp_path):
    report = analyze_bag(write_bag(tmp_path / 'bag')).report
    times = 3.0 + np.arange(500) / RATE
    expected = metrics.jerk(positions_at(times), RATE)
    jerk = report['metrics']['jerk']
    assert list(jerk['per_joint']) == list(NAMES)  # reordered from the reversed messages
    np.testing.assert_allclose(list(jerk['per_joint'].values()), expected.per_dimension,
                               rtol=1e-6)
    assert jerk['sample_rate_hz'] == pytest.approx(RATE) and jerk['window_length'] == 500
    assert report['jerk_source']['native_rate_hz'] == pytest.approx(2 * RATE)


def test_irregular_stamps_are_resampled_onto_a_uniform_grid(tmp_path):
    analysis = analyze_bag(write_bag(tmp_path / 'bag', jitter_s=0.004))
    assert analysis.sample_rate_hz == pytest.approx(RATE, rel=1e-3)
    grid = analysis.report['start_s'] + np.arange(len(analysis.actions)) / analysis.sample_rate_hz
    truth = known_actions(grid)
    # The slow joints are interpolated to within the curvature error of 20 ms steps.
    np.testing.assert_allclose(analysis.actions[:, :3], truth[:, :3], atol=0.02)
    assert analysis.report['metrics']['hfr']['per_joint']['arm_sh0'] > 0.9


def test_resample_and_rate_estimate_ignore_gaps():
    stamps = np.concatenate([np.arange(10) * 0.02, 1.0 + np.arange(10) * 0.02])
    assert estimate_rate(stamps) == pytest.approx(RATE)
    grid, values = resample(stamps, stamps[:, None] * 2.0, RATE)
    np.testing.assert_allclose(grid, np.arange(len(grid)) * 0.02)
    np.testing.assert_allclose(values[:, 0], grid * 2.0)
    assert grid[-1] == pytest.approx(stamps[-1])


def test_the_rate_of_timer_stamps_is_exact_despite_late_and_missed_ticks():
    # A 50 Hz timer on a 2 ms simulated clock: some ticks late by 2-12 ms, some missed; what a
    # ROS 2 recording of the controller under use_sim_time looks like.
    rng = np.random.default_rng(3)
    ticks = np.arange(800)
    late = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 6], size=ticks.size) * 0.002
    stamps = (ticks * 0.02 + late)[rng.uniform(size=ticks.size) > 0.03]
    assert estimate_rate(stamps) == pytest.approx(RATE, rel=1e-9)
    assert 1.0 / np.mean(np.diff(stamps)[np.diff(stamps) < 0.03]) != pytest.approx(RATE)


def test_joint_groups_follow_the_name_patterns():
    assert group_joints(NAMES) == {'legs': [0, 1, 2], 'arm': [3, 4]}
    assert group_joints(('index_0', 'index_1')) == {'all': [0, 1]}
    assert group_joints(('arm_sh0', 'base_yaw')) == {'arm': [0], 'other': [1]}


def test_float64_multiarray_actions_use_the_given_names(tmp_path):
    path = tmp_path / 'bag'
    times = np.arange(300) / RATE
    with BagWriter(path) as bag:
        for time_s, action in zip(times, known_actions(times)):
            bag.write_float64_array('/forward_position_controller/commands', time_s, action)
    topic = '/forward_position_controller/commands'
    named = analyze_bag(path, AnalysisConfig(action_topic=topic, joint_names=NAMES)).report
    assert named['stamp_source'] == 'receive (the message has no header)'
    assert named['metrics']['hfr']['per_joint']['arm_sh0'] > 0.99
    assert named['metrics']['jerk'] is None
    assert 'no /joint_states topic' in named['jerk_source']['note']
    by_index = analyze_bag(path, AnalysisConfig(action_topic=topic)).report
    assert list(by_index['metrics']['hfr']['per_joint']) == [f'index_{i}' for i in range(5)]
    assert by_index['groups'] == {'all': [f'index_{i}' for i in range(5)]}


def test_a_controller_with_another_name_is_found_and_said(tmp_path):
    path = write_bag(tmp_path / 'bag', topic='/spot_controller/action')
    report = analyze_bag(path).report
    assert report['action_topic'] == '/spot_controller/action'
    assert 'using /spot_controller/action' in report['topic_note']


def test_several_action_topics_need_a_choice(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        for topic in ('/a/action', '/b/action'):
            bag.write_joint_state(topic, 0.0, NAMES, np.zeros(5))
    with pytest.raises(BagError, match='several topics end in .*/a/action, /b/action'):
        analyze_bag(path)


def test_nan_messages_are_dropped_counted_and_reported(tmp_path):
    report = analyze_bag(write_bag(tmp_path / 'bag', nan_steps=(100, 101))).report
    assert report['dropped_non_finite'] == 2
    assert report['first_dropped_s'] == pytest.approx(3.0 + 100 / RATE)
    assert 'dropped and counted' in report['non_finite_policy']
    assert report['window_length'] == 500  # the hole is interpolated over
    assert np.isfinite(report['metrics']['hfr']['value'])


def test_too_few_samples_and_a_cutoff_above_nyquist_are_refused(tmp_path):
    with pytest.raises(BagError, match='8 usable samples; the analysis needs at least 16'):
        analyze_bag(write_bag(tmp_path / 'short', steps=8))
    with pytest.raises(ValueError, match='cut-off 30 Hz must lie below the Nyquist'):
        analyze_bag(write_bag(tmp_path / 'bag'), AnalysisConfig(cutoff_hz=30.0))


def test_the_command_line_writes_the_report_and_the_plots(tmp_path, capsys):
    smooth = write_bag(tmp_path / 'smooth')
    jittery = write_bag(tmp_path / 'jittery', jitter_s=0.004)
    output = tmp_path / 'out'
    assert main([str(smooth), str(jittery), '--output', str(output)]) == 0
    printed = capsys.readouterr().out
    assert 'smooth ' in printed and 'jittery ' in printed and 'f_s Hz' in printed
    report = json.loads((output / 'report.json').read_text())
    assert [bag['label'] for bag in report['bags']] == ['smooth', 'jittery']
    assert report['comparison_plot'] == str(output / 'comparison.png')
    for name in ('comparison', 'smooth_spectra', 'smooth_spectrogram', 'jittery_spectra',
                 'jittery_spectrogram'):
        assert (output / f'{name}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n', name


def test_the_command_line_can_skip_plots_and_pick_the_rate(tmp_path):
    output = tmp_path / 'out'
    assert main([str(write_bag(tmp_path / 'bag')), '--output', str(output), '--no-plots',
                 '--rate', '25', '--cutoff', '5', '--joint-states', '']) == 0
    report = json.loads((output / 'report.json').read_text())['bags'][0]
    assert report['sample_rate_hz'] == 25.0 and report['rate_source'] == '--rate'
    assert report['window_length'] == 250
    assert report['metrics']['hfr']['parameters']['cutoff_hz'] == 5.0
    assert report['metrics']['jerk'] is None
    assert sorted(path.name for path in output.iterdir()) == ['report.json']


@pytest.mark.parametrize('arguments, message', [
    (['missing_bag'], 'does not exist'),
    (['BAG', '--topic', '/nope'], "no topic '/nope'; its topics are: /joint_states"),
    (['BAG', '--topic', '/joint_states', '--cutoff', '60'], 'Nyquist frequency 50 Hz'),
])
def test_bad_input_exits_with_one_line_naming_the_problem(tmp_path, capsys, arguments,
                                                          message):
    bag = str(write_bag(tmp_path / 'bag'))
    arguments = [bag if argument == 'BAG' else str(tmp_path / argument)
                 if argument == 'missing_bag' else argument for argument in arguments]
    assert main(arguments + ['--output', str(tmp_path / 'out')]) == 1
    error = capsys.readouterr().err
    assert error.startswith('analyze: error: ') and message in error
    assert error.count('\n') == 1


def test_a_truncated_bag_is_analysed_from_what_is_intact(tmp_path, capsys):
    # Issue 17: a cut-off recording is read up to the damage, no longer refused whole.
    bag = write_bag(tmp_path / 'bag')
    storage_file = bag / 'bag.mcap'
    intact = storage_file.read_bytes()
    storage_file.write_bytes(intact[:-100])
    damaged = storage_file.read_bytes()
    assert main([str(bag), '--output', str(tmp_path / 'out'), '--no-plots']) == 0
    report = json.loads(next((tmp_path / 'out').glob('*.json')).read_text())
    recovery = report['bags'][0]['recovery']
    assert recovery['messages_recovered'] > 0 and recovery['breaks_at_byte'] is not None
    assert storage_file.read_bytes() == damaged  # never written
    # One line says what was recovered and where the file breaks.
    lines = [line for line in capsys.readouterr().out.splitlines() if 'recovered (' in line]
    assert len(lines) == 1
    assert (f"{recovery['messages_recovered']} messages, {recovery['seconds_recovered']:.3f} s"
            in lines[0])
    assert f"breaks at byte {recovery['breaks_at_byte']} of {len(damaged)}: " in lines[0]


def test_a_bag_without_metadata_says_it_was_recovered_and_found_no_damage(tmp_path, capsys):
    bag = write_bag(tmp_path / 'bag', storage='sqlite3')
    (bag / 'metadata.yaml').unlink()
    assert main([str(bag), '--output', str(tmp_path / 'out'), '--no-plots']) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if 'recovered (' in line]
    assert len(lines) == 1
    assert 'no metadata.yaml' in lines[0] and '1500 messages' in lines[0]   # 500 + 1000
    assert lines[0].endswith('no damage found in the file')


def test_an_intact_bag_prints_no_recovery_line(tmp_path, capsys):
    assert main([str(write_bag(tmp_path / 'bag')), '--output', str(tmp_path / 'out'),
                 '--no-plots']) == 0
    assert 'recovered (' not in capsys.readouterr().out


def test_bad_options_are_usage_errors(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), '--rate', '-5'])
    assert exit_info.value.code == 2
