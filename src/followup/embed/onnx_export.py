"""The query model's ONNX file, exported from the packaged model in torch when an index is built (or
a benchmark evaluated without one) and refused unless its embeddings match sentence-transformers'.
Kept once per model key (`cached_query_model`). Build side: it imports torch."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort

from followup.core.storage import atomic_path
from followup.embed.encoder import OnnxQueryEncoder, model_key

if TYPE_CHECKING:
    from followup.embed.torch_encoder import Encoder

# Cosine to sentence-transformers' embedding below which an export is refused (measured: 1 - 1.2e-7).
MIN_FIDELITY = 0.999
log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


def kept_query_model(directory: Path, file_name: str) -> Path:
    """Where `directory` keeps the export under this model key: a new model, or new code, exports anew."""
    return directory / f"{model_key()}-{file_name}"


def cached_query_model(
    target: Path, encoder: Callable[[], Encoder], reference_texts: Sequence[str], announce: bool = False,
    export: Callable[[Path, Encoder, Sequence[str]], None] | None = None,
) -> Path:  # fmt: skip
    """`target` (a kept_query_model path), exported there first when it does not exist: checked against
    sentence-transformers, written aside and renamed, so a killed run leaves no half model. `encoder`
    is called only to export (loading torch takes 5.6 s). `announce`: log where the export goes (a few
    seconds of a build's first run; an evaluation puts it in its cache, where nobody looks for a model).
    `export`: export_query_model unless given (the question model's is question_model.export_question_model)."""
    if not target.is_file():
        if announce:
            log.info("exporting the ONNX model to %s", target)
        with atomic_path(target) as temporary:
            (export or export_query_model)(temporary, encoder(), reference_texts)
    return target


def export_query_model(target: Path, encoder: Encoder, reference_texts: Sequence[str]) -> None:
    """Export the loaded model's transformer to ONNX and refuse the file unless its embeddings match
    sentence-transformers' on `reference_texts`. Runs in the index build, which has torch loaded."""
    raw = target.with_name(f"{target.name}.raw")
    export_transformer(encoder.model[0].auto_model, raw)
    _save_optimised(raw, target)
    raw.unlink()
    check_fidelity(target, encoder, reference_texts, MIN_FIDELITY)


def export_transformer(transformer: Any, target: Path) -> None:
    """The transformer's graph, input ids to last hidden state, as torch exports it."""
    import torch

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

    sample = torch.ones((1, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings from transformers' masking code
        # The TorchScript exporter: 2 s, no extra packages; the dynamo one gives the same embeddings.
        torch.onnx.export(
            LastHiddenState(), (sample, sample, torch.zeros_like(sample)), str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
            opset_version=17, dynamo=False,
        )  # fmt: skip


def check_fidelity(target: Path, encoder: Encoder, reference_texts: Sequence[str], bound: float) -> None:
    """Remove `target` and raise unless its embeddings of `reference_texts` reach cosine `bound` with
    sentence-transformers' everywhere."""
    expected = encoder.encode(reference_texts)
    actual = OnnxQueryEncoder(target).encode(reference_texts)
    fidelity = float(np.min(np.sum(expected * actual, axis=1)))
    if fidelity < bound:
        target.unlink()
        raise RuntimeError(f"{target.name}: ONNX export differs from sentence-transformers (min cosine {fidelity:.5f})")


def _save_optimised(source: Path, target: Path) -> None:
    """The graph with onnxruntime's portable optimisations (fusions, constant folding) already applied,
    so each query session starts in less time: 0.29 s against 0.43 s on these machines. Not the
    hardware-specific layouts of ORT_ENABLE_ALL, which sessions still apply: an index may be served on
    another CPU than the one that built it."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
