"""The feedback file: created by the first report, WAL, versioned, and no report lost to concurrent
writers (threads and processes)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

import followup.core.feedback as feedback
from followup.core.feedback import (
    SCHEMA_VERSION,
    FeedbackReport,
    FeedbackStoreError,
    StoredReport,
    add_report,
    read_reports,
)


def report(question: str = "What dose should be used?", verdict: str = "wrong", **changes: object) -> FeedbackReport:
    fields: dict[str, object] = {
        "question": question, "history": ("Which medication treats spasticity?",), "article_id": "muscle-spasm",
        "build": "20261207T120000-abc", "text_build": "20261207T120000-abc", "source_id": "muscle-spasm/ref-7",
        "start": 10, "end": 42, "text": "baclofen 10-20 mg three times daily", "verdict": verdict,
        "comment": "the dose is for adults only",
    }  # fmt: skip
    return FeedbackReport(**{**fields, **changes})  # type: ignore[arg-type]


def pragma(path: Path, name: str) -> object:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def test_the_file_is_created_by_the_first_report_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "feedback.sqlite3"
    with pytest.raises(FeedbackStoreError, match="not found"):
        read_reports(path)
    assert not path.exists()  # reading never creates it
    stored = add_report(path, report(), now=datetime(2026, 12, 8, 9, 30, tzinfo=UTC))
    assert path.is_file() and pragma(path, "journal_mode") == "wal"
    assert stored == StoredReport(1, "2026-12-08T09:30:00.000000Z", report())


def test_a_report_reads_back_as_it_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    first = add_report(path, report())
    second = add_report(path, report("Is it safe?", "answers", history=(), comment=None, source_id="muscle-spasm"))
    assert read_reports(path) == [first, second]
    assert second.id == first.id + 1 and second.report.history == () and second.report.comment is None
    with closing(sqlite3.connect(path)) as connection:  # plain SQL sees the same, history as JSON
        row = connection.execute("SELECT question, history, verdict, text FROM reports WHERE id = 1").fetchone()
    assert row == ("What dose should be used?", '["Which medication treats spasticity?"]', "wrong",
                   "baclofen 10-20 mg three times daily")  # fmt: skip


def test_an_unknown_verdict_is_refused_before_it_reaches_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="verdict must be one of answers, relevant, not_relevant, wrong"):
        report(verdict="meh")


def test_the_schema_version_is_recorded_and_a_newer_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    add_report(path, report())
    assert pragma(path, "user_version") == SCHEMA_VERSION == 1
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA user_version = 7")
    for attempt in (lambda: add_report(path, report()), lambda: read_reports(path)):
        with pytest.raises(FeedbackStoreError, match=r"feedback\.sqlite3: schema version 7: written by a newer"):
            attempt()


def test_an_older_file_is_migrated_and_keeps_its_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "feedback.sqlite3"
    kept = add_report(path, report())
    later = (*feedback.MIGRATIONS, ("ALTER TABLE reports ADD COLUMN reviewer TEXT",))
    monkeypatch.setattr(feedback, "MIGRATIONS", later)
    monkeypatch.setattr(feedback, "SCHEMA_VERSION", len(later))
    assert read_reports(path) == [kept]
    assert pragma(path, "user_version") == 2
    with closing(sqlite3.connect(path)) as connection:
        assert "reviewer" in [column[1] for column in connection.execute("PRAGMA table_info(reports)")]


def test_an_unwritable_place_is_an_error_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "index"
    blocker.write_text("a file where a directory should be")  # refused even to root
    path = blocker / "feedback.sqlite3"
    with pytest.raises(FeedbackStoreError, match=rf"feedback file {path}: cannot record the report"):
        add_report(path, report())
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(FeedbackStoreError, match=r"garbage\.sqlite3: cannot read the reports"):
        read_reports(garbage)
    assert garbage.read_bytes() == b"not a database at all" * 100


def test_a_writer_holding_the_lock_makes_another_wait_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    add_report(path, report())
    outcome: list[object] = []
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as another process's write holds it
        writer = threading.Thread(target=lambda: outcome.append(add_report(path, report("Blocked?"))))
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive()  # waiting for the lock
        holder.execute("COMMIT")
    writer.join()
    assert [type(o) for o in outcome] == [StoredReport]
    assert [r.report.question for r in read_reports(path)] == ["What dose should be used?", "Blocked?"]


PROCESSES, THREADS, REPORTS = 3, 3, 6


def _write_reports(path: Path, process: int, start: threading.Event | None = None) -> None:
    """THREADS threads each writing REPORTS reports, all starting at once; a thread's error fails the
    process (an exception would only end its thread)."""
    go = threading.Barrier(THREADS)
    errors: list[Exception] = []

    def thread(number: int) -> None:
        go.wait()
        for i in range(REPORTS):
            try:
                add_report(path, report(f"p{process}-t{number}-r{i}"))
            except Exception as e:
                errors.append(e)

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _process(path: Path, process: int, go: multiprocessing.synchronize.Event) -> None:
    go.wait()
    _write_reports(path, process)


def test_concurrent_processes_and_threads_lose_no_report(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"  # not there yet: the writers race to create it too
    context = multiprocessing.get_context("fork")
    go = context.Event()
    workers = [context.Process(target=_process, args=(path, p, go)) for p in range(PROCESSES)]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    stored = read_reports(path)
    expected = {f"p{p}-t{t}-r{i}" for p in range(PROCESSES) for t in range(THREADS) for i in range(REPORTS)}
    assert sorted(r.report.question for r in stored) == sorted(expected)
    assert len({r.id for r in stored}) == len(stored) == PROCESSES * THREADS * REPORTS
    assert pragma(path, "journal_mode") == "wal" and pragma(path, "user_version") == SCHEMA_VERSION
