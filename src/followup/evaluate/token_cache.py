"""Token vectors of a benchmark corpus's chunks, cached on disk by model and content, so a re-run does
not re-embed them (the token counterpart of evaluate/embedding_cache.py).

One file per corpus label and model, `<label>-tokens-<key>.npz` beside the pooled vectors: each
embedded text's sha256 (`keys`) and its token vectors as int8 with one scale per token, laid out as
a build's segments lay them out (token_vectors.PackedTokens); no spans, as a benchmark document is
scored whole. Texts missing from it are embedded and added (a changed chunking re-embeds only the
chunks that changed), and every save rewrites the file with all it holds, atomically. A damaged file
is ignored (its texts are embedded again), never trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.progress import ProgressLine
from followup.core.storage import atomic_path
from followup.embed.encoder import embedding_key, text_digest
from followup.embed.token_vectors import PackedTokens, TokenEmbedding, quantise

EncodeTokensFn = Callable[[Sequence[str], Callable[[int, int], None]], list[TokenEmbedding]]
# v2: the segments' layout (row offsets) where v1 kept token counts; a v1 file is not read, its texts are
# embedded again.
FORMAT = "int8-packed-tokens-v2"
log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


def token_cache_key() -> str:
    """What the stored token vectors depend on: the model and the code that runs it (model_key), and
    this file's layout. How the chunks were embedded (bf16, fp32) is in the label."""
    return embedding_key(FORMAT)


class TokenCache:
    """int8 token vectors and per-token scales by sha256 of the embedded text."""

    def __init__(self, cache_dir: Path, label: str, key: str) -> None:
        self.path = cache_dir / f"{label}-tokens-{key}.npz"
        self._stored = PackedTokens.packed([], 0)
        self._rows: dict[bytes, int] = {}  # a stored text's position in `_stored`
        self._new: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        try:
            with np.load(self.path) as f:
                keys, stored = f["keys"], PackedTokens.named(f)
            if not (keys.ndim == 2 and keys.shape[1] == 32 and len(keys) == len(stored.rows) - 1):
                raise ValueError("keys and rows disagree")
            if not stored.agrees():
                raise ValueError("rows and vectors disagree")
            self._stored = stored
            self._rows = {k.tobytes(): i for i, k in enumerate(keys)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError) as e:
            log.warning("followup: ignoring the token cache %s (%s); embedding again", self.path, e)

    def __len__(self) -> int:
        return len(self._rows) + len(self._new)

    def __contains__(self, text: str) -> bool:
        digest = text_digest(text)
        return digest in self._rows or digest in self._new

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Texts without stored tokens, each once, in first-seen order."""
        return [t for t in dict.fromkeys(texts) if t not in self]

    def add(self, texts: Sequence[str], embeddings: Sequence[TokenEmbedding]) -> None:
        for text, embedding in zip(texts, embeddings, strict=True):
            self._new[text_digest(text)] = quantise(embedding.vectors)

    def get(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A text's int8 token vectors and their scales (token_vectors.dequantise turns them back)."""
        return self._get(text_digest(text))

    def _get(self, digest: bytes) -> tuple[np.ndarray, np.ndarray]:
        if digest in self._new:
            return self._new[digest]
        return self._stored.text(self._rows[digest])

    def save(self) -> None:
        """Write everything held (what was loaded and what was added), atomically."""
        if not self._new:
            return
        digests = [*self._rows, *self._new]
        parts = [self._get(d) for d in digests]
        stored = PackedTokens.packed(parts, parts[0][0].shape[1])
        keys = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)
        arrays: dict[str, Any] = {"keys": keys, **stored.by_name()}  # Any: numpy's stubs type savez's ** as flags
        with atomic_path(self.path) as temporary, temporary.open("wb") as f:
            np.savez(f, **arrays)
        self._stored, self._new = stored, {}
        self._rows = {d: i for i, d in enumerate(digests)}


def cached_tokens(texts: Sequence[str], encode: EncodeTokensFn, cache_dir: Path, label: str, key: str) -> TokenCache:
    """The cache for `label`, with every text of `texts` in it: the missing ones embedded (with a
    progress line) and saved before returning."""
    cache = TokenCache(cache_dir, label, key)
    missing = cache.missing(texts)
    if missing:
        log.info("token vectors: %d chunk texts to embed, %d cached", len(missing), len(set(texts)) - len(missing))
        cache.add(missing, encode(missing, ProgressLine(f"token vectors {label}")))
        cache.save()
    return cache
