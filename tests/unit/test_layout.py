from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from followup.core.errors import IndexProblem
from followup.core.feedback import default_feedback_db
from followup.core.settings import ChunkingParams
from followup.core.storage import corpus_fingerprint
from followup.index.layout import (
    BUILDS,
    Manifest,
    build_lock,
    build_recipe,
    checks_as_read,
    current_build,
    new_build,
    publish,
    read_manifest,
    write_manifest,
)
from followup.index.reader import check_fresh


def make_build(index_dir: Path, corpus_hash: str, payload: str) -> Path:
    with new_build(index_dir) as work:
        (work / "data.txt").write_text(payload)
        write_manifest(work, {"corpus_hash": corpus_hash, **build_recipe(ChunkingParams())})
        return publish(index_dir, work, corpus_hash).path


def test_publish_switches_current_and_keeps_one_previous_build(tmp_path: Path) -> None:
    first = make_build(tmp_path, "a" * 64, "one")
    assert current_build(tmp_path).path == first
    second = make_build(tmp_path, "b" * 64, "two")
    third = make_build(tmp_path, "c" * 64, "three")
    assert current_build(tmp_path).path == third
    assert (current_build(tmp_path).path / "data.txt").read_text() == "three"
    assert sorted(p.name for p in (tmp_path / BUILDS).iterdir()) == sorted([second.name, third.name])


def test_publishing_builds_never_removes_the_feedback_file_beside_them(tmp_path: Path) -> None:
    feedback = default_feedback_db(tmp_path)
    make_build(tmp_path, "a" * 64, "one")
    for name in (feedback.name, f"{feedback.name}-wal", f"{feedback.name}-shm"):
        (tmp_path / name).write_text("reports")
    for corpus_hash in ("b", "c", "d"):
        make_build(tmp_path, corpus_hash * 64, corpus_hash)
    with pytest.raises(RuntimeError), new_build(tmp_path):
        raise RuntimeError("interrupted")
    assert feedback.read_text() == "reports" and (tmp_path / f"{feedback.name}-wal").exists()


def test_a_failed_build_leaves_the_previous_index_in_use(tmp_path: Path) -> None:
    first = make_build(tmp_path, "a" * 64, "one")
    with pytest.raises(RuntimeError), new_build(tmp_path) as work:
        (work / "data.txt").write_text("half written")
        raise RuntimeError("interrupted")
    assert current_build(tmp_path).path == first
    assert [p for p in (tmp_path / BUILDS).iterdir() if p.name.startswith(".tmp-")] == []
    read_manifest(current_build(tmp_path))


def test_leftovers_of_a_killed_build_are_removed_by_the_next_one(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    stale = tmp_path / BUILDS / ".tmp-killed"
    stale.mkdir()
    make_build(tmp_path, "b" * 64, "two")
    assert not stale.exists()


def test_missing_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IndexProblem, match=r"no index in .*followup index"):
        current_build(tmp_path)


def test_corrupt_or_missing_file_is_detected(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    location = current_build(tmp_path)
    data = location.path / "data.txt"
    data.write_text("tampered")
    with pytest.raises(IndexProblem, match=r"data\.txt: 8 bytes, the manifest says 3"):
        read_manifest(location)
    data.write_text("two")  # the same size, a new time: hashed, and found to differ
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):
        read_manifest(location)
    data.unlink()
    with pytest.raises(IndexProblem, match=r"data\.txt: missing"):
        read_manifest(location)


def test_loading_reads_every_byte_even_when_size_and_time_match(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    location = current_build(tmp_path)
    data = location.path / "data.txt"
    stat = data.stat()
    data.write_text("on!")  # same size; the time put back, as a disk error or a careful hand would leave it
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):
        read_manifest(location)
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):
        read_manifest(location, full=True)
    data.write_text("one")  # the original bytes at a new time (a copied index): accepted
    read_manifest(location)
    read_manifest(location, full=True)


def test_a_build_without_block_digests_is_checked_by_sha256(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    location = current_build(tmp_path)
    manifest = json.loads((location.path / "manifest.json").read_text())
    assert all("blocks" in record for record in manifest["files"].values())
    for record in manifest["files"].values():
        del record["blocks"]  # as a build of an earlier followup wrote it
    (location.path / "manifest.json").write_text(json.dumps(manifest))
    read_manifest(location)
    data = location.path / "data.txt"
    stat = data.stat()
    data.write_text("on!")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):
        read_manifest(location)
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):  # nothing is left for later without blocks
        read_manifest(location, as_read=lambda name: True)


def test_a_file_left_to_be_checked_as_read_is_only_measured_at_load(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    location = current_build(tmp_path)
    data = location.path / "data.txt"
    stat = data.stat()
    data.write_text("on!")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    manifest = read_manifest(location, as_read=lambda name: name == "data.txt")
    checks = checks_as_read(location, manifest, lambda name: name == "data.txt")
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt \(bytes 0 to "):
        checks["data.txt"].span(0, 1)
    with pytest.raises(IndexProblem, match=r"data\.txt: corrupt"):  # `followup verify` leaves nothing for later
        read_manifest(location, full=True, as_read=lambda name: True)
    data.write_text("x")
    with pytest.raises(IndexProblem, match=r"data\.txt: 1 bytes"):  # the size is checked at load all the same
        read_manifest(location, as_read=lambda name: True)


def test_unreadable_manifest_and_wrong_format_are_reported(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    location = current_build(tmp_path)
    manifest = location.path / "manifest.json"
    manifest.write_text(json.dumps({"format_version": 999}))
    with pytest.raises(IndexProblem, match="index format 999"):
        read_manifest(location)
    manifest.write_text("{not json")
    with pytest.raises(IndexProblem, match="unreadable manifest"):
        read_manifest(location)


def test_pointer_to_a_vanished_build_is_reported(tmp_path: Path) -> None:
    make_build(tmp_path, "a" * 64, "one")
    shutil.rmtree(current_build(tmp_path).path)
    with pytest.raises(IndexProblem, match="names a build that does not exist"):
        current_build(tmp_path)


def test_one_build_at_a_time(tmp_path: Path) -> None:
    with build_lock(tmp_path), pytest.raises(IndexProblem, match="another `followup index`"), build_lock(tmp_path):
        pass


def test_staleness_is_detected_when_the_corpus_changes(tmp_path: Path, corpus_dir: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    raw = {"corpus_hash": corpus_fingerprint(corpus), "created_at": "then", **build_recipe(ChunkingParams())}
    manifest = Manifest.from_raw(raw)
    check_fresh(manifest, corpus)
    article = corpus / "muscle-spasm" / "article.md"
    article.write_text(article.read_text() + "\nA new sentence 1.\n")
    with pytest.raises(IndexProblem, match="stale"):
        check_fresh(manifest, corpus)


def test_an_index_from_another_version_is_refused(tmp_path: Path, corpus_dir: Path) -> None:
    manifest = {"corpus_hash": corpus_fingerprint(corpus_dir), **build_recipe(ChunkingParams())}
    manifest["followup_version"] = "0.0.0"
    with pytest.raises(IndexProblem, match="another followup version"):
        check_fresh(Manifest.from_raw(manifest), corpus_dir)


def test_an_index_built_before_token_vectors_is_refused(corpus_dir: Path) -> None:
    # Session 4's builds have no token vectors for the answer score: the recipe tells them apart.
    manifest = {"corpus_hash": corpus_fingerprint(corpus_dir), **build_recipe(ChunkingParams())}
    del manifest["token_vectors"]
    with pytest.raises(IndexProblem, match="run `followup index`"):
        check_fresh(Manifest.from_raw(manifest), corpus_dir)
