"""How the corpus and the index lie on disk and in memory. The files that make up a corpus folder,
and their fingerprint: what the index records of the corpus it was built from, so that the answer path
can refuse a stale index without reading the corpus. The one way a file is replaced whole
(`atomic_path`): caches and exported models are written so. And ragged data laid end to end in one
flat array, as the index stores records, postings and token vectors: part i is
flat[offsets[i] : offsets[i + 1]]."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.errors import CorpusError


def offsets(lengths: Iterable[int] | np.ndarray) -> np.ndarray:
    """Where each part starts, and after it where the last one ends: (parts + 1,) int64, from 0."""
    counts = lengths if isinstance(lengths, np.ndarray) else np.fromiter(lengths, dtype=np.int64)
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=starts[1:])  # summed in int64: int32 lengths may add up past 2**31
    return starts


def concatenated(parts: Sequence[np.ndarray], empty: tuple[int, ...], dtype: type) -> np.ndarray:
    """The parts end to end as `dtype`; with no parts, an array of shape `empty`."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty, dtype)


ARTICLE_FILE = "article.json"  # the file that makes a folder an article folder


def article_folders(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(corpus_dir, "corpus directory not found")
    # A dot folder is `followup add` at work (a folder being written, or the one it replaces). Names and
    # strings, not Paths, until the end: a library's 5,401 folders are listed at every `followup ask`.
    with os.scandir(corpus_dir) as entries:
        names = [
            e.name
            for e in entries
            if e.is_dir() and not e.name.startswith(".") and os.path.exists(os.path.join(e.path, ARTICLE_FILE))
        ]
    folders = [corpus_dir / name for name in sorted(names)]
    if not folders:
        raise CorpusError(corpus_dir, f"no article folders (a folder with {ARTICLE_FILE}) found")
    return folders


FileRecord = tuple[int, int, str]  # size, modification time (ns), sha256: what the fingerprint read


def corpus_files(corpus_dir: Path) -> list[tuple[str, str]]:
    """Every file of every article folder, by path relative to the corpus, in a fixed order, with its
    path (a string: the MedQuAD library has 16,000 files). Links to folders are not followed."""
    found: list[tuple[str, str]] = []
    for folder in article_folders(corpus_dir):
        pending = [(str(folder), folder.name)]
        while pending:
            directory, relative = pending.pop()
            with os.scandir(directory) as entries:
                for entry in entries:
                    if not entry.is_dir():
                        found.append((f"{relative}/{entry.name}", entry.path))
                    elif not entry.is_symlink():
                        pending.append((entry.path, f"{relative}/{entry.name}"))
    return sorted(found)


def fingerprint(corpus_dir: Path, known: Mapping[str, FileRecord] | None = None) -> tuple[str, dict[str, FileRecord]]:
    """sha256 over every file of every article folder (the index is stale when it changes), and each
    file's record. A file whose size and time match `known` (the last build's records) is not read
    again: checking the MedQuAD library's 16,000 files takes a stat each, not 2.7 s of hashing."""
    known = known or {}
    digest = hashlib.sha256()
    records: dict[str, FileRecord] = {}
    for relative, path in corpus_files(corpus_dir):
        stat = os.stat(path)
        record = known.get(relative)
        if record is None or (record[0], record[1]) != (stat.st_size, stat.st_mtime_ns):
            record = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(Path(path).read_bytes()).hexdigest())
        records[relative] = record
        digest.update(relative.encode())
        digest.update(b"\0")
        digest.update(bytes.fromhex(record[2]))
    return digest.hexdigest(), records


def article_hashes(records: Mapping[str, FileRecord]) -> dict[str, str]:
    """sha256 of each article folder's files (from `fingerprint`'s records): what a build may reuse
    per article when it is unchanged."""
    digests: dict[str, Any] = {}
    for relative in sorted(records):
        folder = Path(relative).parts[0]
        digest = digests.setdefault(folder, hashlib.sha256())
        digest.update(relative.encode() + b"\0" + bytes.fromhex(records[relative][2]))
    return {folder: digest.hexdigest() for folder, digest in digests.items()}


def corpus_fingerprint(corpus_dir: Path) -> str:
    return fingerprint(corpus_dir)[0]


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside `target` to write the whole file to; renamed over `target` when the
    block ends, removed when it raises. A killed or failed write never leaves a truncated file under the
    real name, and readers see the old file or the new one. The path is not created: the writer creates
    the file, with the permissions any file gets (mkstemp's would be 0600: an index served by another user
    could not read its model). numpy adds `.npy` to a path that lacks it: save arrays through the opened
    file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.partial")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)  # only there when the block raised
