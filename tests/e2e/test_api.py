"""The HTTP service with the real model: contract, validation, errors, auth, CORS, chat, concurrency,
the references exported as RIS and CSL-JSON."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import rispy
from fastapi.testclient import TestClient

from followup.answerer import Answerer
from followup.present.render import markdown_text
from followup.serve.app import BUILD_HEADER, ServiceSettings, create_app

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"


@pytest.fixture(scope="module")
def client(built: tuple[Path, Path], answerer: Answerer) -> Iterator[TestClient]:
    app = create_app(ServiceSettings(index_dir=built[1], corpus_dir=built[0], cors_origins=("https://chat.example",)),
                     answerer)  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_ask_returns_the_answer_contract(client: TestClient, built: tuple[Path, Path]) -> None:
    response = client.post("/v1/ask", json={"question": "What dose should be used?", "history": [MS]})
    assert response.status_code == 200
    answer = response.json()
    assert answer["answered"] and answer["query"] == "What dose should be used? spasticity multiple sclerosis"
    article = (built[0] / "muscle-spasm" / "article.md").read_text(encoding="utf-8")
    top = answer["passages"][0]
    assert top["text"] == article[top["start"] : top["end"]] and "10-20 mg" in top["text"]
    assert top["citations"] == [1] and top["tier"] == "guideline"
    assert {r["number"] for r in answer["references"]} >= {1}


def test_ask_abstains_plainly(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": "How do I reset my router?"}).json()
    assert answer["answered"] is False and answer["passages"] == [] and answer["references"] == []
    assert answer["not_covered"] == []
    quinine = client.post("/v1/ask", json={"question": "Is quinine good for leg cramps?"}).json()
    assert quinine["answered"] is False and quinine["not_covered"] == ["quinine"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"question": ""}, 422, "question"),
        ({"question": "   "}, 422, "must not be blank"),
        ({"question": "x" * 2001}, 422, "at most 2000 characters"),
        ({"question": "q", "history": ["h"] * 21}, 422, "at most 20 items"),
        ({"question": "q", "top_k": 0}, 422, "greater than or equal to 1"),
        ({"question": "q", "top_k": "5"}, 422, "Input should be a valid integer"),
        ({"question": "q", "top_k": True}, 422, "Input should be a valid integer"),
        ({"question": "q", "top_k": 2.0}, 422, "Input should be a valid integer"),
        ({"question": "q", "mode": "sparse"}, 422, "'bm25', 'dense' or 'hybrid'"),
        ({"question": "q", "extra": 1}, 422, "Extra inputs are not permitted"),
        ({"history": []}, 422, "Field required"),
        ({"question": "q", "article_id": "hiccups"}, 404, "unknown article 'hiccups'"),
        ({"question": "q", "tiers": ["guidline"]}, 422, "'guideline', 'drug_label', "),
        ({"question": "q", "tiers": []}, 422, "at least 1 item"),
        ({"question": "q", "tiers": "guideline"}, 422, "Input should be a valid list"),
        ({"question": "q", "since": 1200}, 422, "greater than or equal to 1600"),
        ({"question": "q", "since": "2015"}, 422, "Input should be a valid integer"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(
    client: TestClient, body: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.post("/v1/ask", json=body)
    assert response.status_code == status
    assert fragment in response.text
    assert "Traceback" not in response.text


def test_an_evidence_filter_answers_from_the_evidence_it_admits(client: TestClient) -> None:
    question = {"question": "What dose should be used?", "history": [MS]}
    everything = client.post("/v1/ask", json=question).json()
    assert {p["tier"] for p in everything["passages"]} >= {"guideline", "systematic_review"}
    reviews = client.post("/v1/ask", json=question | {"tiers": ["systematic_review", "rct"]}).json()
    assert reviews["answered"] and reviews["filter"] == {"tiers": ["systematic_review", "rct"], "since": None}
    assert {p["tier"] for p in reviews["passages"]} == {"systematic_review"}
    assert all(7 in p["citations"] for p in reviews["passages"])
    recent = client.post("/v1/ask", json=question | {"since": 2020}).json()
    years = {r["number"]: r["year"] for r in recent["references"]}
    assert recent["answered"] and all(any(years[n] >= 2020 for n in p["citations"]) for p in recent["passages"])
    # The sources answer it, but not from a drug label: the abstention says the filter left the answer out.
    labels = client.post("/v1/ask", json=question | {"tiers": ["drug_label"]}).json()
    assert not labels["answered"] and labels["excluded_by_filter"] and labels["passages"] == []
    assert labels["filter"] == {"tiers": ["drug_label"], "since": None}
    # Out of reach with or without a filter: the plain abstention.
    router = client.post("/v1/ask", json={"question": "How do I reset my router?", "tiers": ["guideline"]}).json()
    assert not router["answered"] and not router["excluded_by_filter"]


def test_malformed_json_and_oversized_bodies(client: TestClient) -> None:
    broken = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and "json" in broken.text.lower()
    huge = client.post("/v1/ask", content=json.dumps({"question": "x" * 70_000}),
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert huge.status_code == 413 and "over 65536 bytes" in huge.text

    def chunked_body() -> Iterator[bytes]:  # no Content-Length: sent in chunks, as curl -T - does
        yield b'{"question": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    chunked = client.post("/v1/ask", content=chunked_body(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413 and "over 65536 bytes" in chunked.text
    small = client.post("/v1/ask", content=iter([b'{"question": ', json.dumps(MS).encode(), b"}"]),
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert small.status_code == 200 and small.json()["answered"]


def test_no_stack_trace_reaches_a_client(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(client.app.state.live.current().answerer, "answer", broken)  # type: ignore[attr-defined]
    response = client.post("/v1/ask", json={"question": MS})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}


def test_articles_and_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index"]["counts"]["chunks"] > 0
    [summary] = client.get("/v1/articles").json()
    assert summary["id"] == "muscle-spasm" and summary["references"] == 7
    article = client.get("/v1/articles/muscle-spasm").json()
    assert [(r["number"], r["tier"]) for r in article["references"]][:2] == [(1, "guideline"), (2, "drug_label")]
    assert client.get("/v1/articles/hiccups").status_code == 404


def test_question_text_is_not_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    marker = "Patient Jane Roe, 54, asks: does baclofen help spasticity?"
    with caplog.at_level(logging.DEBUG):
        assert client.post("/v1/ask", json={"question": marker}).status_code == 200
    assert "POST /v1/ask 200" in caplog.text
    assert "Jane Roe" not in caplog.text


def test_control_bytes_of_a_path_are_escaped_in_the_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert client.get("/x%1b%5b2J%1b%5b31mRED%00").status_code == 404
    assert "GET /x\\x1b[2J\\x1b[31mRED\\x00 404" in caplog.text
    assert "\x1b" not in caplog.text and "\x00" not in caplog.text


def test_cors_allows_the_configured_origin_only(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/v1/ask", headers={"Origin": "https://chat.example", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "https://chat.example"
    other = client.options("/v1/ask", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


def test_api_key_guards_the_api_but_not_health(built: tuple[Path, Path], answerer: Answerer) -> None:
    app = create_app(ServiceSettings(index_dir=built[1], corpus_dir=built[0], api_key="s3cret"), answerer)
    with TestClient(app) as guarded:
        assert guarded.post("/v1/ask", json={"question": MS}).status_code == 401
        assert (
            guarded.post("/v1/ask", json={"question": MS}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert (
            guarded.post("/v1/ask", json={"question": MS}, headers={"Authorization": "Bearer s3cret"}).status_code
            == 200
        )
        assert guarded.get("/v1/articles", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert guarded.get("/healthz").status_code == 200 and guarded.get("/readyz").status_code == 200


def test_chat_completions_turn_messages_into_a_cited_markdown_answer(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": MS},
        {"role": "assistant", "content": "**Answer** · From the Guidelines ..."},
        {"role": "user", "content": [{"type": "text", "text": "What dose should be used?"}]},
    ]
    body = client.post("/v1/chat/completions", json={"model": "followup/muscle-spasm", "messages": messages,
                                                     "temperature": 0.2}).json()  # fmt: skip
    assert body["object"] == "chat.completion" and body["model"] == "followup/muscle-spasm"
    content = body["choices"][0]["message"]["content"]
    answer = body["followup"]["passages"][0]
    assert answer["role"] == "answer" and answer["tier"] == "guideline"
    # The answer first, headed with its tier, then the evidence under tier headings.
    assert content.startswith(
        f"**Answer** · From the Guidelines\n\n> {markdown_text(answer['display_text'])}\n"
        f"> — _{markdown_text(answer['source_label'])}_\n\n"
    )
    assert "10-20 mg three times daily" in answer["display_text"] and "\\[1\\]" in content
    assert content.index("**Answer**") < content.index("\n**From the") < content.index("**References**")
    assert body["followup"]["query"] == "What dose should be used? spasticity multiple sclerosis"


def test_chat_completions_stream_as_server_sent_events(client: TestClient) -> None:
    request = {"messages": [{"role": "user", "content": "Is Valium useful for muscle spasm?"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=request) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "useful adjunct for the relief of skeletal muscle spasm" in text
    assert chunks[1]["choices"][0]["delta"]["content"].startswith("**Answer** · ")  # the answer's heading first


@pytest.mark.parametrize(
    ("request_", "status", "fragment"),
    [
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "last message must come from the user"),
        ({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}, 400, "unknown model 'gpt-4'"),
        ({"model": "followup/hiccups", "messages": [{"role": "user", "content": "hi"}]}, 404, "unknown article"),
        ({"messages": []}, 422, "at least 1 item"),
    ],
)
def test_chat_completions_refuse_what_they_cannot_answer(
    client: TestClient, request_: dict[str, Any], status: int, fragment: str
) -> None:
    response = client.post("/v1/chat/completions", json=request_)
    assert response.status_code == status and fragment in response.text


def test_concurrent_requests_get_the_same_answers_as_serial_ones(live_server: str) -> None:
    questions = [MS, "Can water pills cause muscle cramps?", "What is the capital of France?",
                 "How long can Valium be used?", "Why do spasms happen after spinal cord injury?"]  # fmt: skip
    bodies = [{"question": q} for q in questions] + [{"question": "What dose should be used?", "history": [MS]}]

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
            serial = [(await http.post("/v1/ask", json=b)).json() for b in bodies]
            responses = await asyncio.gather(*(http.post("/v1/ask", json=b) for b in bodies * 5))
            return serial, [r.json() for r in responses]

    serial, concurrent = asyncio.run(run())
    assert concurrent == serial * 5


def test_every_passage_names_its_source_and_stands_in_its_source_text(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": "What dose should be used?", "history": [MS]}).json()
    places = [*answer["passages"], *(q for p in answer["passages"] for q in p["also_in"])]
    assert places
    for place in places:
        assert place["source_label"] and place["source_id"] not in place["source_label"]
        source = client.get(f"/v1/sources/{place['source_id']}")
        assert source.status_code == 200
        body = source.json()
        assert body["text"][place["start"] : place["end"]] == place["text"]
        assert any(s["start"] <= place["start"] and place["end"] <= s["end"] for s in body["sections"])
    labels = {p["source_label"] for p in answer["passages"]}
    assert any(label.startswith("This article · From the Guidelines") for label in labels)


def test_a_source_gives_its_text_sections_citations_and_reference(client: TestClient) -> None:
    article = client.get("/v1/sources/muscle-spasm").json()
    assert article["label"] == "This article" and article["reference"] is None
    assert article["citations"] and all(article["text"][m["start"] : m["end"]].strip() for m in article["citations"])
    assert ["From the Guidelines", "Treatment of Muscle Spasms"] in [s["heading"] for s in article["sections"]]
    review = client.get("/v1/sources/muscle-spasm/ref-7").json()
    assert review["label"] == "Chou 2004 · systematic review"
    assert review["reference"]["links"]["pubmed"] == "https://pubmed.ncbi.nlm.nih.gov/15276195/"
    assert review["reference"]["links"]["doi"].startswith("https://doi.org/10.1016/")
    label = client.get("/v1/sources/muscle-spasm/ref-2").json()
    assert label["label"] == "VALIUM label" and "dailymed" in label["reference"]["links"]
    missing = client.get("/v1/sources/muscle-spasm/ref-99")
    assert missing.status_code == 404 and "ref-99" in missing.json()["detail"]


CSL_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "csl" / "csl-data.json"


def test_an_article_s_references_export_as_ris_and_csl_json(live_server: str) -> None:
    url = f"{live_server}/v1/articles/muscle-spasm/references"
    ris = httpx.get(url, params={"format": "ris"}, timeout=30)
    assert ris.status_code == 200
    assert ris.headers["content-type"] == "application/x-research-info-systems; charset=utf-8"
    assert ris.headers["content-disposition"] == 'attachment; filename="muscle-spasm-references.ris"'
    assert ris.headers[BUILD_HEADER]
    assert ris.content.startswith(b"TY  - ") and ris.content.endswith(b"ER  - \r\n")
    records = rispy.loads(ris.content.decode("utf-8"), newline="\r\n")
    assert len(records) == 7
    assert records[6]["authors"] == ["Chou, R.", "Peterson, K.", "Helfand, M."]
    assert (records[6]["doi"], records[6]["accession_number"]) == ("10.1016/j.jpainsymman.2004.05.002", "15276195")

    csl = httpx.get(url, params={"format": "csl-json"}, timeout=30)
    assert csl.status_code == 200 and csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    assert csl.headers["content-disposition"] == 'attachment; filename="muscle-spasm-references.json"'
    items = csl.json()
    jsonschema.Draft7Validator(json.loads(CSL_SCHEMA.read_text(encoding="utf-8"))).validate(items)
    assert [item["id"] for item in items] == [f"muscle-spasm/ref-{n}" for n in range(1, 8)]
    assert items[1]["type"] == "report" and items[1]["author"] == [{"literal": "Roche Laboratories Inc."}]


@pytest.mark.parametrize(
    ("path", "params", "status", "fragment"),
    [
        ("/v1/articles/hiccups/references", {"format": "ris"}, 404, "unknown article 'hiccups'"),
        ("/v1/articles/muscle-spasm/references", {"format": "bibtex"}, 422, "'ris' or 'csl-json'"),
        ("/v1/articles/muscle-spasm/references", {}, 422, '"loc":["query","format"]'),
    ],
)
def test_the_export_refuses_an_unknown_article_or_format(
    live_server: str, path: str, params: dict[str, str], status: int, fragment: str
) -> None:
    response = httpx.get(live_server + path, params=params, timeout=30)
    assert response.status_code == status and fragment in response.text
    assert response.headers["content-type"] == "application/json" and "content-disposition" not in response.headers


def test_the_export_is_behind_the_api_key(built: tuple[Path, Path], answerer: Answerer) -> None:
    app = create_app(ServiceSettings(index_dir=built[1], corpus_dir=built[0], api_key="s3cret"), answerer)
    with TestClient(app) as guarded:
        path = "/v1/articles/muscle-spasm/references?format=ris"
        assert guarded.get(path).status_code == 401
        assert guarded.get(path, headers={"X-API-Key": "s3cret"}).status_code == 200
