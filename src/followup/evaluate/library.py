"""The development library: the bundled corpus and the graded articles of evals/articles/ (JATS XML,
added as `followup add` adds them), indexed as `followup index` indexes it. The graded follow-ups are
asked in it, each scoped to its article, so every article is answered from a library, as a
publisher's would be."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from followup.index.build import BuildResult, build_index
from followup.ingest.add import add_article

log = logging.getLogger(__name__)
ARTICLE_XML = "article.xml"


def build_library(out: Path, corpus_dir: Path, articles_dir: Path) -> tuple[Path, Path, BuildResult]:
    """(corpus, index, build) under `out`. The corpus is written aside and put in place whole; an
    index whose corpus did not change is kept (nothing is embedded again)."""
    corpus, staging = out / "corpus", out / ".corpus-new"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(corpus_dir, staging)
    folders = sorted(p.parent for p in articles_dir.glob(f"*/{ARTICLE_XML}"))
    for n, folder in enumerate(folders, start=1):
        added = add_article(folder / ARTICLE_XML, staging, article_id=folder.name)
        log.info("[%d/%d] %s: %d blocks, %d citations", n, len(folders), folder.name, added.blocks, added.citations)
    shutil.rmtree(corpus, ignore_errors=True)
    staging.rename(corpus)
    return corpus, out / "index", build_index(corpus, out / "index")
