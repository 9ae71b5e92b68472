"""POST /v1/feedback with a fake answerer (no model): validation, the stored row, storage errors, the key."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from followup.answerer import Answerer
from followup.serve.app import BUILD_HEADER, ServiceSettings, create_app
from followup.serve.live import LiveIndex

ARTICLE_TEXT = "Baclofen 10-20 mg three times daily helps 1. Stretching helps cramps."
REVIEW_TEXT = "Baclofen, tizanidine and dantrolene are effective."
DOSE = "Baclofen 10-20 mg three times daily helps 1."


class FakeAnswerer:
    """An index of one article and one reference's text; nothing is answered."""

    def __init__(self) -> None:
        documents = {
            "muscle-spasm": SimpleNamespace(article_id="muscle-spasm", text=ARTICLE_TEXT),
            "muscle-spasm/ref-7": SimpleNamespace(article_id="muscle-spasm", text=REVIEW_TEXT),
            "cramps": SimpleNamespace(article_id="cramps", text="Cramps come at night."),
        }
        self.index = SimpleNamespace(articles={"muscle-spasm": object(), "cramps": object()}, documents=documents)
        self.encoder = object()


def app_for(index_dir: Path, **settings: Any) -> TestClient:
    live = cast(LiveIndex[Answerer], LiveIndex(index_dir, FakeAnswerer))
    live.install("20261208T093000-abc", cast(Answerer, FakeAnswerer()))
    service = ServiceSettings(index_dir, None, reload_interval=0, **settings)
    return TestClient(create_app(service, live=live), raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with app_for(tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3") as test_client:
        yield test_client


def body(**changes: Any) -> dict[str, Any]:
    return {"question": "What dose should be used?", "history": ["Which medication treats spasticity?"],
            "article_id": "muscle-spasm", "build": "20261208T090000-old", "source_id": "muscle-spasm",
            "start": 0, "end": len(DOSE), "verdict": "answers", **changes}  # fmt: skip


def rows(path: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM reports ORDER BY id")]


def test_a_report_is_stored_with_the_passage_text_from_the_index(client: TestClient, tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    assert client.get("/healthz").status_code == 200 and not db.exists()  # created by the first report only
    response = client.post("/v1/feedback", json=body(comment="the dose is per day"))
    assert response.status_code == 201
    assert response.json()["id"] == 1 and response.json()["created_at"].endswith("Z")
    assert response.headers[BUILD_HEADER] == "20261208T093000-abc"
    [row] = rows(db)
    assert {k: row[k] for k in ("question", "history", "article_id", "build", "text_build", "source_id",
                                "start_offset", "end_offset", "text", "verdict", "comment")} == {
        "question": "What dose should be used?", "history": '["Which medication treats spasticity?"]',
        "article_id": "muscle-spasm", "build": "20261208T090000-old", "text_build": "20261208T093000-abc",
        "source_id": "muscle-spasm", "start_offset": 0, "end_offset": len(DOSE), "text": DOSE, "verdict": "answers",
        "comment": "the dose is per day",
    }  # fmt: skip
    reference = client.post("/v1/feedback", json=body(source_id="muscle-spasm/ref-7", start=10, end=20,
                                                      verdict="wrong", comment="   ", history=[]))  # fmt: skip
    assert reference.status_code == 201 and reference.json()["id"] == 2
    assert (rows(db)[1]["text"], rows(db)[1]["comment"], rows(db)[1]["history"]) == (REVIEW_TEXT[10:20], None, "[]")


@pytest.mark.parametrize(
    ("changes", "status", "fragment"),
    [
        ({"article_id": "hiccups"}, 404, "unknown article 'hiccups'"),
        ({"source_id": "muscle-spasm/ref-9"}, 404, "unknown source 'muscle-spasm/ref-9' of article 'muscle-spasm'"),
        ({"source_id": "cramps"}, 404, "unknown source 'cramps' of article 'muscle-spasm'"),
        ({"end": len(ARTICLE_TEXT) + 1}, 422, f"past the end of the source's text ({len(ARTICLE_TEXT)} characters)"),
        ({"start": 5, "end": 5}, 422, "must be greater than start"),
        ({"start": -1}, 422, "greater than or equal to 0"),
        ({"start": "0"}, 422, "valid integer"),
        ({"verdict": "meh"}, 422, "'answers', 'relevant', 'not_relevant' or 'wrong'"),
        ({"question": "  "}, 422, "must not be blank"),
        ({"question": "x" * 2001}, 422, "at most 2000 characters"),
        ({"history": ["h"] * 21}, 422, "at most 20 items"),
        ({"comment": "c" * 2001}, 422, "at most 2000 characters"),
        ({"build": ""}, 422, "at least 1 character"),
        ({"score": 0.9}, 422, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_report_gets_a_4xx_naming_what_is_wrong_and_stores_nothing(
    client: TestClient, tmp_path: Path, changes: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.post("/v1/feedback", json=body(**changes))
    assert response.status_code == status and fragment in response.text, response.text
    assert not (tmp_path / "feedback.sqlite3").exists()


def test_a_missing_field_is_named(client: TestClient) -> None:
    response = client.post("/v1/feedback", json={k: v for k, v in body().items() if k != "build"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "build"]


def test_an_unwritable_feedback_file_is_a_503_naming_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")
    db = tmp_path / "blocker" / "feedback.sqlite3"
    with app_for(tmp_path / "index", feedback_db=db) as client, caplog.at_level(logging.INFO):
        response = client.post("/v1/feedback", json=body(question="Patient Jane Roe asks about baclofen"))
    assert response.status_code == 503
    assert response.json()["detail"].startswith(f"feedback file {db}: cannot record the report")
    assert "Traceback" not in response.text and "Jane Roe" not in caplog.text


def test_the_default_file_is_beside_the_builds(tmp_path: Path) -> None:
    with app_for(tmp_path / "index") as client:
        assert client.post("/v1/feedback", json=body()).status_code == 201
    assert [r["text"] for r in rows(tmp_path / "index" / "feedback.sqlite3")] == [DOSE]


def test_feedback_needs_the_api_key_when_one_is_set(tmp_path: Path) -> None:
    with app_for(tmp_path / "index", api_key="s3cret") as client:
        assert client.post("/v1/feedback", json=body()).status_code == 401
        assert client.post("/v1/feedback", json=body(), headers={"X-API-Key": "s3cret"}).status_code == 201


def test_the_question_is_stored_but_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert client.post("/v1/feedback", json=body(question="Patient Jane Roe, 54: what dose?")).status_code == 201
    assert "POST /v1/feedback 201" in caplog.text and "Jane Roe" not in caplog.text
