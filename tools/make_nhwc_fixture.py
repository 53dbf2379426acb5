#!/usr/bin/env python3
"""Writes crates/lantern/tests/fixtures/nhwc-tiny.onnx (and its NCHW twin): a tiny Keras-style NHWC classifier as
tf2onnx exports one, for the end-to-end test of NHWC models (tests/nhwc.rs).

tf2onnx keeps the Keras input `[N,H,W,3]` (symbolic batch `unk__N`) and puts a Transpose to NCHW
in front of the first Conv, runs the convolutions in NCHW, and ends in the Softmax of Keras's
`Dense(activation="softmax")`. This graph has the same boundary: input `input_1` [unk__6,24,40,3]
→ Transpose(perm 0,3,1,2) → Conv 3→8 3×3 → Relu → Conv 8→8 3×3 → Relu → GlobalAveragePool →
Flatten → Gemm 8→4 → Softmax, output `predictions` [unk__6,4]; random weights, seed 0 (a few KB).
`nhwc-tiny-nchw-twin.onnx` is the same network without the Transpose (input [unk__6,3,24,40]):
Lantern's maps for the two must be equal.
TensorFlow is not needed: only the `onnx` and `numpy` packages (and onnxruntime for --check).

    python tools/make_nhwc_fixture.py [-o PATH] [--check]
"""
import argparse
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "crates/lantern/tests/fixtures/nhwc-tiny.onnx"
# Not square, so that a transpose the wrong way round cannot go unnoticed.
HEIGHT, WIDTH, CLASSES = 24, 40, 4


def build(seed: int = 0, nhwc: bool = True) -> onnx.ModelProto:
    """The NHWC model, or (nhwc=False) its NCHW twin: the same weights without the Transpose."""
    rng = np.random.default_rng(seed)

    def weight(name, *shape):
        fan_in = int(np.prod(shape[1:]))
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
        return numpy_helper.from_array(w, name)

    def bias(name, n):
        return numpy_helper.from_array(rng.normal(0.0, 0.1, size=n).astype(np.float32), name)

    inits = [
        weight("conv1/kernel", 8, 3, 3, 3), bias("conv1/bias", 8),
        weight("conv2/kernel", 8, 8, 3, 3), bias("conv2/bias", 8),
        numpy_helper.from_array(
            (rng.normal(0.0, 1.0, size=(8, CLASSES)) / np.sqrt(8)).astype(np.float32), "dense/kernel"),
        bias("dense/bias", CLASSES),
    ]
    first = "input_1__nchw" if nhwc else "input_1"
    nodes = [
        helper.make_node("Transpose", ["input_1"], ["input_1__nchw"], perm=[0, 3, 1, 2],
                         name="input_1__transpose"),
    ][: 1 if nhwc else 0] + [
        helper.make_node("Conv", [first, "conv1/kernel", "conv1/bias"], ["conv1"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["conv1"], ["conv1/relu"], name="conv1/relu"),
        helper.make_node("Conv", ["conv1/relu", "conv2/kernel", "conv2/bias"], ["conv2"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Relu", ["conv2"], ["conv2/relu"], name="conv2/relu"),
        helper.make_node("GlobalAveragePool", ["conv2/relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["pool/flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["pool/flat", "dense/kernel", "dense/bias"], ["dense"], name="dense"),
        helper.make_node("Softmax", ["dense"], ["predictions"], axis=-1, name="predictions"),
    ]
    graph = helper.make_graph(
        nodes, "nhwc_tiny",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__6", HEIGHT, WIDTH, 3] if nhwc else ["unk__6", 3, HEIGHT, WIDTH])],
        [helper.make_tensor_value_info("predictions", TensorProto.FLOAT, ["unk__6", CLASSES])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="tools/make_nhwc_fixture.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def check(path: pathlib.Path, twin: pathlib.Path) -> None:
    """The NHWC model on x equals its NCHW twin on x transposed."""
    import onnxruntime as ort
    run = lambda p, x: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(
        None, {"input_1": x})[0]
    x = np.random.default_rng(1).uniform(0, 1, size=(2, HEIGHT, WIDTH, 3)).astype(np.float32)
    p = run(path, x)
    assert p.shape == (2, CLASSES) and np.allclose(p.sum(1), 1, atol=1e-5), p
    assert np.allclose(p, run(twin, np.ascontiguousarray(x.transpose(0, 3, 1, 2))), atol=1e-6)
    print(f"check: {path.name} runs on ONNX Runtime {ort.__version__}: probabilities {p[0].round(3)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="run it on onnxruntime")
    args = ap.parse_args()
    twin = args.out.with_name(args.out.stem + "-nchw-twin.onnx")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path, nhwc in [(args.out, True), (twin, False)]:
        onnx.save(build(nhwc=nhwc), path)
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    if args.check:
        check(args.out, twin)


if __name__ == "__main__":
    main()
