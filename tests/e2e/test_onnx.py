"""The ONNX query path: the fp32 export embeds as sentence-transformers does, the question model within
MIN_QUESTION_FIDELITY of it, and answering imports no torch."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from followup.answerer import Answerer
from followup.embed.cpu import int8_dot_products
from followup.embed.encoder import OnnxQueryEncoder
from followup.embed.question_model import MIN_QUESTION_FIDELITY
from followup.embed.torch_encoder import Encoder
from followup.evaluate.suites import load_suite
from followup.index.layout import QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE, current_build

pytestmark = pytest.mark.model

SUITE = Path(__file__).resolve().parents[2] / "evals" / "muscle-spasm-suite.jsonl"


def test_the_index_answers_through_the_question_model_for_this_cpu(answerer: Answerer) -> None:
    assert isinstance(answerer.encoder, OnnxQueryEncoder)
    assert answerer.index.query_model is not None
    expected = QUESTION_MODEL_FILE if int8_dot_products() else QUESTION_MODEL_FP32_FILE
    assert answerer.index.query_model.name == expected


@pytest.mark.parametrize(
    ("file", "int8_products", "fidelity"),
    [(QUESTION_MODEL_FP32_FILE, 0, (0.999, 1.0001)), (QUESTION_MODEL_FILE, 18, (MIN_QUESTION_FIDELITY, 0.99999))],
)
def test_both_question_models_are_fused_and_close_to_sentence_transformers(
    built: tuple[Path, Path], answerer: Answerer, file: str, int8_products: int, fidelity: tuple[float, float]
) -> None:
    path = current_build(built[1]).path / file
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Attention"] == 6 and ops["MatMulNBits"] == int8_products, ops
    assert ops["MatMul"] == (0 if int8_products else 18), ops
    texts = [item.question for item in load_suite(SUITE)]
    texts += [answerer.index.documents[c.doc_id].text[c.start : c.end] for c in answerer.index.chunks[:20]]
    question = OnnxQueryEncoder(path).encode(texts)
    reference = Encoder().encode(texts)
    lowest = float(np.sum(question * reference, axis=1).min())
    # The int8 model's upper bound: int8 weights, not the fp32 model under another name.
    assert fidelity[0] <= lowest < fidelity[1]


def test_onnx_embeddings_match_sentence_transformers(built: tuple[Path, Path], answerer: Answerer) -> None:
    texts = [item.question for item in load_suite(SUITE)][:60]
    texts += [answerer.index.documents[c.doc_id].text[c.start : c.end] for c in answerer.index.chunks[:40]]
    texts.append("Muscle spasms are common in chronic spinal cord injury. " * 40)  # past 256 tokens: truncated alike
    onnx = OnnxQueryEncoder(current_build(built[1]).path / "query-encoder.onnx").encode(texts)
    reference = Encoder().encode(texts)
    assert float(np.min(np.sum(onnx * reference, axis=1))) >= 0.999


def test_asking_imports_no_torch(built: tuple[Path, Path]) -> None:
    corpus, index = built
    code = (
        "import sys; from followup.cli import main; "
        f"code = main(['ask', 'What dose of baclofen?', '--index', {str(index)!r}, '--corpus', {str(corpus)!r}]); "
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', code)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "NO-TORCH 0", result.stderr
    assert "10-20 mg three times daily" in result.stdout


def test_bulk_torch_and_onnx_embed_chunks_alike(built: tuple[Path, Path], answerer: Answerer) -> None:
    """A large build embeds on torch (bfloat16 where the CPU has it), a small one on onnxruntime; an
    index mixes both, so their dense, sentence and token vectors must agree."""
    from followup.embed.bulk_encoder import TorchPassEncoder
    from followup.embed.chunk_embeddings import embed_chunks
    from followup.index.build import chunk_texts

    index = answerer.index
    texts = chunk_texts(list(index.chunks)[:12], [index.documents[d] for d in index.documents])
    onnx = OnnxQueryEncoder(current_build(built[1]).path / "query-encoder.onnx")
    torch_encoder = TorchPassEncoder(Encoder())
    by_onnx = embed_chunks(texts, lambda _: [onnx])
    by_torch = embed_chunks(texts, lambda _: [torch_encoder])
    for a, b in zip(by_onnx, by_torch, strict=True):
        assert float(a.vector @ b.vector) >= 0.9999
        cosines = np.sum(a.sentences * b.sentences, axis=1) / np.prod(
            [np.linalg.norm(a.sentences, axis=1), np.linalg.norm(b.sentences, axis=1)], axis=0
        )
        assert float(cosines.min()) >= 0.9999
        assert np.array_equal(a.tokens.spans, b.tokens.spans)
        assert np.abs(a.tokens.values.astype(int) - b.tokens.values.astype(int)).max() <= 3  # int8 steps
