"""
Open a bag for analysis even when its recorder died: read what is intact, say what was lost.

:func:`open_bag` returns a :class:`~lpn_controller.bags.BagReader` for an intact bag. A bag
that reader refuses as truncated or corrupt, or a bag directory without metadata.yaml (what a
power loss leaves), is read by :class:`RecoveredBag` from its storage file instead: an MCAP
through :mod:`lpn_controller.mcap_records` (whole chunks whose CRCs hold), a sqlite3 ``.db3``
through :mod:`lpn_controller.sqlite_pages` (every message row on a whole page, by id). Its
:attr:`~RecoveredBag.recovery` says how many messages and seconds were recovered and where the
file breaks. The damaged file is never written: no reindexing, no journal, no WAL replay.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

from lpn_controller.bag_series import BagError
from lpn_controller.bags import BagReader, TopicSummary
from lpn_controller.mcap_records import McapRecordError, read_mcap
from lpn_controller.sqlite_pages import bag_rows

# (topic, msgtype, receive time ns, CDR bytes)
RawMessage = Tuple[str, str, int, bytes]


def storage_file(path: Path) -> Path:
    """Return the one .mcap/.db3 file of a bag directory (or the file itself)."""
    if path.is_file():
        return path
    files = sorted(path.glob('*.mcap')) + sorted(path.glob('*.db3'))
    if not files:
        raise BagError(f'{path} is not a ROS 2 bag: it has no metadata.yaml and no .mcap or '
                       '.db3 file')
    if len(files) > 1:
        raise BagError(f'bag {path} has no metadata.yaml and {len(files)} storage files '
                       f'({", ".join(file.name for file in files)}); pass one of them')
    return files[0]


def _read_mcap(file: Path) -> Tuple[List[RawMessage], Optional[int], Optional[str], dict]:
    try:
        contents = read_mcap(file)
    except McapRecordError as error:
        raise BagError(str(error)) from None
    messages = []
    for channel_id, receive_ns, data in contents.messages:
        if channel_id not in contents.channels:
            continue  # a message before its channel record: no topic to file it under
        topic, schema_id = contents.channels[channel_id]
        messages.append((topic, contents.schemas.get(schema_id, ''), receive_ns, data))
    detail = {'chunks_read': contents.chunks_read, 'chunks_crc_checked': contents.crc_checked,
              'messages_from_cut_chunk': contents.partial_chunk_messages,
              'file_bytes': contents.file_size}
    return messages, contents.breaks_at_byte, contents.damage, detail


def _read_sqlite(file: Path) -> Tuple[List[RawMessage], Optional[int], Optional[str], dict]:
    with open(file, 'rb') as stream:  # read-only: a damaged file is never written
        data = stream.read()
    try:
        topics, rows, pages = bag_rows(data)
    except ValueError as error:
        raise BagError(f'bag file {file} cannot be read as sqlite3: {error}') from None
    messages = [(*topics[topic_id], receive_ns, raw)
                for _, (topic_id, receive_ns, raw) in sorted(rows.items()) if topic_id in topics]
    torn = len(data) % pages.page_size
    missing_ids = (max(rows) - len(rows)) if rows else 0
    damage = []
    if torn:
        damage.append(f'the last page is torn ({torn} of {pages.page_size} bytes)')
    declared = int.from_bytes(data[28:32], 'big')
    if declared > pages.whole_pages:
        damage.append(f'{declared - pages.whole_pages} of the {declared} pages its header '
                      'declares are missing')
    if missing_ids:
        damage.append(f'{missing_ids} message ids below the last one found are missing')
    detail = {'file_bytes': len(data), 'page_size': pages.page_size, 'torn_page_bytes': torn,
              'rows_lost_to_overflow': pages.rows_lost_to_overflow,
              'messages_without_topic': len(rows) - len(messages)}
    if file.with_name(file.name + '-wal').exists():
        detail['note'] = 'a -wal file lies beside it and is not replayed (read-only recovery)'
    breaks = pages.whole_pages * pages.page_size if damage else None
    return messages, breaks, '; '.join(damage) or None, detail


class RecoveredBag(BagReader):
    """
    The intact part of a damaged bag or of a bag without metadata.yaml, read into memory.

    Offers what :class:`BagReader` offers for analysis (topics, message_count, duration_s,
    storage, read_series) plus :attr:`recovery`.
    """

    def __init__(self, path, reason: str):  # noqa: D107 (documented on the class)
        self.path = Path(path)
        file = storage_file(self.path)
        self.storage = 'mcap' if file.suffix == '.mcap' else 'sqlite3'
        if file.suffix not in ('.mcap', '.db3'):
            raise BagError(f'{file} is not a ROS 2 bag file: expected .mcap or .db3')
        reader = _read_mcap if self.storage == 'mcap' else _read_sqlite
        messages, breaks_at, damage, detail = reader(file)
        messages.sort(key=lambda message: message[2])  # time order, as BagReader yields
        self._messages = messages
        counts: Dict[str, List] = {}
        for topic, msgtype, _, _ in messages:
            counts.setdefault(topic, [msgtype, 0])[1] += 1
        self.topics = {name: TopicSummary(name, msgtype or 'unknown type', count)
                       for name, (msgtype, count) in sorted(counts.items())}
        self.message_count = len(messages)
        times = [message[2] for message in messages]
        self.duration_s = (times[-1] - times[0]) * 1e-9 if times else 0.0
        self.recovery = {
            'why': reason, 'file': str(file), 'storage': self.storage,
            'messages_recovered': self.message_count,
            'seconds_recovered': round(self.duration_s, 9),
            'first_s': times[0] * 1e-9 if times else None,
            'last_s': times[-1] * 1e-9 if times else None,
            'breaks_at_byte': breaks_at, 'damage': damage, **detail}
        if not messages:
            raise BagError(f'bag {self.path}: no message could be recovered ({reason}; '
                           f'{damage or "no damage found"})')

    def _raw_messages(self, topic: str):
        for name, msgtype, receive_ns, raw in self._messages:
            if name == topic:
                yield msgtype, receive_ns, raw

    def close(self):
        """Drop the messages held in memory."""
        self._messages = []

    def summary(self) -> str:
        """One line for a user: what was recovered and where the file breaks."""
        return f'bag {self.path} {recovery_summary(self.recovery)}'


def recovery_summary(recovery: dict) -> str:
    """Say, in one line, what a :attr:`RecoveredBag.recovery` report recovered and what broke."""
    where = 'no damage found in the file'
    if recovery['breaks_at_byte'] is not None:
        where = (f'the file breaks at byte {recovery["breaks_at_byte"]} of '
                 f'{recovery["file_bytes"]}: {recovery["damage"]}')
    return (f'recovered ({recovery["why"]}): {recovery["messages_recovered"]} messages, '
            f'{recovery["seconds_recovered"]:.3f} s, up to receive time '
            f'{recovery["last_s"]:.3f} s; {where}')


def open_bag(path):
    """Return a BagReader for an intact bag, else a RecoveredBag of what is intact."""
    path = Path(path)
    if path.is_dir() and not (path / 'metadata.yaml').exists():
        return RecoveredBag(path, 'no metadata.yaml: the recording was never closed')
    try:
        return BagReader(path)
    except BagError as error:
        if 'truncated or corrupt' not in str(error):
            raise
        return RecoveredBag(path, f'the bag reader refused it: {error}')
