"""The question models: what `followup ask` embeds a question with, exported from the packaged model
when an index is built, beside the fp32 export that small builds embed passages with (onnx_export.py).

A question is a few dozen tokens, so much of its pass is a fixed cost: a 3-token pass took 3.4 ms of a
15-token one's 5.8 (fp32, one thread; AMD EPYC, 2 cores, AVX-512). So attention runs as one fused
operator per layer (onnxruntime's BERT fusion, from the eager attention graph; torch's SDPA graph does
not fuse). Two files, one used by the CPU (embed/cpu.py, index/reader.question_model):
- the fused graph in fp32 (the same vectors as the fp32 export to 1e-7), for CPUs without int8 dot
  products;
- the fused graph with every other weight matrix in int8 blocks of 32 along its input (MatMulNBits),
  the activations quantised per block at run time (accuracy level 4: onnxruntime's int8 kernels), for
  CPUs with VNNI or AMX. Min cosine 0.9994 to sentence-transformers on the seed's questions (0.990 with
  int8 dynamic quantisation per channel), the same dev figures (docs/tuning.md)."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

import onnx

from followup.embed.onnx_export import MIN_FIDELITY, cached_query_model, check_fidelity, export_transformer

if TYPE_CHECKING:
    from followup.embed.torch_encoder import Encoder

WEIGHT_BITS = 8
WEIGHT_BLOCK = 32  # blocks of 128 were 0.4 ms faster and moved a near-tied dev question
INT8_ACCURACY_LEVEL = 4  # MatMulNBits' int8 compute; its fp32 level has no 8-bit kernel (22 ms a pass)
# Cosine to sentence-transformers' embedding below which the file is refused (measured: 0.9994 on the
# seed's questions, 0.9998 on passages).
MIN_QUESTION_FIDELITY = 0.998
log = logging.getLogger(__name__)


def export_fused_question_model(target: Path, encoder: Encoder, reference_texts: Sequence[str]) -> None:
    """Export the loaded model with fused attention to `target`, refused unless its embeddings of
    `reference_texts` match sentence-transformers' as closely as the fp32 export's (MIN_FIDELITY)."""
    transformer: Any = copy.deepcopy(encoder.model[0].auto_model)  # the build's own model keeps SDPA
    transformer.set_attn_implementation("eager")
    config = transformer.config
    with TemporaryDirectory(dir=target.parent) as scratch:
        raw = Path(scratch) / "eager.onnx"
        export_transformer(transformer, raw)
        fused = _fused(raw, config.num_attention_heads, config.hidden_size, config.num_hidden_layers)
    onnx.save(fused, str(target))
    check_fidelity(target, encoder, reference_texts, MIN_FIDELITY)


def export_int8_question_model(target: Path, encoder: Encoder, reference_texts: Sequence[str], fused: Path) -> None:
    """The `fused` question model with int8 weight blocks, to `target`, refused unless its embeddings of
    `reference_texts` stay within MIN_QUESTION_FIDELITY of sentence-transformers'."""
    onnx.save(quantised(onnx.load(str(fused))), str(target))
    check_fidelity(target, encoder, reference_texts, MIN_QUESTION_FIDELITY)


def kept_question_models(
    fp32: Path, int8: Path, encoder: Callable[[], Encoder], reference_texts: Sequence[str], announce: bool = False
) -> tuple[Path, Path]:
    """Both question models at their kept paths (onnx_export.kept_query_model), each exported there when
    missing (onnx_export.cached_query_model): the int8 one from the fp32 one."""
    cached_query_model(fp32, encoder, reference_texts, announce, export=export_fused_question_model)
    cached_query_model(int8, encoder, reference_texts, announce, export=partial(export_int8_question_model, fused=fp32))
    return fp32, int8


def _fused(raw: Path, heads: int, hidden: int, layers: int) -> onnx.ModelProto:
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet("onnxruntime.transformers"):  # "symbolic shape inference disabled or failed": expected
        model = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
    fused: onnx.ModelProto = model.model
    attention = sum(node.op_type == "Attention" for node in fused.graph.node)
    if attention != layers:  # still a valid model, checked for fidelity; only slower, its QKV quantised
        log.warning("the question model's attention fused in %d of %d layers", attention, layers)
    return fused


def quantised(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every MatMul's constant weights in int8 blocks (MatMulNBits)."""
    with _quiet("onnxruntime.quantization"):
        from onnxruntime.quantization.matmul_nbits_quantizer import (
            DefaultWeightOnlyQuantConfig,
            MatMulNBitsQuantizer,
        )

        config = DefaultWeightOnlyQuantConfig(
            block_size=WEIGHT_BLOCK, is_symmetric=True, accuracy_level=INT8_ACCURACY_LEVEL, bits=WEIGHT_BITS
        )
        quantizer = MatMulNBitsQuantizer(model, algo_config=config)
        quantizer.process()
    result: onnx.ModelProto = quantizer.model.model  # the ModelProto inside onnxruntime's wrapper
    return result


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Keep onnxruntime's tools from logging a line per node: importing its quantizer calls
    logging.basicConfig at INFO, which would reconfigure the caller's logging too."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    tool = logging.getLogger(logger)
    tool_level = tool.level
    tool.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        tool.setLevel(tool_level)
