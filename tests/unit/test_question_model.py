"""The question model's int8 weight blocks, on a graph of one product: the numbers stay close to fp32,
and quantising leaves the caller's logging as it was (onnxruntime's quantizer configures the root
logger when imported)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from followup.embed.question_model import quantised

INPUTS, OUTPUTS = 128, 96


def one_product(weights: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="product")],
        "one-product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", INPUTS])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", OUTPUTS])],
        [numpy_helper.from_array(weights, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, path: Path, x: np.ndarray) -> np.ndarray:
    onnx.save(model, str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def test_int8_weight_blocks_stay_close_to_fp32_and_leave_logging_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 0.05, (INPUTS, OUTPUTS)).astype(np.float32)
    x = rng.normal(0, 1, (5, INPUTS)).astype(np.float32)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    model = quantised(one_product(weights))
    assert list(root.handlers) == handlers and root.level == level
    assert [node.op_type for node in model.graph.node] == ["MatMulNBits"]
    exact = run(one_product(weights), tmp_path / "fp32.onnx", x)
    approximate = run(model, tmp_path / "int8.onnx", x)
    norms = np.linalg.norm(exact, axis=1) * np.linalg.norm(approximate, axis=1)
    cosines = np.sum(exact * approximate, axis=1) / norms
    assert float(cosines.min()) > 0.999
    assert not np.array_equal(exact, approximate)  # quantised, not passed through
