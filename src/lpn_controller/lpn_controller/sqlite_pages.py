"""
Read rosbag2's message rows straight from the pages of a damaged sqlite3 file.

When a recorder dies, the file can end inside a page, and the B-tree pages sqlite walks to
reach the rows (interior pages, allocated late) may be the ones lost, so sqlite refuses the
table although most rows lie intact on their leaf pages. This module reads every whole page
(sqlite.org/fileformat2.html): each table-leaf page's cells are decoded, and the rows shaped
like rosbag2's ``messages`` table (id, topic_id, timestamp, data) are returned by id. A row
whose payload runs onto a missing overflow page is left out and counted.
"""

from typing import Dict, Iterator, Tuple

LEAF_TABLE_PAGE = 0x0D


def _varint(page: bytes, offset: int) -> Tuple[int, int]:
    value = 0
    for index in range(9):
        byte = page[offset + index]
        if index == 8:
            return (value << 8) | byte, offset + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + index + 1
    raise ValueError('bad varint')  # unreachable: the loop returns by the 9th byte


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes):
    """Decode a record into a list of Python values (None, int, float, bytes/str as bytes)."""
    header_size, offset = _varint(payload, 0)
    types = []
    while offset < header_size:
        serial, offset = _varint(payload, offset)
        types.append(serial)
    values, position = [], header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in _INT_SIZES:
            size = _INT_SIZES[serial]
            values.append(int.from_bytes(payload[position:position + size], 'big', signed=True))
            position += size
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            size = (serial - 12) // 2
            values.append(bytes(payload[position:position + size]))
            position += size
        else:  # 7: a float, which rosbag2's message rows never hold
            values.append(float('nan'))
            position += 8
    if position > len(payload):
        raise ValueError('record runs past its payload')
    return values


class SqlitePages:
    """The whole pages of a (possibly cut) sqlite3 file, read-only."""

    def __init__(self, data: bytes):
        """Take the file's bytes; its header gives page size and reserved bytes."""
        if not data.startswith(b'SQLite format 3\x00') or len(data) < 100:
            raise ValueError('not a sqlite3 file')
        size = int.from_bytes(data[16:18], 'big')
        self.page_size = 65536 if size == 1 else size
        self.usable = self.page_size - data[20]
        self.data = data
        self.whole_pages = len(data) // self.page_size
        self.rows_lost_to_overflow = 0

    def page(self, number: int) -> bytes:
        """Return page ``number`` (1-based)."""
        start = (number - 1) * self.page_size
        return self.data[start:start + self.page_size]

    def _payload(self, page: bytes, offset: int, length: int) -> bytes:
        usable = self.usable
        local_max = usable - 35
        if length <= local_max:
            return page[offset:offset + length]
        minimum = (usable - 12) * 32 // 255 - 23
        local = minimum + (length - minimum) % (usable - 4)
        local = local if local <= local_max else minimum
        parts = [page[offset:offset + local]]
        remaining = length - local
        overflow = int.from_bytes(page[offset + local:offset + local + 4], 'big')
        while remaining > 0:
            if not 1 <= overflow <= self.whole_pages:
                raise ValueError('overflow page lost')
            content = self.page(overflow)
            parts.append(content[4:4 + min(remaining, usable - 4)])
            remaining -= usable - 4
            overflow = int.from_bytes(content[:4], 'big')
        return b''.join(parts)

    def leaf_rows(self) -> Iterator[Tuple[int, list]]:
        """Yield (rowid, values) of every cell on every whole table-leaf page."""
        for number in range(1, self.whole_pages + 1):
            page = self.page(number)
            header = 100 if number == 1 else 0
            if page[header] != LEAF_TABLE_PAGE:
                continue
            cells = int.from_bytes(page[header + 3:header + 5], 'big')
            for index in range(cells):
                pointer = header + 8 + 2 * index
                offset = int.from_bytes(page[pointer:pointer + 2], 'big')
                try:
                    length, offset = _varint(page, offset)
                    rowid, offset = _varint(page, offset)
                    values = _record(self._payload(page, offset, length))
                except (ValueError, IndexError):
                    self.rows_lost_to_overflow += 1
                    continue
                yield rowid, values


def bag_rows(data: bytes):
    """
    Return (topics, messages, pages) found on the whole pages of a rosbag2 sqlite3 file.

    topics: {id: (name, type)}, rows of the topics table (id, name, type, serialization format,
    ...); messages: {id: (topic_id, timestamp ns, data)}, rows of the messages table.
    """
    pages = SqlitePages(data)
    topics: Dict[int, Tuple[str, str]] = {}
    messages: Dict[int, Tuple[int, int, bytes]] = {}
    for rowid, values in pages.leaf_rows():
        if values and values[0] is None:
            if len(values) == 4 and isinstance(values[1], int) \
                    and isinstance(values[2], int) and isinstance(values[3], bytes):
                messages[rowid] = (values[1], values[2], values[3])
            elif len(values) >= 4 and all(isinstance(value, bytes) for value in values[1:4]) \
                    and values[1].startswith(b'/') and b'/msg/' in values[2]:
                topics[rowid] = (values[1].decode(), values[2].decode())
    return topics, messages, pages
