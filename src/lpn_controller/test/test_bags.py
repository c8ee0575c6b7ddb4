"""Bags written and read without ROS: round trips in both storages, and every error path."""

import shutil

from lpn_controller.bags import (
    BagError, BagReader, BagWriter, FLOAT64_ARRAY, JOINT_STATE, METADATA_VERSION)
import numpy as np
import pytest
from rosbags.rosbag2 import Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
import yaml

NAMES = ('front_left_hip_x', 'front_left_knee', 'arm_sh0')


def write_joint_states(path, stamps, values, storage='mcap', topic='/action', names=NAMES):
    with BagWriter(path, storage=storage) as bag:
        for stamp, row in zip(stamps, values):
            bag.write_joint_state(topic, stamp, names, row)
    return path


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_every_message_type_round_trips(tmp_path, storage):
    path = tmp_path / 'bag'
    with BagWriter(path, storage=storage) as bag:
        for step in range(5):
            time_s = 1.0 + 0.02 * step
            bag.write_clock(time_s)
            bag.write_joint_state('/joint_states', time_s, NAMES, [step, 2 * step, 3 * step],
                                  [0.1] * 3, [5.0] * 3)
            bag.write_imu('/imu', time_s, [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.1],
                          [0.0, 0.0, 9.81])
            bag.write_float64_array('/commands', time_s + 0.001, [step, -step])
        bag.write_diagnostics(1.5, [('lpn_controller: safety', 'lpn_controller', 1, 'waiting',
                                     [('mode', 'waiting_for_state')])])
    assert bag.message_count == 21
    suffix = '.mcap' if storage == 'mcap' else '.db3'
    assert [p.suffix for p in sorted(path.iterdir())] == [suffix, '.yaml']
    with BagReader(path) as reader:
        assert reader.storage == storage
        assert reader.message_count == 21
        assert {name: (t.msgtype, t.message_count) for name, t in reader.topics.items()} == {
            '/clock': ('rosgraph_msgs/msg/Clock', 5),
            '/joint_states': (JOINT_STATE, 5),
            '/imu': ('sensor_msgs/msg/Imu', 5),
            '/commands': (FLOAT64_ARRAY, 5),
            '/diagnostics': ('diagnostic_msgs/msg/DiagnosticArray', 1)}
        positions = reader.read_series('/joint_states')
        efforts = reader.read_series('/joint_states', field='effort')
        commands = reader.read_series('/commands', joint_names=['left', 'right'])
    assert positions.names == NAMES and positions.stamp_source == 'header'
    np.testing.assert_allclose(positions.stamps, 1.0 + 0.02 * np.arange(5))
    np.testing.assert_array_equal(positions.values[:, 2], 3 * np.arange(5))
    np.testing.assert_array_equal(efforts.values, 5.0)
    assert commands.names == ('left', 'right')
    assert commands.stamp_source.startswith('receive')
    np.testing.assert_allclose(commands.stamps, 1.001 + 0.02 * np.arange(5))
    np.testing.assert_array_equal(commands.values[:, 1], -np.arange(5))


def test_metadata_is_what_ros2_jazzy_reads(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [2.0, 2.5], np.zeros((2, 3)))
    info = yaml.safe_load((path / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['version'] == METADATA_VERSION == 9
    assert info['storage_identifier'] == 'mcap'
    assert info['relative_file_paths'] == ['bag.mcap']
    assert info['message_count'] == 2
    assert info['starting_time']['nanoseconds_since_epoch'] == 2_000_000_000
    topic = info['topics_with_message_count'][0]['topic_metadata']
    assert topic['type'] == JOINT_STATE and topic['serialization_format'] == 'cdr'
    assert topic['type_description_hash'].startswith('RIHS01_')


def test_a_bare_storage_file_reads_like_the_bag(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [0.0, 0.02], [[1, 2, 3], [4, 5, 6]])
    with BagReader(path / 'bag.mcap') as reader:
        np.testing.assert_array_equal(reader.read_series('/action').values[1], [4, 5, 6])


def test_joint_names_pick_and_reorder_and_messages_may_list_joints_in_any_order(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        bag.write_joint_state('/joint_states', 0.0, NAMES, [1.0, 2.0, 3.0])
        bag.write_joint_state('/joint_states', 0.01, NAMES[::-1], [30.0, 20.0, 10.0])
    with BagReader(path) as reader:
        everything = reader.read_series('/joint_states')
        picked = reader.read_series('/joint_states', joint_names=['arm_sh0', NAMES[0]])
    np.testing.assert_array_equal(everything.values, [[1, 2, 3], [10, 20, 30]])
    np.testing.assert_array_equal(picked.values, [[3, 1], [30, 10]])
    with BagReader(path) as reader, pytest.raises(BagError, match='lacks joint.*arm_el0'):
        reader.read_series('/joint_states', joint_names=['arm_el0'])


def test_out_of_order_and_repeated_header_stamps_are_sorted_and_counted(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:  # received in order, stamped out of order
        for step, stamp in enumerate([0.00, 0.04, 0.02, 0.04, 0.06]):
            bag.write_joint_state('/action', stamp, NAMES, [step] * 3, receive_time_s=step)
    with BagReader(path) as reader:
        series = reader.read_series('/action')
    np.testing.assert_allclose(series.stamps, [0.0, 0.02, 0.04, 0.06])
    # The repeated stamp keeps the message received last.
    np.testing.assert_array_equal(series.values[:, 0], [0, 2, 3, 4])
    assert series.reordered == 1 and series.duplicates == 1 and series.messages == 5


def test_unset_header_stamps_fall_back_to_the_receive_time(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        for step in range(4):
            bag.write_joint_state('/action', 0.0, NAMES, [step] * 3, receive_time_s=0.1 * step)
    with BagReader(path) as reader:
        series = reader.read_series('/action')
    assert series.stamp_source == 'receive (header stamps unset)'
    np.testing.assert_allclose(series.stamps, [0.0, 0.1, 0.2, 0.3])


def test_messages_with_nan_are_dropped_and_counted(tmp_path):
    values = np.ones((6, 3))
    values[2, 1] = np.nan
    values[4, 0] = np.inf
    path = write_joint_states(tmp_path / 'bag', 0.02 * np.arange(6), values)
    with BagReader(path) as reader:
        series = reader.read_series('/action')
    assert series.messages == 6 and series.dropped_non_finite == 2
    assert series.first_dropped_s == pytest.approx(0.04)
    np.testing.assert_allclose(series.stamps, [0.0, 0.02, 0.06, 0.1])


def test_a_topic_of_nothing_but_nan_is_refused(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [0.0, 0.02], np.full((2, 3), np.nan))
    with BagReader(path) as reader, pytest.raises(BagError, match='/action.*every one of its 2'):
        reader.read_series('/action')


def test_changing_joint_names_are_refused_with_the_time(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        bag.write_joint_state('/action', 0.0, NAMES, [0.0] * 3)
        bag.write_joint_state('/action', 0.5, ('a', 'b', 'c'), [0.0] * 3)
    with BagReader(path) as reader, pytest.raises(BagError, match='names change at 0.5'):
        reader.read_series('/action')


def test_positions_must_match_the_names(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        bag.write_joint_state('/action', 0.25, NAMES, [0.0, 1.0])
    with BagReader(path) as reader, pytest.raises(BagError, match='names 3 joints but holds 2'):
        reader.read_series('/action')


def test_float64_arrays_need_a_steady_length_and_matching_names(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        bag.write_float64_array('/commands', 0.0, [1.0, 2.0])
        bag.write_float64_array('/commands', 0.02, [1.0, 2.0, 3.0])
    with BagReader(path) as reader:
        with pytest.raises(BagError, match='3 joint names given but the messages hold 2'):
            reader.read_series('/commands', joint_names=['a', 'b', 'c'])
        with pytest.raises(BagError, match='at 0.02.* holds 3 values, earlier ones 2'):
            reader.read_series('/commands')


def test_missing_path(tmp_path):
    with pytest.raises(BagError, match='does not exist'):
        BagReader(tmp_path / 'nothing')


def test_a_folder_without_metadata_is_not_a_bag(tmp_path):
    (tmp_path / 'folder').mkdir()
    with pytest.raises(BagError, match='not a ROS 2 bag: it has no metadata.yaml'):
        BagReader(tmp_path / 'folder')


def test_a_file_of_another_kind_is_not_a_bag(tmp_path):
    (tmp_path / 'notes.txt').write_text('hello')
    with pytest.raises(BagError, match='not a ROS 2 bag'):
        BagReader(tmp_path / 'notes.txt')


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_an_empty_bag_is_refused(tmp_path, storage):
    with BagWriter(tmp_path / 'bag', storage=storage):
        pass
    with pytest.raises(BagError, match='is empty: it holds no messages'):
        BagReader(tmp_path / 'bag')


def test_a_missing_topic_lists_the_topics_present(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [0.0], [[0, 0, 0]], topic='/joint_states')
    with BagReader(path) as reader, pytest.raises(BagError) as error:
        reader.read_series('/lpn_controller/action')
    assert "no topic '/lpn_controller/action'" in str(error.value)
    assert f'/joint_states ({JOINT_STATE}, 1 msgs)' in str(error.value)


def test_a_type_that_is_not_a_series_is_refused(tmp_path):
    path = tmp_path / 'bag'
    with BagWriter(path) as bag:
        bag.write_imu('/imu', 0.0, [1, 0, 0, 0], [0, 0, 0], [0, 0, 9.81])
    with BagReader(path) as reader, pytest.raises(BagError, match='sensor_msgs/msg/Imu, which '
                                                                  'cannot be read as a time'):
        reader.read_series('/imu')


def test_an_unknown_message_type_is_refused_by_name(tmp_path):
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg('float64 value', 'my_msgs/msg/Reading'))
    reading = store.types['my_msgs/msg/Reading']
    with Writer(tmp_path / 'bag', version=9) as writer:
        connection = writer.add_connection('/reading', 'my_msgs/msg/Reading', typestore=store)
        writer.write(connection, 0, store.serialize_cdr(reading(value=1.0),
                                                        'my_msgs/msg/Reading'))
    with BagReader(tmp_path / 'bag') as reader:
        assert reader.topics['/reading'].msgtype == 'my_msgs/msg/Reading'
        with pytest.raises(BagError, match='my_msgs/msg/Reading, which cannot be read'):
            reader.read_series('/reading')


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('keep', [0.5, 0.98])
def test_a_truncated_bag_is_refused(tmp_path, storage, keep):
    path = write_joint_states(tmp_path / 'bag', 0.02 * np.arange(200), np.ones((200, 3)),
                              storage=storage)
    storage_file = next(p for p in path.iterdir() if p.suffix != '.yaml')
    size = storage_file.stat().st_size
    with open(storage_file, 'r+b') as stream:
        stream.truncate(int(size * keep))
    with pytest.raises(BagError, match=f'bag {path} cannot be read, it is truncated or '
                                       'corrupt'):
        with BagReader(path) as reader:
            reader.read_series('/action')


def test_a_storage_file_that_is_gone_is_reported(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [0.0], [[0, 0, 0]])
    (path / 'bag.mcap').unlink()
    with pytest.raises(BagError, match='cannot be read.*missing'):
        BagReader(path)


def test_the_writer_never_overwrites_and_checks_its_arguments(tmp_path):
    path = write_joint_states(tmp_path / 'bag', [0.0], [[0, 0, 0]])
    with pytest.raises(BagError, match='exists already'):
        BagWriter(path)
    with pytest.raises(BagError, match="unknown bag storage 'rosbag1'"):
        BagWriter(tmp_path / 'other', storage='rosbag1')
    with BagWriter(tmp_path / 'third') as bag:
        bag.write_joint_state('/a', 0.0, NAMES, [0, 0, 0])
        with pytest.raises(BagError, match='/a carries sensor_msgs/msg/JointState'):
            bag.write_float64_array('/a', 0.1, [1.0])
        with pytest.raises(ValueError, match='finite and non-negative'):
            bag.write_clock(-1.0)
    shutil.rmtree(path)
