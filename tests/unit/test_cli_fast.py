"""The CLI's fast paths: help and input errors answer without loading torch or the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from followup.cli import main

NO_TORCH = """
import sys, followup.cli as cli
try:
    cli.main({argv!r})
except SystemExit:
    pass
print('torch' in sys.modules)
"""


def run_in_fresh_python(argv: list[str]) -> str:
    code = NO_TORCH.format(argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


FAST = [["--help"], ["ask", "--help"], ["ask", ""], ["ask", "--mode", "magic", "q"], ["feedback", "export", "--help"]]


@pytest.mark.parametrize("argv", FAST)
def test_help_and_argument_errors_do_not_import_torch(argv: list[str]) -> None:
    assert run_in_fresh_python(argv).strip().endswith("False")


def test_empty_question_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ask", "   ", "--index", str(tmp_path)]) == 1
    assert "question is empty" in capsys.readouterr().err


def test_a_50_kb_question_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ask", "spasm " * 8500, "--index", str(tmp_path)]) == 1
    assert "question is 51,000 characters long; the limit is 2,000" in capsys.readouterr().err


def test_missing_index_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ask", "What causes spasms?", "--index", str(tmp_path / "none"), "--no-stale-check"]) == 1
    assert "no index in" in capsys.readouterr().err


def test_question_and_jsonl_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "q", "--jsonl"]) == 1
    assert "not both" in capsys.readouterr().err


def test_malformed_corpus_names_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "broken"
    folder.mkdir(parents=True)
    (folder / "article.json").write_text("{")
    assert main(["index", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]) == 1
    err = capsys.readouterr().err
    assert "broken/article.json: invalid JSON at line 1" in err
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_serve_without_an_index_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--no-build", "--index", str(tmp_path / "none"), "--corpus", str(tmp_path)]) == 1
    assert "no index in" in capsys.readouterr().err
