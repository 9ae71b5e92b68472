"""The environment, read in one place: each variable, its default, and what reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.cli import _parser
from followup.core.errors import IndexProblem
from followup.core.settings import Settings
from followup.index.backend_choice import BackendChoice


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_environment({})
    assert settings == Settings()
    assert settings.corpus_dir == Path("corpus") and settings.index_dir == Path("index")
    assert settings.cors_origins == () and settings.api_key is None
    assert (settings.backend, settings.milvus_uri, settings.milvus_engine) == (None, None, None)
    assert settings.feedback_db is None  # <index>/feedback.sqlite3 then
    assert settings.eval_suite == Path("evals/muscle-spasm-suite.jsonl")
    assert settings.runs_dir == Path("evals/runs")
    assert settings.embedding_cache == Path(".cache/embeddings")


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("FOLLOWUP_CORPUS", "/data/corpus", "corpus_dir", Path("/data/corpus")),
        ("FOLLOWUP_INDEX", "/data/index", "index_dir", Path("/data/index")),
        (
            "FOLLOWUP_CORS_ORIGINS",
            "https://a.example, https://b.example",
            "cors_origins",
            ("https://a.example", "https://b.example"),
        ),
        ("FOLLOWUP_API_KEY", "s3cret", "api_key", "s3cret"),
        ("FOLLOWUP_BACKEND", "milvus", "backend", "milvus"),
        ("FOLLOWUP_MILVUS_URI", "http://milvus:19530", "milvus_uri", "http://milvus:19530"),
        ("FOLLOWUP_MILVUS_ENGINE", "lite", "milvus_engine", "lite"),
        ("FOLLOWUP_FEEDBACK_DB", "/data/feedback.sqlite3", "feedback_db", Path("/data/feedback.sqlite3")),
    ],
)
def test_each_variable_sets_its_setting_alone(variable: str, value: str, field: str, expected: object) -> None:
    settings = Settings.from_environment({variable: value})
    assert getattr(settings, field) == expected
    others = {name: getattr(settings, name) for name in Settings.__dataclass_fields__ if name != field}
    assert others == {name: getattr(Settings(), name) for name in others}


def test_empty_variables_count_as_unset_except_the_two_paths() -> None:
    names = ["FOLLOWUP_CORS_ORIGINS", "FOLLOWUP_API_KEY", "FOLLOWUP_BACKEND", "FOLLOWUP_MILVUS_URI",
             "FOLLOWUP_MILVUS_ENGINE", "FOLLOWUP_FEEDBACK_DB"]  # fmt: skip
    assert Settings.from_environment(dict.fromkeys(names, "")) == Settings()
    paths = Settings.from_environment({"FOLLOWUP_CORPUS": "", "FOLLOWUP_INDEX": ""})
    assert paths.corpus_dir == Path("") and paths.index_dir == Path("")


def test_cors_origins_skip_empty_items_and_strip_the_rest() -> None:
    settings = Settings.from_environment({"FOLLOWUP_CORS_ORIGINS": "https://a.example,, https://b.example ,"})
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWUP_INDEX", "/somewhere/index")
    monkeypatch.delenv("FOLLOWUP_CORPUS", raising=False)
    settings = Settings.from_environment()
    assert settings.index_dir == Path("/somewhere/index") and settings.corpus_dir == Path("corpus")


def test_the_command_line_defaults_come_from_the_settings() -> None:
    settings = Settings(corpus_dir=Path("/c"), index_dir=Path("/i"), eval_suite=Path("s.jsonl"),
                        runs_dir=Path("runs"), embedding_cache=Path("cache"))  # fmt: skip
    parser = _parser(settings)
    ask = parser.parse_args(["ask", "q"])
    assert (ask.corpus, ask.index) == (Path("/c"), Path("/i"))
    evaluate = parser.parse_args(["eval"])
    assert (evaluate.target, evaluate.runs_dir, evaluate.cache) == (Path("s.jsonl"), Path("runs"), Path("cache"))
    assert parser.parse_args(["verify"]).index == Path("/i")
    assert parser.parse_args(["add", "page.txt"]).corpus == Path("/c")


def test_the_backend_settings_come_after_the_options() -> None:
    settings = Settings(backend="milvus", milvus_uri="http://env:19530", milvus_engine="lite")
    assert BackendChoice.from_options(None, None, None, settings=settings) == BackendChoice(
        "milvus", "http://env:19530", "lite"
    )
    chosen = BackendChoice.from_options("milvus", "http://option:19530", "server", settings=settings)
    assert chosen == BackendChoice("milvus", "http://option:19530", "server")
    assert BackendChoice.from_options(None, None, None, settings=Settings()) == BackendChoice()


def test_a_wrong_backend_name_is_refused_where_it_is_used() -> None:
    settings = Settings.from_environment({"FOLLOWUP_BACKEND": "faiss", "FOLLOWUP_MILVUS_ENGINE": "cloud"})
    with pytest.raises(IndexProblem, match="unknown index backend 'faiss'; use one of embedded, milvus"):
        BackendChoice.from_options(None, None, None, settings=settings)
    with pytest.raises(IndexProblem, match="unknown Milvus engine 'cloud'; use one of server, lite"):
        BackendChoice.from_options("embedded", None, None, settings=settings)
