"""The MedQuAD library (bench/scale.py) on Milvus beside the embedded backend: the same build written
to a collection, then its test questions through the whole answer pipeline on both backends.

The Milvus index directory starts as a hard-linked copy of the library's embedded index, so its build
embeds nothing: its time is what the backend adds (records reused, the collection written, indexed and
loaded). Reported: build seconds and chunks/s beyond embedding; hybrid and scoped `answer()` p50/p99
on each backend (one encoder thread, after 10 warm-up questions); how many questions got the same
ranking (chunk ids in order, the fused candidates the answer stage reads) and the same passages from
both. MedQuAD's articles cite nothing, and uncited text is never shown as evidence, so their answers
are abstentions: the rankings are the comparison that says something here.

    python bench/milvus_library.py [--library .cache/medquad-library] [--queries 200] [--milvus-uri URI]

Without --milvus-uri a milvus-lite 2.5.1 engine is started for the run (its data under the library).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# tests.milvus_engine: the milvus-lite engine process the backend tests start
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.milvus_engine import MilvusLiteEngine

from followup.answerer import Answerer
from followup.core.settings import MilvusEngine
from followup.core.types import AskRequest
from followup.index.backend_choice import BackendChoice
from followup.index.build import build_index
from followup.present.contract import Answer
from scale import LIBRARY, library_queries, percentiles_ms


@contextlib.contextmanager
def engine_uri(uri: str | None, data_dir: Path) -> Iterator[tuple[str, MilvusEngine]]:
    """(uri, engine kind): the server given, or a milvus-lite engine for the run."""
    if uri:
        yield uri, "server"
        return
    with MilvusLiteEngine(data_dir) as running:
        yield running.uri, "lite"


def passages(answer: Answer) -> list[tuple[str, int, int, str]]:
    return [(p.source_id, p.start, p.end, p.role.value) for p in answer.passages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, default=LIBRARY)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--milvus-uri", help="a Milvus server; default: a milvus-lite engine for the run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    corpus, embedded_index = args.library / "corpus", args.library / "index"
    milvus_index = args.library / "milvus-index"
    if not (embedded_index / "CURRENT").is_file():
        raise SystemExit(f"{embedded_index}: build the library first (python bench/scale.py)")
    report: dict[str, Any] = {}
    with engine_uri(args.milvus_uri, args.library / "milvus-engine") as (uri, kind):
        if milvus_index.exists():
            shutil.rmtree(milvus_index)
        subprocess.run(["cp", "-al", str(embedded_index), str(milvus_index)], check=True)  # embeddings reused
        started = time.perf_counter()
        built = build_index(corpus, milvus_index, backend=BackendChoice("milvus", uri, kind))
        seconds = time.perf_counter() - started
        report["build"] = {"engine": kind, "seconds": seconds, "chunks": built.chunks,
                           "embedded": built.embedded, "chunks_per_second": built.chunks / seconds}  # fmt: skip
        queries = library_queries(args.queries)
        answerers = {name: Answerer.load(index, corpus) for name, index in
                     (("embedded", embedded_index), ("milvus", milvus_index))}  # fmt: skip
        answers: dict[str, dict[str, list[tuple[list[int], list[tuple[str, int, int, str]]]]]] = {}
        for name, answerer in answerers.items():
            answers[name] = {}
            for label, requests in (
                ("hybrid", [AskRequest(q.text) for q in queries]),
                ("hybrid_scoped", [AskRequest(q.text, article_id=q.article) for q in queries]),
            ):
                for request in requests[:10]:
                    answerer.answer(request)  # warm-up
                times, found = [], []
                for request in requests:
                    begin = time.perf_counter()
                    answer = answerer.answer(request)
                    times.append(time.perf_counter() - begin)
                    ranking = [c for c, _ in answerer.retrieve(request).ranking]
                    found.append((ranking, passages(answer)))
                answers[name][label] = found
                report.setdefault(name, {})[label] = percentiles_ms(times)
            print(f"{name}: {len(queries)} questions asked", file=sys.stderr)
        for label in ("hybrid", "hybrid_scoped"):
            pairs = list(zip(answers["embedded"][label], answers["milvus"][label], strict=True))
            report.setdefault("same", {})[label] = {"ranking": sum(a[0] == b[0] for a, b in pairs),
                                                    "passages": sum(a[1] == b[1] for a, b in pairs)}  # fmt: skip
        report["answered"] = sum(bool(p) for _, p in answers["embedded"]["hybrid"])
        report["queries"] = len(queries)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    b = report["build"]
    print(f"build on Milvus ({b['engine']}): {b['seconds']:.1f} s for {b['chunks']} chunks, {b['embedded']} embedded "
          f"({b['chunks_per_second']:.0f} chunks/s beyond embedding)")  # fmt: skip
    for name in ("embedded", "milvus"):
        for label in ("hybrid", "hybrid_scoped"):
            f = report[name][label]
            print(f"{name:8} {label:13}: p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms")
    for label, same in report["same"].items():
        print(f"same ranking ({label}): {same['ranking']}/{report['queries']}, "
              f"same passages: {same['passages']}/{report['queries']}")  # fmt: skip
    print(f"questions answered with passages (embedded, hybrid): {report['answered']}/{report['queries']}")


if __name__ == "__main__":
    main()
