"""The `followup` command as a user runs it: a separate process, the real model and index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from followup.answerer import Answerer
from followup.core.errors import IndexProblem
from followup.core.types import AskRequest
from followup.index.build import build_index
from followup.index.digests import BLOCK_BYTES
from followup.index.layout import current_build
from followup.index.reader import load_index

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"


def followup(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "followup.cli", *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def locations(built: tuple[Path, Path]) -> list[str]:
    return ["--corpus", str(built[0]), "--index", str(built[1])]


def test_reindexing_an_unchanged_corpus_does_no_work(built: tuple[Path, Path]) -> None:
    before = current_build(built[1]).path
    result = followup("index", *locations(built))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert current_build(built[1]).path == before


def test_ask_json_follows_the_contract(built: tuple[Path, Path]) -> None:
    result = followup("ask", "--json", "What dose should be used?", "--history", MS, *locations(built))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"] is True
    assert answer["query"] == "What dose should be used? spasticity multiple sclerosis"
    article = (built[0] / "muscle-spasm" / "article.md").read_text(encoding="utf-8")
    top = answer["passages"][0]
    assert top["source_id"] == "muscle-spasm" and top["tier"] == "guideline" and top["citations"] == [1]
    assert top["text"] == article[top["start"] : top["end"]]
    assert "10-20 mg three times daily" in top["text"]
    assert {r["number"] for r in answer["references"]} >= {1}


def test_ask_jsonl_answers_each_line_and_reports_bad_ones(built: tuple[Path, Path]) -> None:
    requests = [
        {"id": "a", "question": MS},
        {"id": "b", "question": "What dose should be used?", "history": [MS]},
        {"id": "c", "question": "What is the capital of France?"},
        {"id": "d", "question": MS, "article_id": "hiccups"},
        "not json",
    ]
    stdin = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n"
    result = followup("ask", "--jsonl", *locations(built), stdin=stdin)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == ["a", "b", "c", "d", None]
    assert lines[0]["answered"] and lines[1]["answered"] and not lines[2]["answered"]
    assert "unknown article 'hiccups'" in lines[3]["error"]
    assert lines[4]["line"] == 5 and "invalid JSON" in lines[4]["error"]
    assert "2 request(s) failed" in result.stderr


def test_human_output_groups_by_tier_and_lists_references(built: tuple[Path, Path]) -> None:
    result = followup("ask", MS, *locations(built))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The answer first, under its tier's name; then the evidence under tier headings.
    assert out.index("Answer · ") < out.index("\nFrom the Guidelines\n") < out.index("References")
    assert "10-20 mg three times daily, may be used to alleviate symptoms of muscle spasms in conditions like " \
           "multiple sclerosis [1]." in out  # fmt: skip
    assert "[7] Chou R, Peterson K, Helfand M." in out
    assert MS not in result.stderr  # questions may hold patient details: never logged


def test_human_output_says_plainly_when_the_sources_do_not_answer(built: tuple[Path, Path]) -> None:
    result = followup("ask", "How do I reset my router?", *locations(built))
    assert result.returncode == 0, result.stderr
    assert "The article and its references do not answer this question." in result.stdout
    assert "From the" not in result.stdout


def test_ask_answers_from_the_evidence_the_filter_names(built: tuple[Path, Path]) -> None:
    question = ["What dose should be used?", "--history", MS, *locations(built)]
    reviews = followup("ask", *question, "--tier", "systematic_review", "--tier", "rct")
    assert reviews.returncode == 0, reviews.stderr
    assert "(only systematic reviews or randomised trials)" in reviews.stdout
    assert (
        "Answer · From the Research: systematic reviews" in reviews.stdout
        and "From the Guidelines" not in reviews.stdout
    )
    labels = followup("ask", *question, "--tier", "drug_label", "--since", "2000")
    assert labels.returncode == 0, labels.stderr
    assert "The evidence your filter admits (drug labels, published 2000 or later) does not answer this question; " \
           "the article and its references answer it from evidence the filter excluded." in labels.stdout  # fmt: skip
    wrong = followup("ask", *question, "--tier", "guidelines")
    assert wrong.returncode == 2 and "invalid choice: 'guidelines'" in wrong.stderr
    early = followup("ask", *question, "--since", "99")
    assert early.returncode == 1 and "since must be a year from 1600 to 2999, not 99" in early.stderr
    lines = [{"question": MS, "tiers": ["drug_label"]}, {"question": MS, "since": 2030}, {"question": MS, "tiers": "x"}]
    jsonl = followup("ask", "--jsonl", *locations(built), stdin="\n".join(map(json.dumps, lines)) + "\n")
    answers = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert answers[0]["answered"] and {p["tier"] for p in answers[0]["passages"]} == {"drug_label"}
    assert not answers[1]["answered"] and answers[1]["excluded_by_filter"]
    assert answers[2]["error"] == "tiers must be a list of tier names" and jsonl.returncode == 1


def test_stale_index_is_refused_until_rebuilt(built: tuple[Path, Path], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(built[0], corpus)
    article = corpus / "muscle-spasm" / "article.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nAn added sentence 1.\n", encoding="utf-8")
    result = followup("ask", MS, "--corpus", str(corpus), "--index", str(built[1]))
    assert result.returncode == 1
    assert "the index is stale" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_index_is_refused(built: tuple[Path, Path], tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(built[1], index)
    vectors = current_build(index).path / "chunk-vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF
    vectors.write_bytes(bytes(data))
    result = followup("ask", MS, "--corpus", str(built[0]), "--index", str(index))
    assert result.returncode == 1
    assert "chunk-vectors.faiss: corrupt" in result.stderr and "Traceback" not in result.stderr


def test_a_changed_byte_with_its_size_and_time_kept_is_refused(built: tuple[Path, Path], tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(built[1], index)
    documents = current_build(index).path / "documents.bin"
    before = documents.stat()
    data = bytearray(documents.read_bytes())
    at = data.index(b"mg")  # a dose's unit: the kind of byte that must never change silently
    data[at - 2] = ord("9") if data[at - 2] != ord("9") else ord("8")
    documents.write_bytes(bytes(data))
    os.utime(documents, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert documents.stat().st_size == before.st_size and documents.stat().st_mtime_ns == before.st_mtime_ns
    result = followup("ask", "What dose of baclofen is used?", "--corpus", str(built[0]), "--index", str(index))
    assert result.returncode == 1
    assert "documents.bin: corrupt" in result.stderr and "Traceback" not in result.stderr


def test_a_changed_token_vector_is_refused_when_the_question_reads_it(built: tuple[Path, Path], tmp_path: Path) -> None:
    """`followup ask` checks the segments' token vectors as the question reads them, not at load: a byte
    changed in every block is refused as soon as the question scores a passage."""
    index = tmp_path / "index"
    shutil.copytree(built[1], index)
    values = next(current_build(index).path.glob("segment-*.token-values.npy"))
    before = values.stat()
    data = bytearray(values.read_bytes())
    for at in range(len(data) - 1, 0, -BLOCK_BYTES):  # the last byte of every block, header included
        data[at] ^= 0x01
    values.write_bytes(bytes(data))
    os.utime(values, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = followup("ask", MS, "--corpus", str(built[0]), "--index", str(index))
    assert result.returncode == 1
    assert f"{values.name}: corrupt (bytes " in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(IndexProblem, match=r"token-values\.npy: corrupt"):  # a service checks every byte at load
        Answerer.load(index, built[0])


def test_an_interrupted_rebuild_leaves_the_previous_index_in_use(
    built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built[0], corpus)
    shutil.copytree(built[1], index)
    previous = current_build(index).path

    def disk_full(path: object, *_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(np, "save", disk_full)
    with pytest.raises(IndexProblem, match=r"\.npy: No space left on device; the index was not updated and the build "
                                           "in use is unchanged"):  # fmt: skip
        build_index(corpus, index, force=True)
    monkeypatch.undo()
    assert current_build(index).path == previous
    assert [p.name for p in (index / "builds").iterdir() if p.name.startswith(".tmp-")] == []
    assert Answerer.load(index, corpus).answer(AskRequest(MS)).answered


def test_articles_lists_references_with_their_tiers(built: tuple[Path, Path]) -> None:
    result = followup("articles", "--index", str(built[1]))
    assert result.returncode == 0, result.stderr
    assert "muscle-spasm: What are the causes of muscle spasm? (last updated 2025-02-16)" in result.stdout
    assert "[2] drug_label" in result.stdout and "[3] unreferenced" in result.stdout


def test_changing_one_sentence_re_embeds_only_its_texts(built: tuple[Path, Path], tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built[0], corpus)
    shutil.copytree(built[1], index)
    unchanged = build_index(corpus, index, force=True)
    assert unchanged.rebuilt and unchanged.embedded == 0
    article = corpus / "muscle-spasm" / "article.md"
    text = article.read_text(encoding="utf-8")
    edited = text.replace("poor skin hygiene, or decreased function", "poor skin care, or decreased function")
    article.write_text(edited, encoding="utf-8")
    changed = build_index(corpus, index)
    # Its chunk only (one pass for its vector and token vectors, two short ones for the sentence); the
    # other chunks' rows are linked from the build before, not copied.
    assert changed.rebuilt and changed.embedded == 1
    segments = changed.location.path.glob("segment-*.vectors.npy")
    assert sorted(np.load(p, mmap_mode="r").shape[0] for p in segments) == [1, 49]
    answer = Answerer.load(index, corpus).answer(AskRequest("Can tizanidine help spasticity that hurts skin care?"))
    assert any("poor skin care" in p.text for p in answer.passages)


def test_an_incremental_build_equals_a_fresh_one(built: tuple[Path, Path], tmp_path: Path) -> None:
    corpus, index, fresh = tmp_path / "corpus", tmp_path / "index", tmp_path / "fresh"
    shutil.copytree(built[0], corpus)
    shutil.copytree(built[1], index)
    shutil.copytree(built[1] / "embeddings", fresh / "embeddings")  # the exported model only
    article = corpus / "muscle-spasm" / "article.md"
    article.write_text(article.read_text(encoding="utf-8").replace("poor skin hygiene", "poor skin care"), "utf-8")
    reference = next((corpus / "muscle-spasm" / "references").glob("7-*"))
    reference.write_text(reference.read_text(encoding="utf-8") + "\nBaclofen was compared with placebo.\n", "utf-8")
    incremental, full = build_index(corpus, index), build_index(corpus, fresh)
    assert 0 < incremental.embedded < full.embedded == full.chunks
    one, other = load_index(index), load_index(fresh)
    assert list(one.chunks) == list(other.chunks) and one.articles == other.articles
    assert [one.documents[d] for d in one.documents] == [other.documents[d] for d in other.documents]
    assert one.medication_names_by_article == other.medication_names_by_article
    assert one.article_initials() == other.article_initials() and one.article_initials()["muscle-spasm"]
    questions = ["What causes muscle spasm?", "Was baclofen compared with placebo?", "Does poor skin care matter?"]
    for question in questions:
        assert Answerer.load(index).answer(AskRequest(question)) == Answerer.load(fresh).answer(AskRequest(question))


def test_a_reader_that_stops_early_gets_no_traceback(built: tuple[Path, Path]) -> None:
    # `followup ask ... | head -1`: the pipe closes before the answer is written.
    process = subprocess.Popen(
        [sys.executable, "-m", "followup.cli", "ask", MS, *locations(built)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
