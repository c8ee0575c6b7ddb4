"""Cut-off recordings: every message written before the cut is recovered, the file untouched."""

import shutil
import sqlite3

from lpn_controller.bag_recovery import open_bag, RecoveredBag
from lpn_controller.bags import BagReader, BagWriter
from lpn_controller.mcap_records import read_mcap
import numpy as np
import pytest

NAMES = [f'joint_{index}' for index in range(18)]
STEPS = 4000  # about 1.5 MB: two chunks of rosbags' 1 MiB and a bit


def write(path, storage):
    with BagWriter(path, storage=storage) as bag:
        for step in range(STEPS):
            bag.write_joint_state('/action', step * 0.02, NAMES,
                                  np.sin(0.1 * step + np.arange(18)))
    return path


def intact_positions(path):
    with BagReader(path) as reader:
        return reader.read_series('/action').values


def cut(bag, tmp_path, size):
    copy = tmp_path / 'cut'
    shutil.copytree(bag, copy)
    storage = next(p for p in copy.iterdir() if p.suffix in ('.mcap', '.db3'))
    with open(storage, 'r+b') as stream:
        stream.truncate(size)
    return copy, storage


def chunk_ends(bag):
    """End byte of each chunk record of the intact file (opcode and length walk)."""
    data = (bag / 'bag.mcap').read_bytes()
    ends, offset = [], 8
    while offset < len(data) - 8:
        opcode, length = data[offset], int.from_bytes(data[offset + 1:offset + 9], 'little')
        offset += 9 + length
        if opcode == 0x06:
            ends.append(offset)
    return ends


@pytest.fixture(scope='module')
def mcap_bag(tmp_path_factory):
    return write(tmp_path_factory.mktemp('mcap') / 'bag', 'mcap')


def test_the_record_reader_reads_an_intact_file_as_rosbags_does(mcap_bag):
    contents = read_mcap(mcap_bag / 'bag.mcap')
    assert contents.damage is None and len(contents.messages) == STEPS


def test_cut_between_chunks_recovers_the_first_chunk_exactly(mcap_bag, tmp_path):
    first_end = chunk_ends(mcap_bag)[0]
    whole = read_mcap(mcap_bag / 'bag.mcap')
    bag, storage = cut(mcap_bag, tmp_path, first_end)
    damaged = storage.read_bytes()
    reader = open_bag(bag)
    assert isinstance(reader, RecoveredBag)
    series = reader.read_series('/action')
    expected = intact_positions(mcap_bag)
    count = reader.recovery['messages_recovered']
    assert 0 < count < STEPS and reader.recovery['chunks_read'] == 1
    assert reader.recovery['messages_from_cut_chunk'] == 0
    np.testing.assert_array_equal(series.values, expected[:count])
    assert count == sum(1 for _, ns, _ in whole.messages if ns <= series.stamps[-1] * 1e9 + 1)
    assert storage.read_bytes() == damaged


def test_cut_inside_a_chunk_recovers_every_complete_message(mcap_bag, tmp_path):
    first_end = chunk_ends(mcap_bag)[0]
    bag, _ = cut(mcap_bag, tmp_path, first_end + 200_000)
    reader = open_bag(bag)
    count = reader.recovery['messages_recovered']
    assert reader.recovery['messages_from_cut_chunk'] > 0
    assert reader.recovery['breaks_at_byte'] >= first_end
    np.testing.assert_array_equal(reader.read_series('/action').values,
                                  intact_positions(mcap_bag)[:count])


def test_a_bag_without_metadata_is_read(mcap_bag, tmp_path):
    copy = tmp_path / 'no_metadata'
    shutil.copytree(mcap_bag, copy)
    (copy / 'metadata.yaml').unlink()
    reader = open_bag(copy)
    assert reader.recovery['messages_recovered'] == STEPS
    assert 'no metadata.yaml' in reader.recovery['why']


def test_sqlite_with_a_torn_last_page_recovers_the_rows_on_whole_pages(tmp_path):
    bag = write(tmp_path / 'bag', 'sqlite3')
    db3 = bag / 'bag.db3'
    connection = sqlite3.connect(f'{db3.resolve().as_uri()}?mode=ro&immutable=1', uri=True)
    page_size = connection.execute('PRAGMA page_size').fetchone()[0]
    leaves = connection.execute("SELECT pageno, ncell FROM dbstat WHERE name = 'messages' "
                                "AND pagetype = 'leaf'").fetchall()
    connection.close()
    keep_pages = db3.stat().st_size // page_size // 2
    expected = sum(cells for page, cells in leaves if page <= keep_pages)
    cut_bag, storage = cut(bag, tmp_path, keep_pages * page_size + page_size // 3)
    reader = open_bag(cut_bag)
    assert 'torn' in reader.recovery['damage']
    assert reader.recovery['messages_recovered'] == expected
    np.testing.assert_array_equal(reader.read_series('/action').values,
                                  intact_positions(bag)[:expected])
