"""
One topic's messages as a numeric time series: names, lengths and stamps checked.

The decoding half of bag reading (:mod:`lpn_controller.bags` feeds it the deserialised
messages): JointState arrays by joint name, Float64MultiArray data by index, header stamps
where the messages have them, sorted, with NaN/inf messages dropped and counted.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

JOINT_STATE = 'sensor_msgs/msg/JointState'
FLOAT64_ARRAY = 'std_msgs/msg/Float64MultiArray'
# The types that read as series: JointState (by name) and Float64MultiArray (by index).
SERIES_TYPES = (JOINT_STATE, FLOAT64_ARRAY)
JOINT_STATE_FIELDS = ('position', 'velocity', 'effort')


class BagError(ValueError):
    """A bag that cannot be written or read as asked; the message names bag, topic and time."""


@dataclass(frozen=True, eq=False)
class Series:
    """
    One topic's numbers over time, sorted by time.

    ``stamps`` (N,) in seconds; ``values`` (N, m), column j belongs to ``names[j]``.
    ``stamp_source`` says whether times come from the message headers or, for messages without
    one (or with unset stamps), the bag's receive time. Messages holding NaN or inf were dropped
    (``dropped_non_finite`` of them, the first at ``first_dropped_s``); ``reordered`` counts
    messages whose stamp went backwards and ``duplicates`` those dropped for repeating a stamp.
    """

    topic: str
    msgtype: str
    stamps: np.ndarray
    names: Tuple[str, ...]
    values: np.ndarray
    stamp_source: str
    messages: int
    dropped_non_finite: int = 0
    first_dropped_s: Optional[float] = None
    reordered: int = 0
    duplicates: int = 0


class SeriesDecoder:
    """
    Collect one topic's messages (rosbags message objects) into a :class:`Series`.

    ``where`` names the topic and bag in errors; ``field`` is the JointState array to read;
    ``joint_names`` picks JointState joints or names Float64MultiArray entries (None: all,
    ``index_<i>``).
    """

    def __init__(self, where: str, topic: str, msgtype: str, field: str = 'position',
                 joint_names: Optional[Sequence[str]] = None):
        """Start empty."""
        self.where = where
        self.topic, self.msgtype, self.field = topic, msgtype, field
        self.output_names = None if joint_names is None else tuple(joint_names)
        self.pick_names = joint_names is not None
        self.names: Optional[Tuple[str, ...]] = None  # the last message's names
        self.columns: Optional[np.ndarray] = None
        self.header_ns: List[int] = []
        self.receive_ns: List[int] = []
        self.rows: List[np.ndarray] = []

    def _joint_state_columns(self, names: Tuple[str, ...], time_s: float) -> np.ndarray:
        if self.output_names is None:
            self.output_names = names
        elif not self.pick_names and sorted(names) != sorted(self.output_names):
            raise BagError(f'{self.where}: the joint names change at {time_s:.9f} s, from '
                           f'{", ".join(self.output_names)} to {", ".join(names)}')
        position = {name: index for index, name in enumerate(names)}
        missing = [name for name in self.output_names if name not in position]
        if missing:
            raise BagError(f'{self.where}: the message at {time_s:.9f} s lacks joint(s) '
                           f'{", ".join(missing)}; it names {", ".join(names) or "none"}')
        return np.array([position[name] for name in self.output_names], dtype=np.intp)

    def add(self, message, receive_ns: int):
        """Collect one message's numbers; NaN and inf are sorted out at the end, in bulk."""
        if self.msgtype == JOINT_STATE:
            stamp = message.header.stamp
            stamp_ns = stamp.sec * 1_000_000_000 + stamp.nanosec
            names = tuple(message.name)
            values = getattr(message, self.field)
            if len(values) != len(names):
                raise BagError(f'{self.where}: the message stamped {stamp_ns * 1e-9:.9f} s '
                               f'names {len(names)} joints but holds {len(values)} '
                               f'{self.field} values')
            if names != self.names:
                self.columns = self._joint_state_columns(names, stamp_ns * 1e-9)
                if np.array_equal(self.columns, np.arange(len(names))):
                    self.columns = None  # the common case: take the array as it is
                self.names = names
            self.header_ns.append(stamp_ns)
        else:
            values = message.data
            if self.names is None:
                if self.output_names is not None and len(self.output_names) != len(values):
                    raise BagError(f'{self.where}: {len(self.output_names)} joint names given '
                                   f'but the messages hold {len(values)} values')
                self.output_names = self.output_names or tuple(
                    f'index_{i}' for i in range(len(values)))
                self.names = self.output_names
            elif len(values) != len(self.names):
                raise BagError(f'{self.where}: the message received at '
                               f'{receive_ns * 1e-9:.9f} s holds {len(values)} values, earlier '
                               f'ones {len(self.names)}')
        self.rows.append(values if self.columns is None else values[self.columns])
        self.receive_ns.append(receive_ns)

    def series(self) -> Series:
        """Return the finite samples sorted by time, repeated stamps removed."""
        header = np.array(self.header_ns, dtype=np.int64)
        # Stamps all equal (typically zero) mean the publisher never set them.
        use_header = self.msgtype == JOINT_STATE and bool(np.any(header != header[0]))
        nanoseconds = header if use_header else np.array(self.receive_ns, dtype=np.int64)
        values = np.asarray(np.vstack(self.rows), dtype=np.float64)
        finite = np.isfinite(values).all(axis=1)
        dropped = int(np.count_nonzero(~finite))
        if dropped == len(finite):
            raise BagError(f'{self.where}: every one of its {dropped} messages holds NaN or inf')
        first_dropped_s = float(nanoseconds[np.argmin(finite)] * 1e-9) if dropped else None
        nanoseconds, values = nanoseconds[finite], values[finite]
        reordered = int(np.count_nonzero(np.diff(nanoseconds) < 0))
        order = np.argsort(nanoseconds, kind='stable')
        nanoseconds, values = nanoseconds[order], values[order]
        # A repeated stamp keeps its last message, the newest word on that instant.
        keep = np.append(nanoseconds[1:] != nanoseconds[:-1], True)
        why = 'header stamps unset' if self.msgtype == JOINT_STATE else 'the message has no header'
        source = 'header' if use_header else f'receive ({why})'
        return Series(self.topic, self.msgtype, nanoseconds[keep] * 1e-9,
                      tuple(self.output_names), values[keep], source, len(finite), dropped,
                      first_dropped_s, reordered, int(np.count_nonzero(~keep)))
