"""The bulk embedding job on Ray Data: what `chunk_embeddings.embed_chunks` computes, batches sent to a
pool of actors that each load the encoder once (`followup index --ray [ADDRESS]`, extra `followup[ray]`).

The driver composes the batches exactly as the in-process job does (the same length-sorted batches of
chunk texts, then of sentence texts), and each Ray Data row is one such batch: Ray's own batching could
split them at block boundaries, and a batch's padding changes its vectors in the last bits. So the
vectors are equal to the in-process ones on the same encoder kind, and the driver assembles the same
`ChunkEmbedding`s. Ray is imported only here, lazily: the default install has none.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from followup.core.errors import FollowupError
from followup.core.storage import offsets
from followup.embed.chunk_embeddings import ChunkText, assemble, in_parts, short_texts
from followup.embed.encoder import length_batches
from followup.embed.token_vectors import ChunkEmbedding, QuantisedTokens

if TYPE_CHECKING:
    from followup.embed.encoder import ModelPasses

EncoderKind = Literal["onnx", "torch"]
CONNECT_TIMEOUT_S = 5.0  # ray.init keeps retrying an absent cluster for a minute; a probe answers first


class RayUnavailable(FollowupError):
    """Ray is not installed, or the cluster named cannot be reached."""


@dataclass(frozen=True)
class _Batch:
    kind: Literal["chunk", "short"]
    rows: list[int]  # into the chunk texts or the short texts
    texts: list[str]


def _batch_sizes(kind: EncoderKind) -> tuple[int, int]:
    """The encoder class's chunk and sentence batch sizes, read without loading a model."""
    if kind == "torch":
        from followup.embed.bulk_encoder import TorchPassEncoder  # imports torch only when one is built

        return TorchPassEncoder.chunk_batch, TorchPassEncoder.sentence_batch
    from followup.embed.encoder import OnnxQueryEncoder

    return OnnxQueryEncoder.chunk_batch, OnnxQueryEncoder.sentence_batch


def _batches(texts: Sequence[ChunkText], short: Sequence[str], kind: EncoderKind) -> list[_Batch]:
    """The in-process job's batches, in its order: chunk texts, then sentence texts."""
    chunk_size, sentence_size = _batch_sizes(kind)
    chunk_texts = [t.text for t in texts]
    chunks = [_Batch("chunk", rows, [chunk_texts[i] for i in rows]) for rows in length_batches(chunk_texts, chunk_size)]
    shorts = [_Batch("short", rows, [short[i] for i in rows]) for rows in length_batches(short, sentence_size)]
    return chunks + shorts


class BatchEncoder:
    """A Ray Data actor: loads the encoder once, then embeds one composed batch per call.

    Arrays travel as raw bytes with their lengths (exact, and no ragged-tensor columns to convert)."""

    def __init__(self, kind: EncoderKind, model_path: str, threads: int) -> None:
        self._encoder = _load_encoder(kind, Path(model_path), threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["texts"][0]]
        out: dict[str, Any] = {"batch": batch["batch"], "dimension": np.array([self._encoder.dimension])}
        if str(batch["kind"][0]) == "short":
            vectors = self._encoder.encode(texts)
            empty = np.zeros(0, np.int32).tobytes()
            out |= {"values": [b""], "scales": [empty], "spans": [empty], "counts": [empty]}
        else:
            vectors, tokens = self._encoder.encode_with_tokens(texts)
            stored = [QuantisedTokens.of(t) for t in tokens]  # as in-process: quantised per batch
            out |= {
                "values": [b"".join(q.values.tobytes() for q in stored)],
                "scales": [b"".join(q.scales.astype(np.float32).tobytes() for q in stored)],
                "spans": [b"".join(q.spans.astype(np.int32).tobytes() for q in stored)],
                "counts": [np.array([len(q.scales) for q in stored], np.int32).tobytes()],
            }
        out["vectors"] = [np.ascontiguousarray(vectors, np.float32).tobytes()]
        return {k: np.array(v, dtype=object) if isinstance(v, list) else v for k, v in out.items()}


def _load_encoder(kind: EncoderKind, model_path: Path, threads: int) -> ModelPasses:
    if kind == "torch":
        import torch

        from followup.embed.bulk_encoder import TorchPassEncoder
        from followup.embed.torch_encoder import Encoder

        torch.set_num_threads(threads)  # the actor's CPUs, not every core of the node
        return TorchPassEncoder(Encoder())
    from followup.embed.encoder import OnnxQueryEncoder

    return OnnxQueryEncoder(model_path, threads=threads)


@dataclass(frozen=True)
class _BatchResult:
    vectors: np.ndarray  # (texts, dimension) float32
    tokens: list[QuantisedTokens]  # empty for sentence batches


def _decode(row: dict[str, Any]) -> _BatchResult:
    dimension = int(row["dimension"])
    vectors = np.frombuffer(row["vectors"], np.float32).reshape(-1, dimension).copy()
    counts = np.frombuffer(row["counts"], np.int32)
    values = np.frombuffer(row["values"], np.int8).reshape(-1, dimension)
    scales = np.frombuffer(row["scales"], np.float32)
    spans = np.frombuffer(row["spans"], np.int32).reshape(-1, 2)
    starts = offsets(counts).tolist()
    tokens = [
        QuantisedTokens(values[a:b].copy(), scales[a:b].copy(), spans[a:b].copy())
        for a, b in itertools.pairwise(starts)
    ]
    return _BatchResult(vectors, tokens)


def _import_ray() -> Any:
    # Without it Ray binds its node to the machine's interface address; the local instance stays on loopback.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray.data  # type: ignore[import-not-found, unused-ignore]  # binds ray too; absent without the extra
    except ImportError as error:
        raise RayUnavailable(
            f"--ray needs Ray Data, which is not installed: pip install 'followup[ray]' ({error})"
        ) from None
    return ray


def _probe(address: str) -> None:
    """Fail within seconds when nothing listens at host:port (ray.init would retry for a minute)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon:
        return  # "auto" or a bare host: Ray resolves those itself
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except ValueError:
        raise RayUnavailable(f"Ray address {address!r} is not host:port") from None
    except OSError as error:
        raise RayUnavailable(f"no Ray cluster answers at {address}: {error}") from None


@contextmanager
def _ray_session(address: str | None, cpus: int) -> Iterator[Any]:
    """Ray connected: a local instance on 127.0.0.1 when `address` is None, else the cluster there.
    A connection the caller already made is used as it is and left open."""
    ray = _import_ray()
    owned = not ray.is_initialized()
    if owned:
        _connect(ray, address, cpus)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the caller's progress line reports batches
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # no progress logged every few seconds
        yield ray
    finally:
        if owned:
            ray.shutdown()


def _connect(ray: Any, address: str | None, cpus: int) -> None:
    quiet: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:
        ray.init(address="local", num_cpus=cpus, _node_ip_address="127.0.0.1", **quiet)
        return
    _probe(address)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError) as error:
        raise RayUnavailable(f"could not connect to the Ray cluster at {address}: {error}") from None


def embed_chunks_on_ray(
    texts: Sequence[ChunkText],
    model_path: Path,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoder: EncoderKind = "onnx",
    actors: int = 2,
    cpus_per_actor: int = 1,
) -> list[ChunkEmbedding]:
    """`embed_chunks(texts, ...)` on Ray: every chunk's embeddings, embedded as one part."""
    parts = embed_parts_on_ray(texts, model_path, address, progress, encoder, actors, cpus_per_actor, len(texts))
    return [e for _, part in parts for e in part]


def embed_parts_on_ray(
    texts: Sequence[ChunkText],
    model_path: Path,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoder: EncoderKind = "onnx",
    actors: int = 2,
    cpus_per_actor: int = 1,
    part_chunks: int | None = None,
) -> Iterator[tuple[Sequence[ChunkText], list[ChunkEmbedding]]]:
    """`embed_in_parts(texts, ...)` on a Ray Data actor pool: `actors` actors of `cpus_per_actor` CPUs,
    each loading the ONNX file at `model_path` (read where the actor runs) or the packaged torch model.
    Every part's batches go through one pool; a part is assembled and yielded once its last batch is
    back. Progress is `(texts done, texts)` as batches come back, counted as the in-process job counts."""
    parts = in_parts(texts, part_chunks)
    if not parts:
        return
    shorts = [short_texts(part) for part in parts]
    batches = [_batches(part, short, encoder) for part, short in zip(parts, shorts, strict=True)]
    owner = [(p, b) for p, part_batches in enumerate(batches) for b in range(len(part_batches))]
    items = [{"batch": n, "kind": batches[p][b].kind, "texts": batches[p][b].texts} for n, (p, b) in enumerate(owner)]
    total, done = sum(len(part) + len(short) for part, short in zip(parts, shorts, strict=True)), 0
    results: list[dict[int, _BatchResult]] = [{} for _ in parts]
    next_part = 0
    with _ray_session(address, actors * cpus_per_actor) as ray:
        # One block per batch, so an idle actor takes the next batch rather than a share fixed up front.
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            BatchEncoder,
            fn_constructor_kwargs={"kind": encoder, "model_path": str(model_path), "threads": cpus_per_actor},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=cpus_per_actor,
            batch_format="numpy",
        )
        for row in dataset.iter_rows():
            p, b = owner[int(row["batch"])]
            results[p][b] = _decode(row)
            done += len(batches[p][b].rows)
            if progress:
                progress(done, total)
            while next_part < len(parts) and len(results[next_part]) == len(batches[next_part]):
                yield parts[next_part], _assemble(parts[next_part], shorts[next_part], batches[next_part],
                                                  results[next_part])  # fmt: skip
                results[next_part] = {}
                next_part += 1


def _assemble(
    texts: Sequence[ChunkText], short: Sequence[str], batches: Sequence[_Batch], results: dict[int, _BatchResult]
) -> list[ChunkEmbedding]:
    dimension = next(iter(results.values())).vectors.shape[1]
    dense = np.zeros((len(texts), dimension), np.float32)
    tokens: dict[int, QuantisedTokens] = {}
    pooled = np.zeros((len(short), dimension), np.float32)
    for b, batch in enumerate(batches):
        found = results[b]
        if batch.kind == "chunk":
            dense[batch.rows] = found.vectors
            tokens.update(zip(batch.rows, found.tokens, strict=True))
        else:
            pooled[batch.rows] = found.vectors
    return assemble(texts, short, dense, [tokens[i] for i in range(len(texts))], pooled)
