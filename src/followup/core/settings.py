"""What the environment configures, read in one place, and the default paths beside it.

Each variable, its setting, its default and what reads it:

    FOLLOWUP_CORPUS         corpus_dir     "corpus"   the --corpus default of every command
    FOLLOWUP_INDEX          index_dir      "index"    the --index default of every command
    FOLLOWUP_CORS_ORIGINS   cors_origins   none       `serve`: browser origins allowed besides --cors-origin's,
                                                      comma-separated
    FOLLOWUP_API_KEY        api_key        none       `serve`: the key /v1/* then requires
    FOLLOWUP_BACKEND        backend        none       `index`, `serve`: the backend when --backend is not given;
                                                      unset, the index stays on the backend it is on (or embedded)
    FOLLOWUP_MILVUS_URI     milvus_uri     none       `index`, `serve`, `eval`: the server when --milvus-uri is not
                                                      given; loading a build on Milvus, the address used instead of
                                                      the one its manifest records
    FOLLOWUP_MILVUS_ENGINE  milvus_engine  none       `index`, `serve`, `eval`: when --milvus-engine is not given;
                                                      unset, the engine the build records (or server)

An empty variable counts as unset, except FOLLOWUP_CORPUS and FOLLOWUP_INDEX, which then name the path ""
(the working directory) as they always have. Values are not checked here: a wrong backend or engine name
is refused by the command that uses it (index/backends/choice.py), never by `--help`.

Variables that configure third-party libraries (Hugging Face's offline flags in embed/torch_encoder.py,
Ray's in embed/ray_job.py) are not settings: those modules set their defaults themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS = Path("corpus")  # one folder per article (docs/corpus.md)
DEFAULT_INDEX = Path("index")  # index/layout.py
DEFAULT_SUITE = Path("evals/muscle-spasm-suite.jsonl")  # what `followup eval` answers without a TARGET
DEFAULT_RUNS = Path("evals/runs")  # where `followup eval` writes its run folders
DEFAULT_EMBEDDING_CACHE = Path(".cache/embeddings")  # embeddings of benchmark corpora, kept between evals


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = DEFAULT_CORPUS
    index_dir: Path = DEFAULT_INDEX
    cors_origins: tuple[str, ...] = ()
    api_key: str | None = None
    backend: str | None = None
    milvus_uri: str | None = None
    milvus_engine: str | None = None
    eval_suite: Path = DEFAULT_SUITE
    runs_dir: Path = DEFAULT_RUNS
    embedding_cache: Path = DEFAULT_EMBEDDING_CACHE

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings `environ` gives, each variable read once; the defaults for the rest."""
        origins = environ.get("FOLLOWUP_CORS_ORIGINS", "")
        return cls(
            corpus_dir=Path(environ.get("FOLLOWUP_CORPUS", str(DEFAULT_CORPUS))),
            index_dir=Path(environ.get("FOLLOWUP_INDEX", str(DEFAULT_INDEX))),
            cors_origins=tuple(origin.strip() for origin in origins.split(",") if origin),
            api_key=environ.get("FOLLOWUP_API_KEY") or None,
            backend=environ.get("FOLLOWUP_BACKEND") or None,
            milvus_uri=environ.get("FOLLOWUP_MILVUS_URI") or None,
            milvus_engine=environ.get("FOLLOWUP_MILVUS_ENGINE") or None,
        )
