"""The Milvus backend: a build's chunks in a Milvus collection, searched through the `Retriever` seam.

One row per chunk: chunk_id (INT64, primary), article_id (VARCHAR; the partition key on a server), the
normalised embedding (FLOAT_VECTOR, inner product = cosine) and the chunk's BM25 vector
(SPARSE_FLOAT_VECTOR, inner product). The BM25 vector holds, per term of the chunk, the contribution
`followup.index.bm25.BM25Index` precomputed for it (idf * tf*(k1+1)/(tf + k1*(1-b+b*dl/avgdl))), keyed by the
term's position in the build's sorted vocabulary; the query vector holds how often each term occurs in
the query. Their inner product is rank-bm25's BM25Okapi score, up to float32 rounding, so both backends
rank alike. Fusion stays in followup.retrieve.hybrid: Milvus's own rankers are not used.

Those weights depend on the whole build (idf, average length): a collection belongs to one build. After a
corpus change, write a new collection and point the alias at it (`point_alias`); `upsert_article` is
exact only for rows computed with the collection's own build, e.g. after an edit that keeps the
vocabulary and the statistics.

pymilvus is imported inside functions only, so the embedded default works without it installed.

milvus-lite 2.5.1 (the local engine, tests/milvus_engine.py) differs from a server in three ways handled here:
a partition key breaks every filter expression ("Invalid expr", the server log says the primary key is
missing), so article_id is a plain field there (`MilvusSettings.lite()`); aliases are not implemented
(UNIMPLEMENTED), so aliases live in a small collection of this module's (`ALIAS_COLLECTION`, one
row per pointing, the newest wins) and are resolved by the client; and only FLAT (exact) dense indexes make sense on it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from followup.core.errors import BackendUnavailable, FollowupError, IndexProblem
from followup.core.storage import offsets
from followup.index.bm25 import BM25Index
from followup.index.retrievers import Ranking, SearchScope

MAX_TOPK = 16_384  # Milvus's limit on a search's `limit`
ALIAS_COLLECTION = "followup_aliases"  # client-side aliases, where the engine has none (milvus-lite)
ARTICLE_ID_LENGTH = 512
Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True)
class MilvusSettings:
    """How collections are laid out and how long calls may take."""

    dense_index: str = "HNSW"  # FLAT: exact; HNSW: a graph (a server's choice at scale)
    hnsw_m: int = 32  # as index/dense.py's faiss HNSW: recall@10 >= 0.99 on these embeddings
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128  # raised to the search's limit when that is larger
    partition_key: bool = True  # article_id as partition key: a scoped search reads its partitions only
    server_aliases: bool = True  # the server has aliases (create_alias / alter_alias)
    # Rows per insert call. milvus-lite takes longer per row in larger calls: 6,000 rows of 384-d went in
    # at ~5,500 rows/s in calls of 500, ~2,600 in calls of 2,000 (bench/milvus_backend.py --batch).
    batch_size: int = 500
    timeout: float = 5.0  # seconds per call (search, insert, ...)
    build_timeout: float = 300.0  # seconds for index building and loading
    alias_ttl: float = 1.0  # seconds a client-side alias resolution is reused

    @classmethod
    def lite(cls) -> MilvusSettings:
        """For milvus-lite 2.5.1: exact dense search, no partition key, aliases kept by the client."""
        return cls(dense_index="FLAT", partition_key=False, server_aliases=False)

    @classmethod
    def server(cls, hnsw_m: int = 32, hnsw_ef_construction: int = 200) -> MilvusSettings:
        return cls(hnsw_m=hnsw_m, hnsw_ef_construction=hnsw_ef_construction)


# --- BM25 as sparse vectors -----------------------------------------------------------------------


class Vocabulary:
    """A build's terms and their ids: the position of each in the vocabulary sorted by UTF-8 bytes (the
    order BM25Index.save writes), so ids are the same for an index in memory and one opened from disk."""

    def __init__(self, bm25: BM25Index) -> None:
        self._bm25 = bm25

    def id_of(self, term: str) -> int | None:
        return self._bm25.term_position(term)

    def query_vector(self, tokens: Sequence[str]) -> dict[int, float]:
        """{term id: occurrences in the query}: rank-bm25 adds a repeated term once per occurrence."""
        counts = Counter(i for i in map(self.id_of, tokens) if i is not None)
        return {i: float(n) for i, n in sorted(counts.items())}


@dataclass(frozen=True)
class SparseRows:
    """One sparse vector per row, CSR-style: row r is term_ids/weights[indptr[r]:indptr[r+1]]."""

    indptr: np.ndarray  # int64, rows + 1
    term_ids: np.ndarray  # int64, ascending within a row
    weights: np.ndarray  # float64, BM25Index's contributions

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, r: int) -> dict[int, float]:
        lo, hi = int(self.indptr[r]), int(self.indptr[r + 1])
        return dict(zip(self.term_ids[lo:hi].tolist(), self.weights[lo:hi].tolist(), strict=True))

    def take(self, rows: np.ndarray) -> SparseRows:
        lengths = np.diff(self.indptr)[rows]
        starts = self.indptr[rows]
        indptr = offsets(lengths)
        picks = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.term_ids[picks], self.weights[picks])


def bm25_sparse_rows(bm25: BM25Index) -> SparseRows:
    """Each chunk's BM25 vector {term id: weight}, row i for chunk i, from the index's postings (in memory
    or opened from a build). Vectorised: one sort of the postings, no loop over chunks."""
    docs, weights, term_spans = bm25.sorted_postings()
    docs, weights = docs.astype(np.int64), weights.astype(np.float64)
    lengths = term_spans[:, 1] - term_spans[:, 0]
    if int(lengths.sum()) != len(docs):
        raise IndexProblem("BM25 term spans do not cover the postings")
    # Each term's postings are one contiguous run; laying the runs out in posting order names each
    # posting's term.
    by_start = np.argsort(term_spans[:, 0], kind="stable")
    term_of = np.repeat(by_start, lengths[by_start]).astype(np.int64)
    order = np.lexsort((term_of, docs))  # by chunk, then term id
    counts = np.bincount(docs, minlength=bm25.chunks)
    return SparseRows(offsets(counts), term_of[order], weights[order])


@dataclass(frozen=True)
class ChunkRows:
    """Rows to write: chunk ids, their articles, normalised vectors and BM25 vectors, aligned."""

    chunk_ids: np.ndarray  # int64
    article_ids: tuple[str, ...]
    vectors: np.ndarray  # float32, (rows, dimension)
    sparse: SparseRows

    def __post_init__(self) -> None:
        n = len(self.chunk_ids)
        if not (len(self.article_ids) == len(self.vectors) == len(self.sparse) == n):
            raise ValueError("chunk ids, articles, vectors and BM25 rows differ in length")

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def take(self, rows: np.ndarray) -> ChunkRows:
        rows = np.asarray(rows, dtype=np.int64)
        return ChunkRows(
            self.chunk_ids[rows],
            tuple(self.article_ids[i] for i in rows.tolist()),
            self.vectors[rows],
            self.sparse.take(rows),
        )

    def of_article(self, article_id: str) -> ChunkRows:
        return self.take(np.flatnonzero(np.array(self.article_ids, dtype=object) == article_id))

    def records(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """Rows lo..hi as pymilvus's insert takes them. Vectors as lists: pymilvus packs a list several
        times faster than a numpy row (measured: 2,000 rows of 384-d, 0.3 s against 2 s)."""
        vectors = np.asarray(self.vectors[lo:hi], dtype=np.float32).tolist()
        return [
            {
                "chunk_id": int(self.chunk_ids[r]),
                "article_id": self.article_ids[r],
                "dense": vectors[r - lo],
                "bm25": self.sparse.row(r),
            }
            for r in range(lo, hi)
        ]


def build_rows(bm25: BM25Index, vectors: np.ndarray, article_ids: Sequence[str]) -> ChunkRows:
    """A build's rows: chunk i has BM25 document i, vector i and article i."""
    return ChunkRows(
        np.arange(bm25.chunks, dtype=np.int64),
        tuple(article_ids),
        np.asarray(vectors, np.float32),
        bm25_sparse_rows(bm25),
    )


# --- the backend ------------------------------------------------------------------------------------


def _quoted(values: Sequence[str]) -> str:
    # Milvus string literals take double quotes and backslash escapes, as JSON writes them.
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _quiet_pymilvus() -> None:
    # pymilvus logs every failed RPC with a traceback before raising; the error raised here says it all.
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    # milvus-lite 2.5.1, which pymilvus imports for a file URI, warns on import that pkg_resources is
    # deprecated: nothing a user of followup can act on.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)


@dataclass
class MilvusBackend:
    """A connection to one Milvus server (or milvus-lite engine), at `uri` (http://host:port)."""

    uri: str
    settings: MilvusSettings = field(default_factory=MilvusSettings)
    _client: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _resolved: dict[str, tuple[str, float]] = field(default_factory=dict, init=False, repr=False)

    # connection and errors

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with self.calling("connect"):
                    from pymilvus import MilvusClient  # type: ignore[import-untyped, import-not-found, unused-ignore]

                    _quiet_pymilvus()
                    # A channel of its own (pymilvus shares one per address otherwise), closed by close().
                    self._client = MilvusClient(uri=self.uri, timeout=self.settings.timeout, dedicated=True)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    @contextlib.contextmanager
    def calling(self, action: str) -> Iterator[None]:
        """Milvus's and gRPC's errors as the project's: unreachable or timed out → BackendUnavailable,
        anything else the server refuses → IndexProblem; both name the URI and the action."""
        try:
            yield
        except ImportError as error:
            raise IndexProblem(
                f"the Milvus backend needs pymilvus; install followup with the 'milvus' extra ({error})"
            ) from None
        except FollowupError:
            raise
        except Exception as error:
            unavailable, detail = _classify(error)
            if unavailable:
                raise BackendUnavailable(self.uri, action, detail) from None
            raise IndexProblem(f"Milvus at {self.uri}: {action}: {detail}") from None

    # collections

    def collections(self) -> list[str]:
        with self.calling("list collections"):
            return sorted(
                c for c in self.client.list_collections(timeout=self.settings.timeout) if c != ALIAS_COLLECTION
            )

    def has_collection(self, name: str) -> bool:
        with self.calling(f"look up collection {name}"):
            return bool(self.client.has_collection(name, timeout=self.settings.timeout))

    def count(self, collection: str) -> int:
        with self.calling(f"count rows of {collection}"):
            result = self.client.query(collection, filter="", output_fields=["count(*)"], timeout=self.settings.timeout)
            return int(result[0]["count(*)"])

    def write_collection(self, name: str, rows: ChunkRows, progress: Progress | None = None) -> None:
        """A new collection `name` holding `rows`, indexed and loaded; refuses an existing name."""
        if self.has_collection(name):
            raise IndexProblem(f"Milvus at {self.uri}: collection {name} exists; write a new one and point the alias")
        client, s = self.client, self.settings
        with self.calling(f"create collection {name}"):
            from pymilvus import DataType  # type: ignore[import-untyped, import-not-found, unused-ignore]

            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("chunk_id", DataType.INT64, is_primary=True)
            schema.add_field(
                "article_id", DataType.VARCHAR, max_length=ARTICLE_ID_LENGTH, is_partition_key=s.partition_key
            )
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=rows.dimension)
            schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            client.create_collection(name, schema=schema, consistency_level="Strong", timeout=s.timeout)
        # Indexes after the rows: one build over all of them instead of growing segments.
        self._insert(name, rows, progress)
        with self.calling(f"index and load {name}"):
            client.flush(name, timeout=s.build_timeout)
            params = client.prepare_index_params()
            if s.dense_index == "HNSW":
                params.add_index(
                    "dense",
                    index_type="HNSW",
                    metric_type="IP",
                    params={"M": s.hnsw_m, "efConstruction": s.hnsw_ef_construction},
                )
            else:
                params.add_index("dense", index_type=s.dense_index, metric_type="IP")
            # TAAT_NAIVE scores every posting of the query's terms: exact, and its pruning-free sum does not
            # assume non-negative weights (BM25's floored idf can be negative).
            params.add_index(
                "bm25",
                index_type="SPARSE_INVERTED_INDEX",
                metric_type="IP",
                params={"inverted_index_algo": "TAAT_NAIVE"},
            )
            client.create_index(name, params, timeout=s.build_timeout)
            client.load_collection(name, timeout=s.build_timeout)

    def _insert(self, name: str, rows: ChunkRows, progress: Progress | None, upsert: bool = False) -> None:
        total, step = len(rows), self.settings.batch_size
        for lo in range(0, total, step):
            hi = min(total, lo + step)
            batch = rows.records(lo, hi)
            with self.calling(f"{'upsert' if upsert else 'insert'} rows {lo}-{hi} into {name}"):
                if upsert:
                    self.client.upsert(name, batch, timeout=self.settings.timeout)
                else:
                    self.client.insert(name, batch, timeout=self.settings.timeout)
            if progress is not None:
                progress(hi, total)

    def drop_collection(self, name: str) -> None:
        """Drops a collection no alias points to."""
        pointing = [a for a, c in self.aliases().items() if c == name]
        if pointing:
            raise IndexProblem(
                f"Milvus at {self.uri}: collection {name} is served by alias {', '.join(pointing)}; "
                "point it elsewhere first"
            )
        with self.calling(f"drop collection {name}"):
            self.client.drop_collection(name, timeout=self.settings.timeout)

    def drop_unaliased(self, prefix: str) -> list[str]:
        """Drops the collections named `prefix...` that no alias points to (builds replaced by a switch)."""
        served = set(self.aliases().values())
        old = [c for c in self.collections() if c.startswith(prefix) and c not in served]
        for name in old:
            self.drop_collection(name)
        return old

    # articles

    def article_chunks(self, collection: str, article_id: str) -> list[int]:
        with self.calling(f"list chunks of {article_id} in {collection}"):
            hits = self.client.query(
                collection,
                filter=f"article_id == {json.dumps(article_id)}",
                output_fields=["chunk_id"],
                limit=MAX_TOPK,
                timeout=self.settings.timeout,
            )
            return sorted(int(h["chunk_id"]) for h in hits)

    def upsert_article(self, collection: str, rows: ChunkRows) -> None:
        """Replaces one article's rows: upserts `rows`, then deletes the article's chunks not among them
        (in that order, so a search never finds the article empty)."""
        articles = set(rows.article_ids)
        if len(articles) != 1:
            raise ValueError(f"upsert_article takes one article's rows, got {len(articles)} articles")
        (article_id,) = articles
        name = self.resolve(collection)
        before = self.article_chunks(name, article_id)
        self._insert(name, rows, None, upsert=True)
        stale = sorted(set(before) - set(rows.chunk_ids.tolist()))
        if stale:
            with self.calling(f"delete stale chunks of {article_id} from {name}"):
                self.client.delete(name, ids=stale, timeout=self.settings.timeout)

    def delete_article(self, collection: str, article_id: str) -> None:
        name = self.resolve(collection)
        with self.calling(f"delete article {article_id} from {name}"):
            self.client.delete(name, filter=f"article_id == {json.dumps(article_id)}", timeout=self.settings.timeout)

    # aliases

    def point_alias(self, alias: str, collection: str) -> None:
        """Makes `alias` serve `collection` (loaded), atomically for searches through the alias."""
        if not self.has_collection(collection):
            raise IndexProblem(f"Milvus at {self.uri}: no collection {collection} to point {alias} at")
        s = self.settings
        if s.server_aliases:
            with self.calling(f"point alias {alias} at {collection}"):
                if alias in self.aliases():
                    self.client.alter_alias(collection, alias, timeout=s.timeout)
                else:
                    self.client.create_alias(collection, alias, timeout=s.timeout)
            return
        self._ensure_alias_collection()
        with self.calling(f"point alias {alias} at {collection}"):
            # A new row, then the alias's older rows deleted: readers take an alias's newest row, so they
            # see the old target or the new one. (milvus-lite's upsert is a delete then an insert, and a
            # reader between the two found no row: the alias's name then searched a missing collection.)
            version = time.time_ns()
            row = {"version": version, "alias": alias, "target": collection, "v": [0.0, 0.0]}
            self.client.insert(ALIAS_COLLECTION, [row], timeout=s.timeout)
            self.client.delete(
                ALIAS_COLLECTION, filter=f"alias == {json.dumps(alias)} and version < {version}", timeout=s.timeout
            )
        self._resolved.pop(alias, None)

    def aliases(self) -> dict[str, str]:
        """{alias: collection}."""
        s = self.settings
        if s.server_aliases:
            with self.calling("list aliases"):
                found: dict[str, str] = {}
                for name in self.client.list_collections(timeout=s.timeout):
                    for alias in self.client.list_aliases(name, timeout=s.timeout).get("aliases", []):
                        found[alias] = name
                return found
        return {alias: target for alias, (target, _) in self._alias_rows("").items()}

    def _alias_rows(self, alias: str) -> dict[str, tuple[str, int]]:
        """Client-side aliases (all, or the one named): {alias: (target, version)}, newest row of each."""
        if not self.has_collection(ALIAS_COLLECTION):
            return {}
        with self.calling("read aliases"):
            hits = self.client.query(
                ALIAS_COLLECTION,
                filter=f"alias == {json.dumps(alias)}" if alias else "",
                output_fields=["version", "alias", "target"],
                limit=MAX_TOPK,
                timeout=self.settings.timeout,
            )
        newest: dict[str, tuple[str, int]] = {}
        for hit in hits:
            if hit["alias"] not in newest or hit["version"] > newest[hit["alias"]][1]:
                newest[hit["alias"]] = (hit["target"], int(hit["version"]))
        return newest

    def resolve(self, name: str, fresh: bool = False) -> str:
        """The collection a name searches: the server resolves its own aliases; client-side ones are
        looked up here, reused for `alias_ttl` seconds."""
        if self.settings.server_aliases:
            return name
        now = time.monotonic()
        cached = self._resolved.get(name)
        if cached is not None and not fresh and now - cached[1] < self.settings.alias_ttl:
            return cached[0]
        row = self._alias_rows(name).get(name)
        target = name if row is None else row[0]
        self._resolved[name] = (target, now)
        return target

    def _ensure_alias_collection(self) -> None:
        if self.has_collection(ALIAS_COLLECTION):
            return
        with self.calling("create the alias collection"):
            from pymilvus import DataType  # type: ignore[import-untyped, import-not-found, unused-ignore]

            client = self.client
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("version", DataType.INT64, is_primary=True)  # when it was pointed, in ns
            schema.add_field("alias", DataType.VARCHAR, max_length=255)
            schema.add_field("target", DataType.VARCHAR, max_length=255)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus requires a vector field
            params = client.prepare_index_params()
            params.add_index("v", index_type="FLAT", metric_type="L2")
            client.create_collection(
                ALIAS_COLLECTION,
                schema=schema,
                index_params=params,
                consistency_level="Strong",
                timeout=self.settings.timeout,
            )

    # searches

    def search(self, name: str, field_name: str, query: Any, limit: int, scope: SearchScope | None) -> Ranking:
        """The `limit` best (chunk id, score) of a field, over `name` (a collection or alias), best first,
        ties by chunk id. Retries once through a fresh alias lookup if the collection went away (a switch
        dropped it)."""
        if scope is not None and (not scope.articles or (scope.by_chunk and not scope.chunks.size)):
            return []
        s = self.settings
        params: dict[str, Any] = {"metric_type": "IP"}
        if field_name == "dense" and s.dense_index == "HNSW":
            params["params"] = {"ef": max(s.hnsw_ef_search, limit)}
        # A few more than asked, so chunks tied at the cut are chosen by chunk id as the embedded backend does.
        fetch = min(MAX_TOPK, limit + max(8, limit // 4))
        expression = "" if scope is None else f"article_id in {_quoted(scope.articles)}"
        if scope is not None and scope.by_chunk:  # an evidence filter: some chunks of those articles
            expression += f" and chunk_id in [{', '.join(map(str, scope.chunks.tolist()))}]"
        for attempt in (0, 1):
            target = self.resolve(name, fresh=attempt == 1)
            try:
                with self.calling(f"search {field_name} of {target}"):
                    hits = self.client.search(
                        target,
                        data=[query],
                        anns_field=field_name,
                        limit=fetch,
                        filter=expression,
                        search_params=params,
                        output_fields=[],
                        timeout=s.timeout,
                    )[0]
                break
            except IndexProblem:
                if attempt == 1 or target == name:
                    raise
        ranked = sorted(((int(h["id"]), float(h["distance"])) for h in hits), key=lambda p: (-p[1], p[0]))
        return ranked[:limit]


def _classify(error: BaseException) -> tuple[bool, str]:
    """(is the server unreachable or too slow, a one-line reason)."""
    code = getattr(error, "code", None)
    if callable(code):  # a grpc.RpcError
        status = code()
        name = getattr(status, "name", str(status))
        details = error.details() if callable(getattr(error, "details", None)) else ""  # type: ignore[attr-defined]
        return name in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"}, f"{name} {details}".strip()
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    # pymilvus's CONNECT_FAILED (2), and its retry wrapper giving up on an unreachable server.
    unreachable = code == 2 or "server unavailable" in message.lower() or "deadline" in message.lower()
    return unreachable, message


@dataclass(frozen=True)
class MilvusRetriever:
    """The `Retriever` seam over a collection or an alias of `backend`."""

    backend: MilvusBackend
    name: str
    vocabulary: Vocabulary

    def lexical(self, tokens: Sequence[str], k: int, scope: SearchScope | None = None) -> Ranking:
        query = self.vocabulary.query_vector(tokens)
        if not query or k <= 0:
            return []  # no term of the build: every BM25 score is 0
        return [(c, s) for c, s in self.backend.search(self.name, "bm25", query, k, scope) if s > 0]

    def semantic(self, vector: np.ndarray, k: int, scope: SearchScope | None = None) -> Ranking:
        if k <= 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        return self.backend.search(self.name, "dense", query, k, scope)
