"""MedQuAD as a library of articles: each NIH source page becomes one followup article.

The BEIR sample's 15,809 answers have ids like `CancerGov_0000001_1_Sec3`: the first two parts name the
source page (5,401 pages). Each page becomes `corpus/<source>_<number>/` (lower-cased) with an
`article.md` holding one `##` section per answer, titled with the answer's title, its text verbatim. The
pages carry no numbered references, so every passage is of the `unreferenced` tier: this corpus measures
indexing and retrieval at library scale, not evidence ranking.

    python bench/medquad_library.py [--beir ../shared/benchmarks/medquad] [--out .cache/medquad-library/corpus]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BEIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "medquad"
DEFAULT_OUT = Path(".cache/medquad-library/corpus")
_ASPECT = re.compile(r"\s*\([^()]*\)\s*$")  # "Adult ALL (symptoms)" -> the page title "Adult ALL"


@dataclass(frozen=True)
class Answer:
    id: str
    title: str
    text: str


def article_id(answer_id: str) -> str:
    """`CancerGov_0000001_1_Sec3` -> `cancergov_0000001`: the source page the answer comes from."""
    return "_".join(answer_id.split("_")[:2]).lower()


def read_answers(beir_dir: Path) -> Iterator[Answer]:
    with (beir_dir / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["text"].strip():
                yield Answer(record["_id"], record.get("title", "").strip(), record["text"].strip())


def group_by_article(answers: Iterator[Answer]) -> dict[str, list[Answer]]:
    groups: dict[str, list[Answer]] = {}
    for answer in answers:
        groups.setdefault(article_id(answer.id), []).append(answer)
    return groups


def article_markdown(title: str, answers: list[Answer]) -> str:
    sections = [f"## {a.title or a.id}\n\n{a.text}\n" for a in answers]
    return f"# {title}\n\n" + "\n".join(sections)


def write_article(folder: Path, answers: list[Answer]) -> None:
    title = _ASPECT.sub("", answers[0].title) or folder.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "article.md").write_text(article_markdown(title, answers), encoding="utf-8")
    meta = {"id": folder.name, "title": title, "last_updated": "2019-01-01", "text_file": "article.md"}
    (folder / "article.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (folder / "references.json").write_text('{"references": []}\n', encoding="utf-8")


def write_library(beir_dir: Path, out: Path, limit: int | None = None) -> dict[str, list[Answer]]:
    """Write the library into `out` (replacing it); returns the answers of each article written."""
    groups = group_by_article(read_answers(beir_dir))
    chosen = dict(list(groups.items())[:limit]) if limit else groups
    if out.exists():
        shutil.rmtree(out)
    for done, (name, answers) in enumerate(chosen.items(), start=1):
        write_article(out / name, answers)
        if done % 500 == 0 or done == len(chosen):
            print(f"\rwriting articles: {done}/{len(chosen)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    (out / "PROVENANCE.md").write_text(
        f"Written by bench/medquad_library.py from {beir_dir}/corpus.jsonl (MedQuAD, CC BY 4.0, Ben Abacha &\n"
        "Demner-Fushman, BMC Bioinformatics 2019;20:511): one article per source page, answers verbatim.\n",
        encoding="utf-8",
    )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=DEFAULT_BEIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = parser.parse_args()
    chosen = write_library(args.beir, args.out, args.limit)
    answers = sum(len(a) for a in chosen.values())
    print(f"{len(chosen)} articles, {answers} answers -> {args.out}")


if __name__ == "__main__":
    main()
