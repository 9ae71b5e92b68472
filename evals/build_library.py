"""Build the development library: the bundled corpus and every article of evals/articles/ (JATS XML,
added as `followup add` adds it), indexed as `followup index` indexes it. `followup eval
evals/articles/follow-ups.jsonl` then asks each follow-up scoped to its article in that library.

    python evals/build_library.py [OUT_DIR]     (default build/library: OUT_DIR/corpus, OUT_DIR/index)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from followup.ingest.add import add_article

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "evals" / "articles"


def build_library(out: Path) -> None:
    corpus = out / "corpus"
    staging = out / ".corpus-new"  # the corpus is rebuilt aside, then put in place whole
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", staging)
    folders = sorted(p.parent for p in ARTICLES.glob("*/article.xml"))
    for n, folder in enumerate(folders, start=1):
        added = add_article(folder / "article.xml", staging, article_id=folder.name)
        print(f"[{n}/{len(folders)}] {folder.name}: {added.blocks} blocks, {added.citations} citations", flush=True)
    shutil.rmtree(corpus, ignore_errors=True)
    staging.rename(corpus)
    followup = Path(sys.executable).with_name("followup")
    subprocess.run([str(followup), "index", "--corpus", str(corpus), "--index", str(out / "index")], check=True)


if __name__ == "__main__":
    build_library(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "library")
