"""
Read the records of an MCAP file from its start, stopping cleanly at the first damaged one.

An MCAP file is a magic, then records (opcode u8, length u64, content), then a footer and the
magic again (mcap.dev/spec). A recorder that dies leaves no footer and often a last record cut
short; the summary-based readers refuse such a file. This module walks the data section in
order instead: schemas, channels and messages, loose or inside chunks. A whole chunk is taken
when it decompresses (none, lz4, zstd) to its declared size, its CRC-32 holds where the writer
stored one (0 means none), and its records parse; of a chunk cut short by the end of the file,
only an uncompressed one gives its complete records (counted apart). Everything
before the first record that fails is returned, with where and why the file breaks.
"""

from dataclasses import dataclass, field
import struct
from typing import Dict, List, Optional, Tuple
import zlib

MAGIC = b'\x89MCAP0\r\n'
OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x03, 0x04, 0x05, 0x06
OP_FOOTER, OP_DATA_END = 0x02, 0x0F
_RECORD_HEADER = struct.Struct('<BQ')


class McapRecordError(ValueError):
    """A record that cannot be read: its content is cut short or inconsistent."""


@dataclass
class McapContents:
    """What the file holds up to the damage, and where the damage is (None if intact)."""

    schemas: Dict[int, str] = field(default_factory=dict)        # id -> message type name
    channels: Dict[int, Tuple[str, int]] = field(default_factory=dict)  # id -> (topic, schema)
    messages: List[Tuple[int, int, bytes]] = field(default_factory=list)  # (channel, ns, data)
    chunks_read: int = 0
    crc_checked: int = 0
    partial_chunk_messages: int = 0
    breaks_at_byte: Optional[int] = None
    damage: Optional[str] = None
    file_size: int = 0


def _string(view: memoryview, offset: int) -> Tuple[str, int]:
    (length,) = struct.unpack_from('<I', view, offset)
    end = offset + 4 + length
    if end > len(view):
        raise McapRecordError('a string runs past its record')
    return bytes(view[offset + 4:end]).decode('utf-8'), end


def _decompress(data: bytes, compression: str, size: int) -> bytes:
    if compression == '':
        return data
    if compression == 'lz4':
        import lz4.frame
        return lz4.frame.decompress(data)
    if compression == 'zstd':
        try:
            from compression import zstd  # Python 3.14
        except ImportError:
            from backports import zstd
        return zstd.decompress(data)
    raise McapRecordError(f'unsupported chunk compression {compression!r}')


def _parse_records(view: memoryview, contents: McapContents, base: int, inside_chunk: bool):
    """Parse a run of records; return (offset reached, None) or (offset, reason) at damage."""
    offset = 0
    while offset < len(view):
        if offset + _RECORD_HEADER.size > len(view):
            return offset, 'a record header is cut short'
        opcode, length = _RECORD_HEADER.unpack_from(view, offset)
        start, end = offset + _RECORD_HEADER.size, offset + _RECORD_HEADER.size + length
        if end > len(view):
            if opcode == OP_CHUNK and not inside_chunk:
                _read_cut_chunk(view[start:], contents, base + start)
            what = 'chunk' if opcode == OP_CHUNK else f'record (opcode 0x{opcode:02x})'
            return offset, (f'the {what} at byte {base + offset} needs {length} bytes, '
                            f'{len(view) - start} are present')
        body = view[start:end]
        try:
            if opcode in (OP_FOOTER, OP_DATA_END) and not inside_chunk:
                return end, None  # end of the data section: the rest is the summary
            if opcode == OP_SCHEMA:
                (schema_id,) = struct.unpack_from('<H', body, 0)
                contents.schemas[schema_id], _ = _string(body, 2)
            elif opcode == OP_CHANNEL:
                channel_id, schema_id = struct.unpack_from('<HH', body, 0)
                topic, _ = _string(body, 4)
                contents.channels[channel_id] = (topic, schema_id)
            elif opcode == OP_MESSAGE:
                channel_id, _, log_time = struct.unpack_from('<HIQ', body, 0)
                contents.messages.append((channel_id, log_time, bytes(body[22:])))
            elif opcode == OP_CHUNK and not inside_chunk:
                reason = _read_chunk(body, contents, base + start)
                if reason:
                    return offset, f'the chunk at byte {base + offset} {reason}'
        except (struct.error, UnicodeDecodeError, McapRecordError) as error:
            return offset, f'the record at byte {base + offset} is malformed ({error})'
        offset = end
    return offset, None


def _read_chunk(body: memoryview, contents: McapContents, base: int) -> Optional[str]:
    """Add a whole chunk's records; return why it was refused, or None."""
    _, _, size, crc = struct.unpack_from('<QQQI', body, 0)
    compression, offset = _string(body, 28)
    (records_length,) = struct.unpack_from('<Q', body, offset)
    data = bytes(body[offset + 8:offset + 8 + records_length])
    if len(data) != records_length:
        return 'is cut short'
    try:
        raw = _decompress(data, compression, size)
    except Exception as error:  # each codec raises its own kind on corrupt input
        return f'does not decompress ({compression}: {error})'
    if len(raw) != size:
        return f'decompresses to {len(raw)} bytes, not the {size} it declares'
    if crc and zlib.crc32(raw) != crc:
        return 'fails its CRC-32'
    # Parse into a scratch copy: a chunk counts whole or not at all.
    scratch = McapContents(dict(contents.schemas), dict(contents.channels))
    _, reason = _parse_records(memoryview(raw), scratch, base, inside_chunk=True)
    if reason:
        return f'holds a damaged record ({reason})'
    contents.schemas, contents.channels = scratch.schemas, scratch.channels
    contents.messages.extend(scratch.messages)
    contents.chunks_read += 1
    contents.crc_checked += bool(crc)
    return None


def _read_cut_chunk(body: memoryview, contents: McapContents, base: int):
    """
    Add the whole records at the start of an uncompressed chunk that is cut short.

    A compressed chunk cannot be read in part. An uncompressed one holds its records as
    written; those complete before the cut are kept, counted apart: the chunk's CRC (over the
    whole chunk) cannot vouch for them.
    """
    try:
        compression, offset = _string(body, 28)
    except (struct.error, McapRecordError):
        return
    if compression != '' or offset + 8 > len(body):
        return
    before = len(contents.messages)
    _parse_records(body[offset + 8:], contents, base + offset + 8, inside_chunk=True)
    contents.partial_chunk_messages = len(contents.messages) - before


def read_mcap(path) -> McapContents:
    """Read an MCAP file's records up to its first damage; raise McapRecordError if not MCAP."""
    with open(path, 'rb') as stream:  # read-only: a damaged file is never written
        data = stream.read()
    if not data.startswith(MAGIC):
        raise McapRecordError(f'{path} is not an MCAP file: it does not start with the MCAP '
                              'magic')
    contents = McapContents(file_size=len(data))
    view = memoryview(data)[len(MAGIC):]
    reached, reason = _parse_records(view, contents, len(MAGIC), inside_chunk=False)
    if reason is None and not data.endswith(MAGIC):
        reason = 'the file ends without its footer (the recorder did not close it)'
    if reason is not None:
        contents.damage = reason
        contents.breaks_at_byte = len(MAGIC) + reached
    return contents
