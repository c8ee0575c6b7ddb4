"""The no-ROS demo on a short horizon: closed loop, real MCAP bags, analysis of both."""

import contextlib
import io
import json
from pathlib import Path

from lpn_controller.bags import BagReader, BagWriter
from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import load_policy, save_policy
import numpy as np
import pytest
from quadruped_arm_bringup.closed_loop import ACTION_TOPIC, run_closed_loop
from quadruped_arm_bringup.demo import main
from quadruped_arm_bringup.recording import SIM_TOPICS
from sim_bridge.config import load_config

LPN = Path(__file__).resolve().parents[1] / 'policies' / 'lpn_trot_arm_wave'
SECONDS = 3.0  # 2 s moving to the default pose, then 1 s of policy


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    output = tmp_path_factory.mktemp('demo')
    printed = io.StringIO()
    # The shipped LPN stands in for the MLP, which may not be shipped yet.
    with contextlib.redirect_stdout(printed):
        code = main(['--seconds', str(SECONDS), '--output', str(output), '--mlp', str(LPN)])
    (output / 'printed.txt').write_text(printed.getvalue())
    return code, output


def test_the_demo_records_what_a_ros_run_records(demo_run):
    code, output = demo_run
    assert code == 0
    for role in ('lpn', 'mlp'):
        with BagReader(output / 'bags' / role) as reader:
            assert reader.storage == 'mcap'
            counts = {name: topic.message_count for name, topic in reader.topics.items()}
            types = {name: topic.msgtype for name, topic in reader.topics.items()}
            assert set(counts) == set(SIM_TOPICS)  # what record:=true records
            assert counts['/clock'] == 1500           # every 2 ms physics tick
            assert counts['/joint_states'] == counts['/imu'] == counts['/odom'] == 300  # 100 Hz
            assert counts['/joint_commands'] == 150  # 50 Hz, from the first control step
            assert counts['/diagnostics'] == 3       # 1 Hz
            assert 45 <= counts[ACTION_TOPIC] <= 50  # the policy runs after the 2 s approach
            assert types[ACTION_TOPIC] == types['/joint_states'] == 'sensor_msgs/msg/JointState'
            assert types['/imu'] == 'sensor_msgs/msg/Imu'
            assert types['/clock'] == 'rosgraph_msgs/msg/Clock'
            assert types['/odom'] == 'nav_msgs/msg/Odometry'
            assert types['/diagnostics'] == 'diagnostic_msgs/msg/DiagnosticArray'
            actions = reader.read_series(ACTION_TOPIC)
            assert actions.stamp_source == 'header'
            np.testing.assert_allclose(np.diff(actions.stamps), 0.02, atol=1e-9)


def test_the_demo_analyses_both_bags(demo_run):
    code, output = demo_run
    report = json.loads((output / 'analysis' / 'report.json').read_text())
    assert [bag['label'] for bag in report['bags']] == ['lpn', 'mlp']
    for bag in report['bags']:
        assert bag['action_topic'] == ACTION_TOPIC
        assert bag['sample_rate_hz'] == pytest.approx(50.0)
        assert bag['metrics']['hfr']['value'] < 0.05  # the LPN is smooth
        assert bag['metrics']['jerk']['window_length'] == bag['window_length']
        assert set(bag['groups']) == {'legs', 'arm'}
    assert Path(report['comparison_plot']).exists()


def test_equal_policies_and_seeds_give_identical_bags(demo_run, tmp_path):
    _, output = demo_run
    policy = load_policy(LPN)
    with BagWriter(tmp_path / 'again') as bag:
        result = run_closed_loop(policy, SECONDS, bag)
    assert result.stayed_up and result.policy_engaged_s == pytest.approx(2.04)
    with BagReader(tmp_path / 'again') as again, BagReader(output / 'bags' / 'mlp') as first:
        np.testing.assert_array_equal(again.read_series(ACTION_TOPIC).values,
                                      first.read_series(ACTION_TOPIC).values)


def test_the_demo_shows_the_world_and_a_video_of_both_robots(demo_run):
    code, output = demo_run
    printed = (output / 'printed.txt').read_text()
    assert code == 0 and 'In the world, while the policy drove' in printed
    rows = [line for line in printed.splitlines() if line.startswith(('| lpn |', '| mlp |'))]
    assert len(rows) == 2 and all(row.endswith('| 0.50 |') for row in rows)  # the clip's speed
    if 'video: skipped, no offscreen OpenGL' in printed:
        pytest.skip('no offscreen OpenGL here; the demo said so in one line and went on')
    video = output / 'demo.mp4'
    assert f'video: {video}' in printed
    import imageio_ffmpeg
    frames = imageio_ffmpeg.read_frames(str(video))
    meta = next(frames)
    assert meta['size'] == (2 * 480, 360) and meta['fps'] == 15.0  # two runs side by side
    assert sum(1 for _ in frames) == int(SECONDS * 15)


def test_a_missing_policy_is_named_with_the_way_out(tmp_path, capsys):
    assert main(['--seconds', '1', '--output', str(tmp_path), '--mlp',
                 str(tmp_path / 'no_policy')]) == 1
    error = capsys.readouterr().err
    assert 'MLP policy' in error and 'no_policy does not exist' in error
    assert 'smooth_policy_trainer.export' in error


def test_policies_of_different_clips_are_not_compared(tmp_path, capsys):
    metadata, weights = make_example_policy('mlp', load_config().joint_names)
    save_policy(tmp_path / 'example', metadata, weights)  # imitates the clip 'example'
    assert main(['--seconds', '1', '--output', str(tmp_path / 'out'), '--mlp',
                 str(tmp_path / 'example')]) == 1
    assert "imitate different clips ({'lpn': 'trot_arm_wave', 'mlp': 'example'})" in \
        capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_the_demo_replaces_its_own_bags_but_nothing_else(tmp_path, capsys):
    arguments = ['--seconds', '2.5', '--output', str(tmp_path), '--mlp', str(LPN), '--no-plots',
                 '--no-video']
    assert main(arguments) == 0
    assert main(arguments) == 0  # the bags of the first run are replaced
    (tmp_path / 'bags' / 'lpn' / 'thesis.tex').write_text('keep me')
    assert main(arguments) == 1
    assert 'is not a bag an earlier demo wrote' in capsys.readouterr().err
    assert (tmp_path / 'bags' / 'lpn' / 'thesis.tex').exists()
