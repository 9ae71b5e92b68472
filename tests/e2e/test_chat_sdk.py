"""The chat endpoint as a chatbot frontend uses it: the real OpenAI Python SDK against the real server.
Each quoted passage is a `url_citation` annotation over exactly its quote in the content (in the final
chunk when streamed), pointing at the source; the evidence filter travels as an extra body field."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openai import OpenAI

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"


@pytest.fixture(scope="module")
def sdk(live_server: str) -> OpenAI:
    return OpenAI(base_url=f"{live_server}/v1", api_key="unused-on-loopback", max_retries=0)


def unquoted(markdown: str) -> str:
    """The words a quote's Markdown shows: each line after the first behind its "> ", escapes undone."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\n> ", "\n"))


def check_annotations(content: str, annotations: list[Any], passages: list[dict[str, Any]], server: str) -> None:
    assert len(annotations) == len(passages) > 0
    for annotation, passage in zip(annotations, passages, strict=True):
        assert annotation.type == "url_citation"
        cited = annotation.url_citation
        assert unquoted(content[cited.start_index : cited.end_index]) == passage["display_text"]
        assert cited.title == passage["source_label"]
        if "/" in passage["source_id"]:  # a reference's text: its PubMed, DOI or DailyMed page when it has one
            assert cited.url.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/",
                                         "https://dailymed.nlm.nih.gov/", server))  # fmt: skip
        else:  # the article: this server's page, the passage's offsets in the address
            assert cited.url.startswith(f"{server}/?article=muscle-spasm&source=muscle-spasm&")
            assert f"start={passage['start']}&end={passage['end']}" in cited.url


def test_the_sdk_reads_each_quote_as_a_url_citation(sdk: OpenAI, live_server: str) -> None:
    reply = sdk.chat.completions.create(
        model="followup/muscle-spasm",
        messages=[{"role": "user", "content": MS}, {"role": "user", "content": "What dose should be used?"}],
    )
    message = reply.choices[0].message
    assert message.content and message.annotations
    passages = reply.model_extra["followup"]["passages"]  # type: ignore[index]
    check_annotations(message.content, message.annotations, passages, live_server)
    first = message.annotations[0].url_citation
    assert "10-20 mg three times daily" in message.content[first.start_index : first.end_index]
    # The reference with a PMID opens on PubMed; the article's own passage opens where it stands, on the page.
    urls = {a.url_citation.title: a.url_citation.url for a in message.annotations}
    assert urls["Chou 2004 · systematic review · Abstract"] == "https://pubmed.ncbi.nlm.nih.gov/15276195/"
    page = httpx.get(first.url, timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_a_stream_ends_with_the_same_annotations(sdk: OpenAI, live_server: str) -> None:
    request: dict[str, Any] = {"model": "followup", "messages": [{"role": "user", "content": "Is Valium useful for "
                                                                  "muscle spasm?"}]}  # fmt: skip
    whole = sdk.chat.completions.create(**request)
    chunks = list(sdk.chat.completions.create(**request, stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == whole.choices[0].message.content
    final = chunks[-1].choices[0]
    assert final.finish_reason == "stop"
    streamed = (final.delta.model_extra or {})["annotations"]
    assert streamed == [a.model_dump() for a in whole.choices[0].message.annotations or []]
    assert all(not (c.choices[0].delta.model_extra or {}).get("annotations") for c in chunks[:-1])
    for annotation in streamed:
        cited = annotation["url_citation"]
        assert content[cited["start_index"] : cited["end_index"]].strip()


def test_the_evidence_filter_travels_as_an_extra_body_field(sdk: OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "What dose of baclofen is used?"}]
    reviews = sdk.chat.completions.create(model="followup", messages=messages,
                                          extra_body={"tiers": ["systematic_review"]})  # fmt: skip
    answer = reviews.model_extra["followup"]  # type: ignore[index]
    assert answer["answered"] and answer["filter"] == {"tiers": ["systematic_review"], "since": None}
    assert {p["tier"] for p in answer["passages"]} == {"systematic_review"}
    assert (reviews.choices[0].message.content or "").startswith("_Only systematic reviews_")
    labels = sdk.chat.completions.create(model="followup", messages=messages, extra_body={"tiers": ["drug_label"]})
    refused = labels.model_extra["followup"]  # type: ignore[index]
    assert not refused["answered"] and refused["excluded_by_filter"] and refused["passages"] == []
    assert (labels.choices[0].message.content or "").startswith("The evidence your filter admits (drug labels)")
    assert labels.choices[0].message.annotations == []
