"""Fixtures of the Ray tests: a local 2-node Ray cluster on loopback, the exported ONNX model and ~20
real chunk texts of the bundled corpus."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from followup.core.settings import DEFAULT_CHUNKING
from followup.core.storage import article_folders
from followup.embed.chunk_embeddings import ChunkText
from followup.index.build import chunk_texts as chunk_texts_of
from followup.ingest.chunking import chunk_documents
from followup.ingest.corpus import load_article

CHUNKS = 20


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The GCS address of a head node and a worker node of one CPU each, both on 127.0.0.1, in a temp
    dir of their own; every process they started is stopped at the end."""
    # Loopback, not the interface address; no usage stats report. Before ray is first imported.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # Short: Ray's unix sockets live under it, and socket paths are limited to 107 bytes. Ray also
    # writes the cluster's address under $RAY_TMPDIR/ray, which it does not create on a clean machine.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    os.environ["RAY_TMPDIR"] = temp
    os.makedirs(os.path.join(temp, "ray"))
    from ray.cluster_utils import Cluster  # type: ignore[import-not-found, unused-ignore]

    node: dict[str, Any] = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "object_store_memory": 80 * 2**20}

    def start() -> Any:
        cluster = Cluster(initialize_head=True, head_node_args={**node, "temp_dir": temp, "include_dashboard": False})
        try:
            cluster.add_node(**node)
            cluster.wait_for_nodes()
        except Exception:
            cluster.shutdown()  # type: ignore[no-untyped-call, unused-ignore]
            raise
        return cluster

    try:
        # Ray gives a raylet 30 s to register and the GCS server a fixed time to write its port file:
        # on 2 loaded cores each was once not enough (seen when other work ran beside the suite). One
        # more try, then the failure stands.
        try:
            cluster = start()
        except Exception as error:
            if not any(slow in str(error) for slow in ("timed out during startup", "Timed out waiting for file")):
                raise
            cluster = start()
        yield str(cluster.address)
        cluster.shutdown()  # type: ignore[no-untyped-call, unused-ignore]
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory: pytest.TempPathFactory, chunk_texts: list[ChunkText]) -> Path:
    """The packaged model exported as a build exports it (checked against sentence-transformers)."""
    from followup.embed.onnx_export import export_query_model
    from followup.embed.torch_encoder import Encoder

    target = tmp_path_factory.mktemp("model") / "query-encoder.onnx"
    export_query_model(target, Encoder(), [t.text for t in chunk_texts[:8]])
    return target


@pytest.fixture(scope="session")
def chunk_texts(corpus_dir: Path) -> list[ChunkText]:
    """The first chunks of the bundled corpus as the indexer makes their texts ("context\\ntext")."""
    documents = [d for folder in article_folders(corpus_dir) for d in load_article(folder)[1]]
    return chunk_texts_of(chunk_documents(documents, DEFAULT_CHUNKING)[:CHUNKS], documents)
