"""Milvus Lite the way Milvus documents it: a file URI (`MilvusClient("./milvus.db")`), on which pymilvus
starts Milvus Lite itself. `followup index`, `ask`, `eval` and `serve`, each run as a user runs it, with
`--milvus-uri data/milvus.db` and no engine option: exact search on Lite, no server process of ours."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from followup.index.layout import current_build, read_manifest
from tests.backend.conftest import MISSING

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(bool(MISSING), reason="pip install -e '.[milvus]' for the Milvus backend tests"),
]
SUITE = Path(__file__).resolve().parents[2] / "evals" / "muscle-spasm-suite.jsonl"
DOSE = "What dose of baclofen is used?"


def followup(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "followup.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)  # fmt: skip


def test_a_milvus_lite_file_indexes_answers_evaluates_and_serves(tmp_path: Path, corpus_dir: Path) -> None:
    shutil.copytree(corpus_dir, tmp_path / "corpus")
    (tmp_path / "data").mkdir()
    built = followup("index", "--corpus", "corpus", "--index", "index", "--backend", "milvus",
                     "--milvus-uri", "data/milvus.db", cwd=tmp_path)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "data" / "milvus.db").is_file() and "Traceback" not in built.stderr
    recorded = read_manifest(current_build(tmp_path / "index")).search_backend
    assert recorded["kind"] == "milvus" and recorded["engine"] == "lite"
    assert recorded["uri"] == str((tmp_path / "data" / "milvus.db").resolve()), "found from any directory"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    corpus, index = str(tmp_path / "corpus"), str(tmp_path / "index")
    asked = followup("ask", DOSE, "--corpus", corpus, "--index", index, cwd=elsewhere)
    assert asked.returncode == 0, asked.stderr
    assert "10-20 mg three times daily" in asked.stdout and "pkg_resources" not in asked.stderr

    evaluated = followup("eval", str(SUITE), "--split", "dev", "--corpus", corpus, "--index", index, cwd=elsewhere)
    assert evaluated.returncode == 0, evaluated.stderr
    report = evaluated.stdout + evaluated.stderr
    assert "hybrid-minmax" in report and "hit@1" in report and "Traceback" not in report

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "followup.cli", "serve", "--no-build", "--corpus", corpus,
                               "--index", index, "--port", str(port)], cwd=elsewhere,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else "serve exited"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)
        answer = httpx.post(f"{url}/v1/ask", json={"question": DOSE}, timeout=30).json()
        assert answer["answered"] and "10-20 mg" in json.dumps(answer["passages"][0])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_file_uri_with_the_server_engine_is_refused_with_what_to_do(tmp_path: Path, corpus_dir: Path) -> None:
    refused = followup("index", "--corpus", str(corpus_dir), "--index", "index", "--backend", "milvus",
                       "--milvus-uri", "milvus.db", "--milvus-engine", "server", cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 1
    assert "milvus.db is a Milvus Lite file, not a server" in refused.stderr and "Traceback" not in refused.stderr
