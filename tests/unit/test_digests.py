"""Block digests: a file checked whole or block by block as it is read, a changed byte refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.core.errors import IndexProblem
from followup.index.digests import BLOCK_BYTES, BlockCheck, block_record


def _file(tmp_path: Path, blocks: float) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * int(blocks * BLOCK_BYTES / 256))
    return path


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_file_checks_whole_and_by_spans_until_a_byte_changes(tmp_path: Path) -> None:
    path = _file(tmp_path, 2.5)
    record = block_record(path)
    assert record["bytes"] == BLOCK_BYTES and len(record["xxh3_64"]) == 3 * 16
    BlockCheck(path, record).all()
    BlockCheck(path, record).span(0, path.stat().st_size)
    _flip(path, 2 * BLOCK_BYTES + 5)  # in the last, partial block
    with pytest.raises(IndexProblem, match=r"data\.bin: corrupt \(bytes 524,288 to 786,432 differ"):
        BlockCheck(path, record).all()


def test_a_span_checks_the_blocks_it_touches_and_no_others(tmp_path: Path) -> None:
    path = _file(tmp_path, 3)
    record = block_record(path)
    _flip(path, BLOCK_BYTES + 10)  # the second block
    check = BlockCheck(path, record)
    check.span(0, BLOCK_BYTES)  # the first block only: the change is not read, not refused
    check.span(2 * BLOCK_BYTES, 3 * BLOCK_BYTES)
    with pytest.raises(IndexProblem, match=r"bytes 262,144 to 524,288"):
        check.span(BLOCK_BYTES - 1, BLOCK_BYTES + 1)  # two bytes, one in the changed block
    with pytest.raises(IndexProblem, match="corrupt"):  # refused again: a refused block is never trusted
        check.span(BLOCK_BYTES + 20, BLOCK_BYTES + 30)


def test_a_record_for_another_file_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, 2)
    record = block_record(path)
    path.write_bytes(path.read_bytes() + b"x" * BLOCK_BYTES)  # a block more than the record knows
    with pytest.raises(IndexProblem, match="corrupt"):
        BlockCheck(path, record).all()
