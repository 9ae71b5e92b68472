"""Checksums of a build's files: sha256 of each whole file, and XXH3-64 of each 256 KiB block.

The blocks let a reader check every byte of a file at load, or only the blocks a question reads: the
MedQuAD library's token vectors are 2.1 GB, of which one question reads a few MB. A flipped byte is
refused either way, naming the file and the bytes, before anything read from it is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from followup.core.errors import IndexProblem

BLOCK_BYTES = 1 << 18  # 256 KiB: a question's few dozen chunks read a few MB of blocks
HEX = 16  # hex digits of one block's XXH3-64


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _blocks(path: Path, size: int = BLOCK_BYTES) -> list[tuple[int, str]]:
    """Each block's start and XXH3-64, read with one reused buffer (faster than mapping: no page faults)."""
    found = []
    buffer = bytearray(size)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        start = 0
        while read := f.readinto(buffer):
            found.append((start, xxhash.xxh3_64_hexdigest(view[:read])))
            start += read
    return found


def block_record(path: Path) -> dict[str, Any]:
    """The manifest's record of a file's blocks: their size and their XXH3-64 digests end to end."""
    return {"bytes": BLOCK_BYTES, "xxh3_64": "".join(digest for _, digest in _blocks(path))}


class BlockCheck:
    """A file checked against its recorded block digests: every block at once (`all`), or each block the
    first time a read touches it (`span`). Two threads may check one block twice; neither trusts it
    before it is checked."""

    def __init__(self, path: Path, record: Mapping[str, Any]) -> None:
        self.path = path
        self._size: int = record["bytes"]
        self._digests: str = record["xxh3_64"]
        self._checked = np.zeros(len(self._digests) // HEX, dtype=bool)
        self._bytes: np.ndarray | None = None  # the file mapped, on the first span

    def all(self) -> None:
        size = self.path.stat().st_size
        if len(self._checked) != -(-size // self._size):  # a record that does not describe this file
            self._refuse(0, size)
        for start, digest in _blocks(self.path, self._size):
            if digest != self._expected(start // self._size):
                self._refuse(start, start + self._size)
        self._checked[:] = True

    def span(self, start: int, stop: int) -> None:
        """Check the blocks holding bytes [start, stop) that are not checked yet."""
        if stop <= start:
            return
        first, last = start // self._size, (stop - 1) // self._size
        if self._checked[first : last + 1].all():
            return
        if self._bytes is None:
            self._bytes = np.memmap(self.path, dtype=np.uint8, mode="r")
        for block in range(first, last + 1):
            if self._checked[block]:
                continue
            begin = block * self._size
            if xxhash.xxh3_64_hexdigest(self._bytes[begin : begin + self._size].data) != self._expected(block):
                self._refuse(begin, begin + self._size)
            self._checked[block] = True

    def _expected(self, block: int) -> str:
        return self._digests[block * HEX : (block + 1) * HEX]

    def _refuse(self, start: int, stop: int) -> None:
        raise IndexProblem(
            f"{self.path}: corrupt (bytes {start:,} to {stop:,} differ from the manifest's checksum): run "
            "`followup index --force`"
        )
