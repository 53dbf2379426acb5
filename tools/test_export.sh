#!/usr/bin/env bash
# Tests tools/export_torchvision.py (and that tools/bench_peers.py parses). Run by `just test`.
#
# Always (no torch needed, a few seconds): both scripts compile, `--help` works with plain
# python3 (torch is imported lazily), and running an export without torch fails with a message
# that says what to install.
# Where PyTorch is installed (the python in $LANTERN_PEERS_PYTHON, else .lantern/peers-venv, else
# python3 — whichever first imports torch, torchvision and onnxruntime): exports torchvision
# resnet18 with RANDOM weights (no download) and --check compares ONNX Runtime with torch; when
# the reference folder is present, the export must reproduce shared/reference/resnet18/model.onnx
# (its logits on cat_dog_input.npy to 1e-4; byte equality is reported, not required, since it
# depends on the torch version). Set LANTERN_TEST_EXPORT_FULL=1 to also export random VGG16
# (553 MB, ~20 s). Without torch it exits 0 saying that only the torch-free checks ran.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY3=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "test_export: FAIL: $*" >&2; exit 1; }

# 1. torch-free checks.
"$PY3" -m py_compile tools/export_torchvision.py tools/bench_peers.py || fail "py_compile"
help=$("$PY3" tools/export_torchvision.py --help) || fail "export_torchvision.py --help exited non-zero"
for opt in --arch --weights --seed --checkpoint --num-classes --check --fold --zero-params; do
    grep -q -- "$opt" <<<"$help" || fail "--help does not mention $opt"
done
"$PY3" tools/bench_peers.py --help >/dev/null || fail "bench_peers.py --help exited non-zero"
if ! "$PY3" -c "import torch" 2>/dev/null; then
    set +e
    msg=$("$PY3" tools/export_torchvision.py --arch resnet18 --weights none -o "$tmp/x.onnx" 2>&1)
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "export without torch should exit non-zero"
    grep -q "pip install torch" <<<"$msg" || fail "export without torch should say what to install; said: $msg"
fi
if "$PY3" -c "import torch" 2>/dev/null; then
    echo "test_export: torch-free checks passed (py_compile, --help of both scripts)"
else
    echo "test_export: torch-free checks passed (py_compile, --help of both scripts without torch, export without torch fails with an install hint)"
fi

# 2. With torch: a real export of random weights, checked against ONNX Runtime.
TORCH_PY=""
for cand in "${LANTERN_PEERS_PYTHON:-}" "$ROOT/.lantern/peers-venv/bin/python" "$PY3"; do
    [ -n "$cand" ] || continue
    if [ -x "$cand" ] || command -v "$cand" >/dev/null 2>&1; then
        if "$cand" -c "import torch, torchvision, onnxruntime, numpy" >/dev/null 2>&1; then
            TORCH_PY=$cand; break
        fi
    fi
done
if [ -z "$TORCH_PY" ]; then
    echo "test_export: SKIPPED the export itself: no python with torch, torchvision and onnxruntime"
    echo "test_export: (pip install torch torchvision onnx onnxruntime, or set LANTERN_PEERS_PYTHON; \`just bench-peers\` makes .lantern/peers-venv)"
    exit 0
fi
echo "test_export: exporting with $TORCH_PY ($("$TORCH_PY" -c 'import torch; print("torch", torch.__version__)'))"
"$TORCH_PY" tools/export_torchvision.py --arch resnet18 --weights none --seed 0 --check --tol 1e-4 \
    -o "$tmp/resnet18.onnx" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "resnet18 export/check"; }
grep -E '^(check|ops):' "$tmp/log"
grep -q 'preprocess = "imagenet"' "$tmp/log" || fail "no TOML hint printed"

# Graph contract: input `input` [batch,3,224,224] with a symbolic batch, output `logits`, opset 17,
# BatchNormalization kept; the model runs at batch 3. Reference reproduction when available.
REF=${LANTERN_REFERENCE:-}
if [ -z "$REF" ]; then
    for d in "${LANTERN_ASSETS:-/nonexistent}/../reference" "$ROOT/../shared/reference" "$ROOT/data/reference"; do
        [ -f "$d/resnet18/cat_dog_input.npy" ] && { REF=$d; break; }
    done
fi
"$TORCH_PY" - "$tmp/resnet18.onnx" "${REF:+$REF/resnet18}" <<'EOF' || fail "graph contract / reference reproduction"
import hashlib, os, sys
import numpy as np, onnxruntime as ort
path, ref = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
(i,), (o,) = s.get_inputs(), s.get_outputs()
assert i.name == "input" and o.name == "logits", (i.name, o.name)
assert isinstance(i.shape[0], str) and list(i.shape[1:]) == [3, 224, 224], i.shape
y = s.run(None, {"input": np.zeros((3, 3, 224, 224), np.float32)})[0]
assert y.shape == (3, 1000), y.shape
try:
    import onnx
    m = onnx.load(path)
    ops = [n.op_type for n in m.graph.node]
    assert [x.version for x in m.opset_import if x.domain in ("", "ai.onnx")] == [17]
    assert ops.count("BatchNormalization") == 20 and "Identity" not in ops, ops
    print("contract: input [batch,3,224,224], output logits, opset 17, 20 BatchNormalization, no Identity: OK")
except ImportError:
    print("contract: input [batch,3,224,224], output logits: OK (onnx not installed: ops not counted)")
if ref:
    x = np.load(os.path.join(ref, "cat_dog_input.npy"))
    want = np.load(os.path.join(ref, "cat_dog_logits.npy"))
    got = s.run(None, {"input": x})[0][0]
    d = float(np.abs(got - want).max())
    same = hashlib.sha256(open(path, "rb").read()).hexdigest() == \
        hashlib.sha256(open(os.path.join(ref, "model.onnx"), "rb").read()).hexdigest()
    print(f"reference: logits on cat_dog_input.npy vs cat_dog_logits.npy: max |diff| = {d:.3g}; "
          f"file {'byte-identical to' if same else 'differs in bytes from'} reference model.onnx")
    assert d <= 1e-4, d
else:
    print("reference: folder not found, reproduction not checked")
EOF

if [ "${LANTERN_TEST_EXPORT_FULL:-0}" = 1 ]; then
    "$TORCH_PY" tools/export_torchvision.py --arch vgg16 --weights none --seed 0 --check \
        -o "$tmp/vgg16.onnx" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "vgg16 export/check"; }
    grep -E '^(check|ops):' "$tmp/log"
fi
echo "test_export: OK"
