"""The index directory and what a build holds: builds written aside and switched in atomically, a
checked manifest, the files of a build and the recipe that decides their content.

    index/
      CURRENT              name of the build in use (replaced atomically with os.replace)
      builds/<name>/       manifest.json and the build's arrays (index/records.py, index/bm25.py, index/dense.py,
                           index/segments.py: segments are hard links shared with the build before)
      .lock                held while a build runs

A reader resolves CURRENT once and reads that build; a build in progress lives in builds/.tmp-*
and becomes visible only when CURRENT names it, so an interrupted build leaves the old one in use.

The manifest records each file's size, modification time, sha256 and the XXH3-64 of each 256 KiB block
(index/digests.py). Loading checks every byte of every file against its blocks (~10 GB/s on the AVX-512
machine: 9 ms for the seed's 89 MB), so a build whose bytes changed while its sizes and times did not is
refused before it answers: a quoted dose must never come from a flipped byte. A reader may leave the
files it reads a row at a time (a segment's token and sentence vectors, index/segments.py) to be checked
block by block as it reads them. `followup verify` checks every sha256 as well. A build written before
the manifest held block digests is checked by sha256 at load.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from followup import __version__
from followup.core.errors import IndexProblem
from followup.core.settings import MODEL_NAME, MODEL_PACKAGE, ChunkingParams
from followup.core.storage import FileRecord
from followup.core.words import INITIALS_VERSION, LEXICON_PACKAGE, lexicon_version
from followup.embed.encoder import model_key
from followup.index.dense import FLAT_LIMIT, HNSW_BUILD_DEPTH, HNSW_NEIGHBOURS
from followup.index.digests import BLOCK_BYTES, BlockCheck, block_record, file_sha256

FORMAT_VERSION = 2  # 2: arrays, memory-mapped, instead of JSON records rebuilt at load
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
BUILDS = "builds"
EMBEDDINGS = "embeddings"  # beside builds/: the exported models, shared by builds

# Files of a build besides its records (index/records.py) and segments (index/segments.py).
QUERY_MODEL_FILE = "query-encoder.onnx"  # fp32: embeds the passages of builds too small for torch
# The question models (embed/question_model.py), one of which embeds questions, by the CPU (embed/cpu.py):
QUESTION_MODEL_FILE = "question-encoder-w8.onnx"  # int8 weight blocks: CPUs with int8 dot products
QUESTION_MODEL_FP32_FILE = "question-encoder-fp32.onnx"  # fused attention, fp32: CPUs without
DENSE_INDEX_FILE = "chunk-vectors.faiss"  # flat or HNSW by size (index/dense.py); read back whole at load
DENSE_ROWS_FILE = "dense-row-chunks.npy"  # the chunk of each row of the dense index, -1 for an unused row
MEDICATIONS_FILE = "medications.json"  # the medication lexicon and each article's drug names
INITIALS_FILE = "article-initials.json"  # each article's word initials, where codes are found spelled out
BM25_RANGES_FILE = "bm25-term-ranges.npy"  # each term's lowest and highest posting weight (index/bm25.py)


def build_recipe(chunking: ChunkingParams) -> dict[str, Any]:
    """Everything besides the corpus that decides the index's content; a change forces a rebuild."""
    return {
        "followup_version": __version__,
        "model": {"name": MODEL_NAME, "package": MODEL_PACKAGE, "package_version": metadata.version(MODEL_PACKAGE)},
        "chunking": chunking.as_dict(),
        "model_key": model_key(),
        "query_encoder": QUERY_MODEL_FILE,  # an index without it (older builds) is rebuilt
        "question_encoder": QUESTION_MODEL_FILE,  # likewise
        "question_encoder_fp32": QUESTION_MODEL_FP32_FILE,  # likewise
        "dense_index_file": DENSE_INDEX_FILE,  # older builds kept vectors in chunk-vectors.npy
        "dense_index_params": {
            "flat_limit": FLAT_LIMIT,
            "hnsw_m": HNSW_NEIGHBOURS,
            "hnsw_ef_construction": HNSW_BUILD_DEPTH,
        },
        "medication_lexicon": {"package": LEXICON_PACKAGE, "version": lexicon_version(), "file": MEDICATIONS_FILE},
        # Token vectors of every chunk for the answer score (late interaction); older builds have none.
        "token_vectors": {"dtype": "int8", "from": QUERY_MODEL_FILE},
        # Each article's word initials (core/words.word_initials); older builds scanned the texts per code.
        "article_initials": {"file": INITIALS_FILE, "version": INITIALS_VERSION},
        # Each BM25 term's weight range, which bounds a chunk's score so that a top-k search skips the
        # chunks that cannot reach it (index/bm25.py); older builds have none.
        "bm25_term_ranges": BM25_RANGES_FILE,
        # Each file's blocks' digests (index/digests.py); an older build's files are checked by sha256.
        "file_digests": {"kind": "xxh3_64", "block_bytes": BLOCK_BYTES},
    }


@dataclass(frozen=True)
class BuildLocation:
    root: Path
    name: str

    @property
    def path(self) -> Path:
        return self.root / BUILDS / self.name


def current_build(index_dir: Path) -> BuildLocation:
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexProblem(f"no index in {index_dir}: run `followup index` first")
    name = pointer.read_text(encoding="utf-8").strip()
    location = BuildLocation(index_dir, name)
    if not name or "/" in name or not location.path.is_dir():
        raise IndexProblem(f"{pointer} names a build that does not exist ({name!r}): run `followup index --force`")
    return location


def file_record(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"sha256": file_sha256(path), "blocks": block_record(path), "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns}  # fmt: skip


def _check_file(file: Path, record: Mapping[str, Any], full: bool, as_read: bool) -> None:
    """Size, then every block (or none, for a file checked as read), then with full the sha256."""
    if not file.is_file():
        raise IndexProblem(f"{file}: missing from the index: run `followup index --force`")
    stat = file.stat()
    if stat.st_size != record["bytes"]:
        raise IndexProblem(
            f"{file}: {stat.st_size} bytes, the manifest says {record['bytes']}: run `followup index --force`"
        )
    blocks = record.get("blocks")  # absent from builds written before it: sha256 then
    if blocks is not None and not as_read:
        BlockCheck(file, blocks).all()
    if (full or blocks is None) and file_sha256(file) != record["sha256"]:
        raise IndexProblem(f"{file}: corrupt (its bytes differ from the manifest's checksum): run "
                           "`followup index --force`")  # fmt: skip


@dataclass(frozen=True)
class Manifest:
    """A build's manifest.json as its readers use it. Each field holds what the file holds, or None (or
    the default readers always assumed) where it lacks the key: `followup index` writes every one, and
    the format version is what says they mean what they say. `raw` is the whole document, for the
    recipe comparison and for a build carrying records over from this one."""

    raw: Mapping[str, Any]
    created_at: str | None  # UTC, 2025-01-31T12:00:00Z
    corpus_hash: str | None  # core/storage.py's fingerprint of the corpus the build read
    corpus_files: Mapping[str, FileRecord] | None  # each corpus file's (bytes, mtime_ns, sha256)
    chunking: Mapping[str, int] | None  # ChunkingParams.as_dict()
    followup_version: str | None
    model: Mapping[str, Any] | None  # the embedding model's name, package and package version
    counts: Mapping[str, int] | None  # articles, documents, chunks, sentences, tokens
    segments: Sequence[str] | None  # the embedding segments' names (index/segments.py)
    query_encoder: str | None  # the ONNX query model's file, when the build has one
    question_encoder: str | None  # the int8 ONNX question model's file, when the build has one
    question_encoder_fp32: str | None  # the fp32 one's
    search_backend: Mapping[str, Any]  # where its searches run (index/); older builds: embedded
    files: Mapping[str, Mapping[str, Any]]  # each file of the build: sha256, blocks, bytes, mtime_ns

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Manifest:
        return cls(
            raw=raw,
            created_at=raw.get("created_at"),
            corpus_hash=raw.get("corpus_hash"),
            corpus_files=raw.get("corpus_files"),
            chunking=raw.get("chunking"),
            followup_version=raw.get("followup_version"),
            model=raw.get("model"),
            counts=raw.get("counts"),
            segments=raw.get("segments"),
            query_encoder=raw.get("query_encoder"),
            question_encoder=raw.get("question_encoder"),
            question_encoder_fp32=raw.get("question_encoder_fp32"),
            search_backend=raw.get("search_backend", {"kind": "embedded"}),
            files=raw.get("files", {}),
        )


def never(name: str) -> bool:
    """No file is left to be checked as read."""
    return False


def read_manifest(
    location: BuildLocation, verify_files: bool = True, full: bool = False, as_read: Callable[[str], bool] = never
) -> Manifest:
    """The build's manifest; with verify_files, every file is checked against it by size and every block
    (sha256 for a build written before block digests), except that the files `as_read` names are left,
    after their size, to checks as they are read (`checks_as_read`); with full, sha256 as well."""
    path = location.path / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexProblem(f"{path}: unreadable manifest ({e}): run `followup index --force`") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IndexProblem(
            f"{path}: index format {found!r}, this followup reads {FORMAT_VERSION}: run `followup index --force`"
        )
    parsed = Manifest.from_raw(manifest)
    if verify_files:
        for name, record in parsed.files.items():
            _check_file(location.path / name, record, full, as_read(name) and not full)
    return parsed


def checks_as_read(
    location: BuildLocation, manifest: Manifest, as_read: Callable[[str], bool]
) -> dict[str, BlockCheck]:
    """The block checks of the files `read_manifest` left to be checked as they are read."""
    return {
        name: BlockCheck(location.path / name, record["blocks"])
        for name, record in manifest.files.items()
        if as_read(name) and "blocks" in record
    }


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory; a second one fails fast instead of racing."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexProblem(f"another `followup index` is building into {index_dir}") from None
        yield


@contextlib.contextmanager
def new_build(index_dir: Path) -> Iterator[Path]:
    """A fresh directory to write a build into; removed if the body fails."""
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    for stale in builds.glob(".tmp-*"):  # left by a build that was killed; the caller holds the lock
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def write_manifest(build_dir: Path, manifest: dict[str, Any], known: dict[str, dict[str, Any]] | None = None) -> None:
    """`known`: records of files linked from an earlier build, trusted when size and time still match
    and they carry block digests."""
    known = known or {}
    files = {}
    for path in sorted(build_dir.iterdir()):
        if not path.is_file() or path.name == MANIFEST:
            continue
        record, stat = known.get(path.name), path.stat()
        same = (
            record is not None
            and "blocks" in record
            and (record["bytes"], record["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
        )
        files[path.name] = record if same and record is not None else file_record(path)
    full = {"format_version": FORMAT_VERSION, **manifest, "files": files}
    (build_dir / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def publish(index_dir: Path, work: Path, corpus_hash: str) -> BuildLocation:
    """Make the finished build in `work` the current one, atomically, and remove older builds."""
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{corpus_hash[:12]}"
    final = index_dir / BUILDS / name
    if final.exists():  # the same corpus built twice within a second
        name = f"{name}-{os.getpid()}"
        final = index_dir / BUILDS / name
    _fsync_tree(work)
    work.rename(final)
    previous = (index_dir / CURRENT).read_text(encoding="utf-8").strip() if (index_dir / CURRENT).exists() else ""
    pointer_tmp = index_dir / f".{CURRENT}.tmp"
    with pointer_tmp.open("w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer_tmp, index_dir / CURRENT)
    for old in (index_dir / BUILDS).iterdir():
        # The previous build stays one generation, for a reader that resolved CURRENT just before.
        if old.name not in (name, previous):
            shutil.rmtree(old, ignore_errors=True)
    return BuildLocation(index_dir, name)


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_nlink == 1:  # a linked segment was synced by its own build
            with path.open("rb") as f:
                os.fsync(f.fileno())


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")


# A build's arrays, memory-mapped read-only and handed out as plain ndarrays: a np.memmap's every
# slice runs its __array_finalize__ (~2 us), which was most of decoding a chunk record.


def mapped_array(path: Path) -> np.ndarray:
    """An `.npy` file, mapped."""
    return np.asarray(np.load(path, mmap_mode="r"))


def mapped_bytes(path: Path) -> np.ndarray:
    """A file's bytes as uint8, mapped (an empty file cannot be mapped: an empty array then)."""
    return np.asarray(np.memmap(path, dtype=np.uint8, mode="r")) if path.stat().st_size else np.zeros(0, np.uint8)
