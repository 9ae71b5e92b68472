"""Clinicians' feedback on the passages they were shown, kept in one SQLite file.

The file is `$FOLLOWUP_FEEDBACK_DB`, by default `<index>/feedback.sqlite3`: beside `builds/` and
`CURRENT`, where a build's clean-up (index/layout.py) never looks. It is created by the first report, not
when the service starts, so a service that is never sent feedback writes nothing.

Several service workers and several processes may write at once: the file is in WAL mode (readers never
block the writer) and every connection waits up to `BUSY_TIMEOUT` for the write lock instead of failing,
so no report is lost to a busy file. `PRAGMA user_version` records the schema version; `MIGRATIONS` takes
an older file to the current one when it is next opened.

A report holds the question text as the clinician sent it with their feedback: that is the only place
followup keeps a question.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from followup.core.errors import FollowupError

FEEDBACK_FILE = "feedback.sqlite3"
MAX_COMMENT_CHARS = 2000  # a few sentences of why; far below what would bloat the file

# What a clinician says of a passage, best first: it answers the question; it is relevant evidence
# beside the answer; it is not relevant; it is wrong (incorrect, unsafe, or misquoted).
Verdict = Literal["answers", "relevant", "not_relevant", "wrong"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

# Seconds a write waits for another writer's lock before giving up: far above any single insert, so
# only a stuck writer makes a report fail.
BUSY_TIMEOUT = 30.0

# MIGRATIONS[v] takes a file at schema version v to v + 1; a new file (version 0) runs them all.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            question TEXT NOT NULL,
            history TEXT NOT NULL,
            article_id TEXT NOT NULL,
            build TEXT NOT NULL,
            text_build TEXT NOT NULL,
            source_id TEXT NOT NULL,
            start_offset INTEGER NOT NULL,
            end_offset INTEGER NOT NULL,
            text TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('answers', 'relevant', 'not_relevant', 'wrong')),
            comment TEXT
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
_COLUMNS = ("id", "created_at", "question", "history", "article_id", "build", "text_build", "source_id",
            "start_offset", "end_offset", "text", "verdict", "comment")  # fmt: skip


@dataclass(frozen=True)
class FeedbackReport:
    """One verdict on one passage, as the clinician sent it. `build` is the build that answered (the
    answer's X-Followup-Build header); `text` is the source's text[start:end], read from `text_build`,
    the build serving when the report arrived (the same one unless a new build was swapped in between)."""

    question: str
    history: tuple[str, ...]  # earlier questions, oldest first
    article_id: str
    build: str
    text_build: str
    source_id: str
    start: int
    end: int
    text: str
    verdict: Verdict
    comment: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {self.verdict!r}")


@dataclass(frozen=True)
class StoredReport:
    id: int
    created_at: str  # UTC, 2026-12-08T09:30:00.123456Z
    report: FeedbackReport


class FeedbackStoreError(FollowupError):
    """The feedback file cannot be created, written or read; the message names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"feedback file {path}: {problem}")
        self.path = path


def default_feedback_db(index_dir: Path) -> Path:
    return index_dir / FEEDBACK_FILE


def add_report(path: Path, report: FeedbackReport, now: datetime | None = None) -> StoredReport:
    """Store the report (creating the file on the first one) and return it with its id."""
    created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    row = (created, report.question, json.dumps(list(report.history), ensure_ascii=False), report.article_id,
           report.build, report.text_build, report.source_id, report.start, report.end, report.text,
           report.verdict, report.comment)  # fmt: skip
    try:
        with closing(_connect(path, create=True)) as connection:
            # One statement in autocommit mode: its own transaction, durable when execute returns.
            cursor = connection.execute(f"INSERT INTO reports ({', '.join(_COLUMNS[1:])}) VALUES "
                                        f"({', '.join('?' * len(row))})", row)  # fmt: skip
            if cursor.lastrowid is None:  # never for an insert into a rowid table; typed as optional
                raise sqlite3.DatabaseError("no row id for the insert")
            return StoredReport(cursor.lastrowid, created, report)
    except (sqlite3.Error, OSError) as e:
        raise FeedbackStoreError(path, f"cannot record the report ({e})") from None


def read_reports(path: Path) -> list[StoredReport]:
    """Every report, oldest first. A missing file is an error: reading never creates one."""
    if not path.is_file():
        raise FeedbackStoreError(path, "not found: no feedback was recorded there (see --db, $FOLLOWUP_FEEDBACK_DB)")
    try:
        with closing(_connect(path, create=False)) as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(f"SELECT {', '.join(_COLUMNS)} FROM reports ORDER BY id").fetchall()
        return [_stored(row) for row in rows]
    except (sqlite3.Error, OSError, ValueError) as e:
        raise FeedbackStoreError(path, f"cannot read the reports ({e})") from None


def _stored(row: sqlite3.Row) -> StoredReport:
    history = json.loads(row["history"])
    if not isinstance(history, list) or row["verdict"] not in VERDICTS:
        raise ValueError(f"report {row['id']} is malformed")
    report = FeedbackReport(row["question"], tuple(history), row["article_id"], row["build"], row["text_build"],
                            row["source_id"], row["start_offset"], row["end_offset"], row["text"], row["verdict"],
                            row["comment"])  # fmt: skip
    return StoredReport(row["id"], row["created_at"], report)


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), the file in WAL mode and at
    the current schema version."""
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    mode = "rwc" if create else "rw"
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT,
                                 isolation_level=None)  # fmt: skip
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        _use_wal(connection)
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _use_wal(connection: sqlite3.Connection) -> None:
    """WAL mode, persistent in the file once set. While writers race to create the file, switching to
    it fails with "database is locked" at once, without the busy timeout (a test lost 6 reports of 54
    in one run of five): retried until BUSY_TIMEOUT."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    if _version(connection) == SCHEMA_VERSION:
        return
    # IMMEDIATE: the write lock first, so two processes creating the file do not both run the steps.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _version(connection)
        if version > SCHEMA_VERSION:
            raise FeedbackStoreError(path, f"schema version {version}: written by a newer followup, which "
                                     f"this one (version {SCHEMA_VERSION}) cannot read")  # fmt: skip
        for step in MIGRATIONS[version:]:
            for statement in step:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])
