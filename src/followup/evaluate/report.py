"""An evaluation's output: terminal table, JSON, and a run folder (JSON, Markdown, per-query rows, chart);
and the comparison of two run folders."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from followup.core.errors import FollowupError

RESULTS = "results.json"
PER_QUERY = "per-query.jsonl"
REPORT = "report.md"
CHART = "recall.png"


def table(results: Mapping[str, Mapping[str, float]], latency: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """Modes as rows, metrics as columns, fixed width for a terminal."""
    measures = list(next(iter(results.values())).keys()) if results else []
    head = ["mode", *measures] + (["p50 ms", "p95 ms"] if latency else [])
    rows = [head]
    for mode, values in results.items():
        row = [mode, *(f"{values[m]:.4f}" for m in measures)]
        if latency:
            row += [f"{latency[mode]['p50']:.1f}", f"{latency[mode]['p95']:.1f}"]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(
    results: Mapping[str, Mapping[str, float]], latency: Mapping[str, Mapping[str, float]] | None
) -> str:
    measures = list(next(iter(results.values())).keys()) if results else []
    head = ["mode", *measures] + (["p50 ms", "p95 ms"] if latency else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mode, values in results.items():
        cells = [mode, *(f"{values[m]:.4f}" for m in measures)]
        if latency:
            cells += [f"{latency[mode]['p50']:.1f}", f"{latency[mode]['p95']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_run(
    runs_dir: Path, summary: dict[str, Any], rows: list[dict[str, Any]], curves: dict[str, dict[str, float]]
) -> Path:
    """A new folder under runs_dir with everything about this evaluation; returns its path."""
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{summary['suite']}-{summary['split']}"
    folder = runs_dir / name
    folder.mkdir(parents=True, exist_ok=False)
    (folder / RESULTS).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with (folder / PER_QUERY).open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    sections = [
        f"# Evaluation: {summary['suite']} ({summary['split']})",
        "",
        f"Run {name}; followup {summary.get('followup_version')}; {summary.get('queries')} queries.",
        "",
        "## Retrieval",
        "",
        markdown_table(summary["results"], summary.get("latency_ms")),
    ]
    if summary.get("answers"):
        sections += ["", "## Answers", "", markdown_table(summary["answers"], None)]
    if summary.get("settings"):
        sections += ["", "## Settings", "", "```json", json.dumps(summary["settings"], indent=2), "```"]
    if curves:
        _chart(curves, folder / CHART, f"{summary['suite']} ({summary['split']})")
        sections += ["", f"![recall at k]({CHART})"]
    (folder / REPORT).write_text("\n".join(sections) + "\n", encoding="utf-8")
    return folder


def _chart(curves: dict[str, dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for mode, curve in curves.items():
        ks = [int(name.split("@")[1]) for name in curve]
        ax.plot(ks, list(curve.values()), marker="o", label=mode)
    ax.set_xscale("log")
    ax.set_xlabel("k (documents or chunks retrieved)")
    ax.set_ylabel("recall@k")
    ax.set_title(f"Recall at k: {title}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def compare_runs(first: Path, second: Path, measure: str | None = None, limit: int = 15) -> str:
    """Mean change per mode and the queries that got most better or worse, from per-query rows."""
    measure = measure or ("hit@3" if "answers" in _summary(first) else "nDCG@10")
    a, b = _load_rows(first, measure), _load_rows(second, measure)
    lines = [f"comparing {first.name} -> {second.name} on {measure}"]
    for mode in sorted(set(a) & set(b)):
        common = sorted(set(a[mode]) & set(b[mode]))
        deltas = [(q, b[mode][q] - a[mode][q]) for q in common]
        mean_a = sum(a[mode][q] for q in common) / max(len(common), 1)
        mean_b = sum(b[mode][q] for q in common) / max(len(common), 1)
        better = sorted((d for d in deltas if d[1] > 0), key=lambda d: -d[1])
        worse = sorted((d for d in deltas if d[1] < 0), key=lambda d: d[1])
        lines += ["", f"{mode}: {mean_a:.4f} -> {mean_b:.4f} ({mean_b - mean_a:+.4f}) over {len(common)} queries; "
                  f"{len(better)} better, {len(worse)} worse"]  # fmt: skip
        lines += [f"  + {delta:+.3f}  {q}" for q, delta in better[:limit]]
        lines += [f"  - {delta:+.3f}  {q}" for q, delta in worse[:limit]]
    return "\n".join(lines)


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / RESULTS
    if not path.is_file():
        raise FollowupError(f"{folder}: not a run folder (no {RESULTS})")
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return summary


def _load_rows(folder: Path, measure: str) -> dict[str, dict[str, float]]:
    """{mode: {query id: value}} for queries where the measure applies."""
    path = folder / PER_QUERY
    if not path.is_file():
        raise FollowupError(f"{folder}: not a run folder (no {PER_QUERY})")
    by_mode: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if measure in row["metrics"]:
                by_mode.setdefault(row["mode"], {})[row["query_id"]] = row["metrics"][measure]
    if not by_mode:
        raise FollowupError(f"{path}: no per-query values for {measure!r}")
    return by_mode


def summary_tables(summary: Mapping[str, Any]) -> str:
    """What `followup eval` shows on stderr: the retrieval table, the rerank's added latency, the
    answers table of a suite, and a graded suite's figures by article."""
    retrieval = summary.get("retrieval", summary["results"])
    lines = [f"\n{summary['suite']} ({summary['split']}, {summary['queries']} queries): retrieval",
             table(retrieval, summary["latency_ms"])]  # fmt: skip
    for mode, added in summary.get("added_latency_ms", {}).items():
        lines.append(f"{mode}: the rerank adds p50 {added['p50']:.1f} ms, p95 {added['p95']:.1f} ms a query (p50 of "
                     f"its parts: query token pass {added['query_pass_p50']:.1f} ms, scoring and blend "
                     f"{added['scoring_p50']:.1f} ms)")  # fmt: skip
    if summary.get("answers"):
        lines += [f"\n{summary['suite']} ({summary['split']}): answers", table(summary["answers"])]
    for mode, articles in summary.get("by_article", {}).items():
        lines += [f"\n{summary['suite']} ({summary['split']}), {mode}: by article", table(articles)]
    return "\n".join(lines)
