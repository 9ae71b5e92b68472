"""Token vectors of a benchmark corpus's chunks, cached on disk by model and content, so a re-run does
not re-embed them (the token counterpart of evaluate/embedding_cache.py).

One file per corpus label and model, `<label>-tokens-<key>.npz` beside the pooled vectors: each
embedded text's sha256, its token count, and its token vectors as int8 with one scale per token
(late_interaction.quantise); no spans, as a benchmark document is scored whole. Texts missing from it
are embedded and added (a changed chunking re-embeds only the chunks that changed), and every save
rewrites the file with all it holds, atomically. A damaged file is ignored (its texts are embedded
again), never trusted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from followup.core.files import atomic_path
from followup.core.progress import ProgressLine
from followup.embed.model_key import embedding_key, text_digest
from followup.embed.token_vectors import TokenEmbedding, quantise

EncodeTokensFn = Callable[[Sequence[str], Callable[[int, int], None]], list[TokenEmbedding]]
FORMAT = "int8-per-token-scale-v1"


def token_cache_key() -> str:
    """What the stored token vectors depend on: the model and the code that runs it (model_key), and
    this file's layout. How the chunks were embedded (bf16, fp32) is in the label."""
    return embedding_key(FORMAT)


class TokenCache:
    """int8 token vectors and per-token scales by sha256 of the embedded text."""

    def __init__(self, cache_dir: Path, label: str, key: str) -> None:
        self.path = cache_dir / f"{label}-tokens-{key}.npz"
        self._values = np.zeros((0, 0), np.int8)
        self._scales = np.zeros(0, np.float32)
        self._bounds: dict[bytes, tuple[int, int]] = {}
        self._new: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        try:
            with np.load(self.path) as f:
                keys, counts, values, scales = f["keys"], f["counts"], f["values"], f["scales"]
            ends = np.cumsum(counts)
            if not (keys.ndim == 2 and keys.shape[1] == 32 and len(keys) == len(counts)):
                raise ValueError("keys and counts disagree")
            if (ends[-1] if len(ends) else 0) != len(values) or len(values) != len(scales):
                raise ValueError("counts and vectors disagree")
            self._values, self._scales = values, scales
            starts = ends - counts
            self._bounds = {k.tobytes(): (int(s), int(e)) for k, s, e in zip(keys, starts, ends, strict=True)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError) as e:
            print(f"followup: ignoring the token cache {self.path} ({e}); embedding again", file=sys.stderr)

    def __len__(self) -> int:
        return len(self._bounds) + len(self._new)

    def __contains__(self, text: str) -> bool:
        digest = text_digest(text)
        return digest in self._bounds or digest in self._new

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Texts without stored tokens, each once, in first-seen order."""
        return [t for t in dict.fromkeys(texts) if t not in self]

    def add(self, texts: Sequence[str], embeddings: Sequence[TokenEmbedding]) -> None:
        for text, embedding in zip(texts, embeddings, strict=True):
            self._new[text_digest(text)] = quantise(embedding.vectors)

    def get(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A text's int8 token vectors and their scales (late_interaction.dequantise turns them back)."""
        return self._get(text_digest(text))

    def _get(self, digest: bytes) -> tuple[np.ndarray, np.ndarray]:
        if digest in self._new:
            return self._new[digest]
        start, end = self._bounds[digest]
        return self._values[start:end], self._scales[start:end]

    def save(self) -> None:
        """Write everything held (what was loaded and what was added), atomically."""
        if not self._new:
            return
        digests = [*self._bounds, *self._new]
        parts = [self._get(d) for d in digests]
        values = np.concatenate([v for v, _ in parts]).astype(np.int8)
        scales = np.concatenate([s for _, s in parts]).astype(np.float32)
        counts = np.array([len(s) for _, s in parts], dtype=np.int64)
        with atomic_path(self.path) as temporary, temporary.open("wb") as f:
            np.savez(f, keys=np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32), counts=counts,
                     values=values, scales=scales)  # fmt: skip
        ends = np.cumsum(counts)
        self._values, self._scales, self._new = values, scales, {}
        self._bounds = {d: (int(e - c), int(e)) for d, c, e in zip(digests, counts, ends, strict=True)}


def cached_tokens(texts: Sequence[str], encode: EncodeTokensFn, cache_dir: Path, label: str, key: str) -> TokenCache:
    """The cache for `label`, with every text of `texts` in it: the missing ones embedded (with a
    progress line) and saved before returning."""
    cache = TokenCache(cache_dir, label, key)
    missing = cache.missing(texts)
    if missing:
        print(f"token vectors: {len(missing)} chunk texts to embed, {len(set(texts)) - len(missing)} cached",
              file=sys.stderr)  # fmt: skip
        cache.add(missing, encode(missing, ProgressLine(f"token vectors {label}")))
        cache.save()
    return cache
