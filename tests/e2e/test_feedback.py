"""Clinicians' feedback end to end: verdicts on a real answer's passages sent to the real service, the
rows in its SQLite file, the file exported by `followup feedback export` and run by `followup eval`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from followup.serve.app import BUILD_HEADER

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"
DOSE = "What dose should be used?"


def followup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "followup.cli", *args], capture_output=True, text=True, timeout=300)


def rows(database: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM reports ORDER BY id")]


def report(answer: dict[str, Any], build: str, history: list[str], passage: dict[str, Any], verdict: str,
           **changes: Any) -> dict[str, Any]:  # fmt: skip
    return {"question": answer["question"], "history": history, "article_id": passage["source_id"].split("/")[0],
            "build": build, "source_id": passage["source_id"], "start": passage["start"], "end": passage["end"],
            "verdict": verdict, **changes}  # fmt: skip


def test_feedback_on_a_real_answer_is_stored_exported_and_evaluated(
    feedback_server: tuple[str, Path], built: tuple[Path, Path], tmp_path: Path
) -> None:
    url, database = feedback_server
    assert not database.exists()  # nothing until the first report
    asked = httpx.post(url + "/v1/ask", json={"question": DOSE, "history": [MS]}, timeout=60)
    answer, build = asked.json(), asked.headers[BUILD_HEADER]
    first, *others = answer["passages"]
    assert "10-20 mg" in first["text"] and others
    sent = [report(answer, build, [MS], first, "answers"),
            report(answer, build, [MS], others[-1], "wrong", comment="not about the dose"),
            report(answer, build, [MS], first, "relevant")]  # fmt: skip
    for body in sent:
        response = httpx.post(url + "/v1/feedback", json=body, timeout=30)
        assert response.status_code == 201, response.text
        assert response.headers[BUILD_HEADER] == build
    stored = rows(database)
    assert [r["id"] for r in stored] == [1, 2, 3]
    assert [(r["source_id"], r["start_offset"], r["end_offset"], r["text"], r["verdict"]) for r in stored] == [
        (p["source_id"], p["start"], p["end"], p["text"], v) for p, v in ((first, "answers"), (others[-1], "wrong"),
                                                                          (first, "relevant"))
    ]  # fmt: skip
    assert {(r["question"], r["history"], r["build"], r["text_build"]) for r in stored} == {
        (DOSE, json.dumps([MS]), build, build)
    }
    assert stored[1]["comment"] == "not about the dose"

    # Exported: one item, the first passage relevant (the most cautious of answers and relevant), the
    # other flagged wrong; then run as a suite against the built index.
    suite = tmp_path / "feedback-suite.jsonl"
    exported = followup("feedback", "export", "--db", str(database), "--output", str(suite))
    assert exported.returncode == 0, exported.stderr
    assert "3 report(s)" in exported.stderr and "1 item(s), 2 passage(s)" in exported.stderr
    [item] = [json.loads(line) for line in suite.read_text(encoding="utf-8").splitlines()]
    assert (item["question"], item["history"], item["article"]) == (DOSE, [MS], "muscle-spasm")
    assert [(g["text"], g["grade"]) for g in item["grades"]] == [(first["text"], 1)]
    assert [(f["text"], f["verdict"]) for f in item["flagged"]] == [(others[-1]["text"], "wrong")]
    evaluated = followup("eval", str(suite), "--index", str(built[1]), "--corpus", str(built[0]), "--no-save",
                         "--json")  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    results = json.loads(evaluated.stdout)
    assert results["queries"] == 1 and results["split"] == "test"
    default = results["results"]["hybrid-minmax"]
    assert default["wrong_shown"] == 1.0  # the default still shows the passage reported wrong
    assert default["evidence_precision"] == 0.5 and default["passages"] == len(answer["passages"])


@pytest.mark.parametrize(
    ("changes", "status", "fragment"),
    [
        ({"article_id": "hiccups"}, 404, "unknown article 'hiccups'"),
        ({"source_id": "muscle-spasm/ref-99"}, 404, "unknown source 'muscle-spasm/ref-99'"),
        ({"start": 0, "end": 10_000_000}, 422, "past the end of the source's text"),
        ({"verdict": "unsure"}, 422, "'answers', 'relevant', 'not_relevant' or 'wrong'"),
    ],
)
def test_feedback_on_what_the_index_does_not_hold_is_refused(
    feedback_server: tuple[str, Path], changes: dict[str, Any], status: int, fragment: str
) -> None:
    url, database = feedback_server
    before = rows(database) if database.exists() else []
    body = {"question": DOSE, "article_id": "muscle-spasm", "build": "b", "source_id": "muscle-spasm", "start": 0,
            "end": 20, "verdict": "answers", **changes}  # fmt: skip
    response = httpx.post(url + "/v1/feedback", json=body, timeout=30)
    assert response.status_code == status and fragment in response.text, response.text
    assert (rows(database) if database.exists() else []) == before
