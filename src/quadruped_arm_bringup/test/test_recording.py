"""record:=true runs `ros2 bag record` into MCAP with the topics the analysis needs."""

import pytest
from quadruped_arm_bringup.recording import (
    bag_record_command, CONTROLLER_ACTION_TOPIC, controller_topic, SIM_TOPICS)


def test_sim_records_what_the_analysis_and_a_replay_need():
    assert set(SIM_TOPICS) == {'/clock', '/joint_states', '/imu', '/odom', '/joint_commands',
                               '/lpn_controller/action', '/diagnostics'}
    assert CONTROLLER_ACTION_TOPIC in SIM_TOPICS


def test_record_command_line():
    command = bag_record_command(SIM_TOPICS, 'bags/run1')
    assert command[:5] == ['ros2', 'bag', 'record', '--storage', 'mcap']
    assert command[command.index('--output') + 1] == 'bags/run1'
    assert '--use-sim-time' not in command  # receive times are wall-clock dates
    # Topics positional and last: Humble's rosbag2 0.15 (and Jazzy's before 0.26.4) have no
    # --topics option; every option comes before them.
    assert '--topics' not in command
    assert command[-len(SIM_TOPICS):] == list(SIM_TOPICS)
    assert command[:-len(SIM_TOPICS)] == ['ros2', 'bag', 'record', '--storage', 'mcap',
                                          '--output', 'bags/run1']
    # Empty bag: rosbag2 names the folder; duplicates and blanks are dropped.
    command = bag_record_command(['/a', '', '/a', '/b'])
    assert '--output' not in command
    assert command == ['ros2', 'bag', 'record', '--storage', 'mcap', '/a', '/b']
    with pytest.raises(ValueError, match='nothing to record'):
        bag_record_command(['', ''])


def test_controller_topic_names_resolve_like_the_node_does():
    assert controller_topic('~/joint_targets') == '/lpn_controller/joint_targets'
    assert controller_topic('joint_states') == '/joint_states'
    assert controller_topic('/spot/imu') == '/spot/imu'
