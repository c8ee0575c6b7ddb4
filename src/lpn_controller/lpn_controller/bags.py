"""
Write and read ROS 2 bags without a ROS installation, through the rosbags library.

:class:`BagWriter` records the message types a run of this stack produces (JointState, Imu,
Odometry, Clock, Float64MultiArray, DiagnosticArray) to a rosbag2 directory in MCAP (default)
or sqlite3 storage, with metadata.yaml in the format ROS 2 Jazzy writes (version 9), so
``ros2 bag info`` and ``ros2 bag play`` open it. :class:`BagReader` opens a bag directory (or a
bare ``.mcap`` or ``.db3`` file), lists its topics and reads one numeric topic into a
:class:`~lpn_controller.bag_series.Series` (time, names, values) for analysis. Every problem is
a :class:`BagError` naming the bag and, where it applies, the topic and the time.
"""

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from lpn_controller.bag_series import (
    BagError, FLOAT64_ARRAY, JOINT_STATE, JOINT_STATE_FIELDS, Series, SERIES_TYPES, SeriesDecoder)
from lpn_controller.message_fields import seconds_to_stamp
import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer, WriterError
from rosbags.typesys import get_typestore, Stores

IMU = 'sensor_msgs/msg/Imu'
ODOMETRY = 'nav_msgs/msg/Odometry'
CLOCK = 'rosgraph_msgs/msg/Clock'
DIAGNOSTIC_ARRAY = 'diagnostic_msgs/msg/DiagnosticArray'
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
# The rosbag2 metadata version ROS 2 Jazzy writes (rosbag2_storage/bag_metadata.hpp).
METADATA_VERSION = 9

_TYPESTORE = None


def typestore():
    """Return the message types of ROS 2 Jazzy, built on first use."""
    global _TYPESTORE
    if _TYPESTORE is None:
        _TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
    return _TYPESTORE


def _nanoseconds(time_s: float) -> int:
    if not (math.isfinite(time_s) and time_s >= 0.0):
        raise ValueError(f'bag times must be finite and non-negative, got {time_s}')
    return int(round(time_s * 1e9))


def _float64(values) -> np.ndarray:
    # The CDR serialiser reinterprets the buffer: it must be contiguous.
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1)


class BagWriter:
    """
    Record messages to a new rosbag2 directory; use as a context manager.

    Each ``write_*`` call takes the header stamp ``time_s`` (seconds) and an optional
    ``receive_time_s``, the time the recorder got the message (the bag's own timestamp),
    which defaults to the stamp, as ``ros2 bag record --use-sim-time`` sees a simulation.
    Topics are registered on first use with the message's type.
    """

    def __init__(self, path, storage: str = 'mcap'):
        """Check the storage name and that ``path`` does not exist yet (no overwriting)."""
        if storage not in STORAGES:
            raise BagError(f'unknown bag storage {storage!r}; choose one of {sorted(STORAGES)}')
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f'{self.path} exists already; a bag is never overwritten')
        self.storage = storage
        self._writer = Writer(self.path, version=METADATA_VERSION,
                              storage_plugin=STORAGES[storage])
        self._connections: Dict[str, object] = {}
        self._types: Dict[str, str] = {}
        self.message_count = 0
        store = typestore()
        self._serialize = store.serialize_cdr
        self._classes = {name: store.types[name] for name in (
            'builtin_interfaces/msg/Time', 'std_msgs/msg/Header', 'geometry_msgs/msg/Quaternion',
            'geometry_msgs/msg/Vector3', 'geometry_msgs/msg/Point', 'geometry_msgs/msg/Pose',
            'geometry_msgs/msg/PoseWithCovariance', 'geometry_msgs/msg/Twist',
            'geometry_msgs/msg/TwistWithCovariance', 'std_msgs/msg/MultiArrayLayout',
            JOINT_STATE, IMU, ODOMETRY, CLOCK, FLOAT64_ARRAY, DIAGNOSTIC_ARRAY,
            'diagnostic_msgs/msg/DiagnosticStatus', 'diagnostic_msgs/msg/KeyValue')}
        self._opened = False

    def __enter__(self) -> 'BagWriter':
        """Create the bag directory and open its storage file."""
        try:
            self._writer.open()
        except (WriterError, OSError) as error:
            raise BagError(f'cannot create bag {self.path}: {error}') from None
        self._opened = True
        return self

    def __exit__(self, *exc_info):
        """Close the bag (metadata.yaml is written on close)."""
        self.close()

    def close(self):
        """Finish the storage file and write metadata.yaml."""
        if self._opened:
            self._opened = False
            self._writer.close()

    def _time(self, time_s: float):
        sec, nanosec = seconds_to_stamp(time_s)
        return self._classes['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec)

    def _header(self, time_s: float, frame_id: str = ''):
        return self._classes['std_msgs/msg/Header'](stamp=self._time(time_s), frame_id=frame_id)

    def write(self, topic: str, message, receive_time_s: float):
        """Serialise a rosbags message object and record it on ``topic``."""
        if not self._opened:
            raise BagError(f'bag {self.path} is not open for writing')
        msgtype = message.__msgtype__
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=typestore())
            self._connections[topic] = connection
            self._types[topic] = msgtype
        elif self._types[topic] != msgtype:
            raise BagError(f'topic {topic} carries {self._types[topic]} in bag {self.path}; '
                           f'cannot also record {msgtype} on it')
        self._writer.write(connection, _nanoseconds(receive_time_s),
                           self._serialize(message, msgtype))
        self.message_count += 1

    def write_joint_state(self, topic: str, time_s: float, names: Sequence[str],
                          position=(), velocity=(), effort=(),
                          receive_time_s: Optional[float] = None):
        """Record a sensor_msgs/JointState (position in rad, velocity in rad/s, effort in N m)."""
        message = self._classes[JOINT_STATE](
            header=self._header(time_s), name=list(names), position=_float64(position),
            velocity=_float64(velocity), effort=_float64(effort))
        self.write(topic, message, time_s if receive_time_s is None else receive_time_s)

    def _quaternion(self, orientation_wxyz):
        w, x, y, z = (float(value) for value in orientation_wxyz)
        return self._classes['geometry_msgs/msg/Quaternion'](x=x, y=y, z=z, w=w)

    def _vector(self, values, kind='geometry_msgs/msg/Vector3'):
        return self._classes[kind](*(float(value) for value in values))

    def write_imu(self, topic: str, time_s: float, orientation_wxyz, angular_velocity,
                  linear_acceleration, frame_id: str = 'imu'):
        """Record a sensor_msgs/Imu; the orientation is given [w, x, y, z] (library order)."""
        zeros = np.zeros(9)
        message = self._classes[IMU](
            header=self._header(time_s, frame_id),
            orientation=self._quaternion(orientation_wxyz), orientation_covariance=zeros,
            angular_velocity=self._vector(angular_velocity), angular_velocity_covariance=zeros,
            linear_acceleration=self._vector(linear_acceleration),
            linear_acceleration_covariance=zeros)
        self.write(topic, message, time_s)

    def write_odometry(self, topic: str, time_s: float, frame_id: str, child_frame_id: str,
                       position, orientation_wxyz, linear_velocity, angular_velocity):
        """Record a nav_msgs/Odometry: pose in ``frame_id``, twist in ``child_frame_id``."""
        classes, zeros = self._classes, np.zeros(36)
        pose = classes['geometry_msgs/msg/Pose'](
            position=self._vector(position, 'geometry_msgs/msg/Point'),
            orientation=self._quaternion(orientation_wxyz))
        twist = classes['geometry_msgs/msg/Twist'](
            linear=self._vector(linear_velocity), angular=self._vector(angular_velocity))
        message = classes[ODOMETRY](
            header=self._header(time_s, frame_id), child_frame_id=child_frame_id,
            pose=classes['geometry_msgs/msg/PoseWithCovariance'](pose=pose, covariance=zeros),
            twist=classes['geometry_msgs/msg/TwistWithCovariance'](twist=twist,
                                                                   covariance=zeros))
        self.write(topic, message, time_s)

    def write_clock(self, time_s: float, topic: str = '/clock'):
        """Record a rosgraph_msgs/Clock holding ``time_s``, received at that time."""
        self.write(topic, self._classes[CLOCK](clock=self._time(time_s)), time_s)

    def write_float64_array(self, topic: str, receive_time_s: float, data):
        """Record a std_msgs/Float64MultiArray (no header: only the receive time dates it)."""
        layout = self._classes['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        message = self._classes[FLOAT64_ARRAY](layout=layout, data=_float64(data))
        self.write(topic, message, receive_time_s)

    def write_diagnostics(self, time_s: float,
                          statuses: Iterable[Tuple[str, str, int, str, List[Tuple[str, str]]]],
                          topic: str = '/diagnostics'):
        """
        Record a diagnostic_msgs/DiagnosticArray.

        ``statuses`` holds (name, hardware_id, level, message, [(key, value), ...]) tuples;
        levels are 0 OK, 1 WARN, 2 ERROR.
        """
        status_class = self._classes['diagnostic_msgs/msg/DiagnosticStatus']
        key_value = self._classes['diagnostic_msgs/msg/KeyValue']
        status = [status_class(level=int(level), name=name, message=text,
                               hardware_id=hardware_id,
                               values=[key_value(key=key, value=value) for key, value in values])
                  for name, hardware_id, level, text, values in statuses]
        message = self._classes[DIAGNOSTIC_ARRAY](header=self._header(time_s), status=status)
        self.write(topic, message, time_s)


@dataclass(frozen=True)
class TopicSummary:
    """A topic in a bag: its name, message type and message count."""

    name: str
    msgtype: str
    message_count: int


def describe_topics(topics: Dict[str, TopicSummary]) -> str:
    """Return ``'/a (type, n msgs), /b (...)'`` for error messages."""
    return ', '.join(f'{topic.name} ({topic.msgtype}, {topic.message_count} msgs)'
                     for topic in topics.values()) or 'none'


class BagReader:
    """
    An open bag: directory with metadata.yaml, or a bare .mcap / .db3 storage file.

    Opening checks that the path exists, is a readable bag and holds messages. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, path):
        """Open the bag; raise BagError if it is missing, not a bag, corrupt or empty."""
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f'bag {self.path} does not exist')
        if self.path.is_dir() and not (self.path / 'metadata.yaml').exists():
            raise BagError(f'{self.path} is not a ROS 2 bag: it has no metadata.yaml (a '
                           'recording that never closed: lpn_controller.bag_recovery.open_bag '
                           'reads what it holds; or pass its .mcap/.db3 file itself)')
        if self.path.is_file() and self.path.suffix not in ('.mcap', '.db3'):
            raise BagError(f'{self.path} is not a ROS 2 bag: expected a bag directory, a .mcap '
                           'or a .db3 file')
        self._reader = Reader(self.path)
        try:
            self._reader.open()
        # rosbags raises ReaderError, its storage back ends (apsw, the MCAP parser) their own.
        except Exception as error:
            raise BagError(f'bag {self.path} cannot be read, it is truncated or corrupt: '
                           f'{error}') from None
        self.topics: Dict[str, TopicSummary] = {
            name: TopicSummary(name, info.msgtype or 'mixed types', info.msgcount)
            for name, info in sorted(self._reader.topics.items())}
        self.message_count = int(self._reader.message_count)
        if self.message_count == 0:
            self.close()
            raise BagError(f'bag {self.path} is empty: it holds no messages (topics: '
                           f'{describe_topics(self.topics)})')
        self.duration_s = self._reader.duration * 1e-9
        self.storage = 'mcap' if self._mcap() else 'sqlite3'

    def _mcap(self) -> bool:
        if self.path.is_file():
            return self.path.suffix == '.mcap'
        return any(self.path.glob('*.mcap'))

    def __enter__(self) -> 'BagReader':
        """Return the open reader."""
        return self

    def __exit__(self, *exc_info):
        """Close the bag."""
        self.close()

    def close(self):
        """Close the storage files."""
        if self._reader.is_open:
            self._reader.close()

    def topic(self, name: str) -> TopicSummary:
        """Return a topic's summary; BagError listing the topics present if it is missing."""
        if name not in self.topics:
            raise BagError(f"bag {self.path} has no topic '{name}'; its topics are: "
                           f'{describe_topics(self.topics)}')
        return self.topics[name]

    def _raw_messages(self, topic: str):
        """Yield (msgtype, receive time in ns, CDR bytes) of a topic, in time order."""
        connections = [c for c in self._reader.connections if c.topic == topic]
        for connection, receive_ns, raw in self._reader.messages(connections):
            yield connection.msgtype, receive_ns, raw

    def read_series(self, topic: str, field: str = 'position',
                    joint_names: Optional[Sequence[str]] = None) -> Series:
        """
        Read a JointState or Float64MultiArray topic into a :class:`Series`.

        JointState: the ``field`` array (position by default) under the message's joint names
        (``joint_names`` picks and orders a subset); messages may list joints in any order.
        Float64MultiArray: ``data``, named by ``joint_names`` when given (its length must
        match), else ``index_0``, ``index_1``, ...
        """
        summary = self.topic(topic)
        if summary.msgtype not in SERIES_TYPES:
            raise BagError(f'topic {topic} in bag {self.path} has message type '
                           f'{summary.msgtype}, which cannot be read as a time series; '
                           f'supported: {", ".join(SERIES_TYPES)}')
        if summary.message_count == 0:
            raise BagError(f'topic {topic} in bag {self.path} has no messages')
        if field not in JOINT_STATE_FIELDS:
            raise BagError(f'unknown JointState field {field!r}; one of {JOINT_STATE_FIELDS}')
        decoder = SeriesDecoder(f'topic {topic} in bag {self.path}', topic, summary.msgtype,
                                field, joint_names)
        deserialize = typestore().deserialize_cdr
        try:
            for msgtype, receive_ns, raw in self._raw_messages(topic):
                try:
                    message = deserialize(raw, msgtype)
                except Exception as error:  # rosbags raises many kinds on corrupt bytes
                    raise BagError(f'topic {topic} in bag {self.path}: cannot decode the '
                                   f'message received at {receive_ns * 1e-9:.9f} s, the data '
                                   f'is corrupt ({type(error).__name__}: {error})') from None
                decoder.add(message, receive_ns)
        except BagError:
            raise
        except Exception as error:  # as on opening: whatever the storage back end raises
            raise BagError(f'bag {self.path} cannot be read, it is truncated or corrupt: '
                           f'{error}') from None
        return decoder.series()
