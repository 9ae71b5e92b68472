"""Query embeddings through onnxruntime: the same all-MiniLM-L6-v2 without torch, so `followup ask`
starts in about a second instead of six. The ONNX file is exported from the packaged model when the
index is built (onnx_export.py, which needs torch) and checked against sentence-transformers there;
answering then needs only onnxruntime, tokenizers and numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from followup.embed.passes import ModelPasses


class OnnxQueryEncoder(ModelPasses):
    """The exported transformer in onnxruntime: every query, and builds too small to be worth importing
    torch for (chunk_embeddings.TORCH_FROM_TEXTS)."""

    chunk_batch = 4  # larger batches were slower per text on one thread (20 against 23 texts/s at 8)
    sentence_batch = 16

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        super().__init__()
        options = ort.SessionOptions()
        # One thread for queries: ~4 ms a query either way, and steady when the other core is busy.
        options.intra_op_num_threads = threads
        # Idle pool threads that spin wait for the next run take the cores numpy's products need next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _hidden(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (hidden,) = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        return np.asarray(hidden)
