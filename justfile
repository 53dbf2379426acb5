# Lantern: explain ONNX image classifiers. `just run experiments/plant.toml`, `just test`.
# Every recipe sets up what it needs itself (idempotent), so a fresh clone needs only the Rust
# toolchain, python3/pip and (for `run`/`test`) the assets or an internet connection for `fetch`.

set shell := ["bash", "-euo", "pipefail", "-c"]

ort_version := "1.32.0"
python := env_var_or_default("PYTHON", "python3")
assets := env_var_or_default("LANTERN_ASSETS", justfile_directory() / ".." / "shared" / "assets")
bin := justfile_directory() / "target" / "release" / "lantern"

default:
    @just --list

# Install the ONNX Runtime library (PyPI wheel, into .lantern/ort), a font for figures, the test fixtures (onnx package) and build the release binary.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! ls .lantern/ort/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
        echo "setup: installing onnxruntime=={{ort_version}} into .lantern/ort"
        {{python}} -m pip install --quiet --disable-pip-version-check --no-deps --target .lantern/ort "onnxruntime=={{ort_version}}"
    fi
    if [ ! -d .lantern/py/onnx/backend/test/data/light ]; then
        echo "setup: installing the onnx package (architecture-only test models) into .lantern/py"
        {{python}} -m pip install --quiet --disable-pip-version-check --no-deps --target .lantern/py onnx
    fi
    if [ -z "${LANTERN_FONT:-}" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
        echo "setup: installing fonts-dejavu-core (figure text)"
        if command -v apt-get >/dev/null; then
            SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
            $SUDO apt-get update -qq && $SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null
        else
            echo "setup: no apt-get; install DejaVu Sans or set LANTERN_FONT=/path/to/font.ttf" >&2; exit 1
        fi
    fi
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
        echo "setup: installing chromium (headless check of the HTML report in the tests)"
        if command -v apt-get >/dev/null; then
            SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
            $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
        else
            echo "setup: no apt-get; install chromium (or set LANTERN_CHROMIUM=/path/to/chrome) for the report test" >&2; exit 1
        fi
    fi
    cargo build --release --quiet --bin lantern

# Install the CUDA build of ONNX Runtime (onnxruntime-gpu) into .lantern/ort-gpu.
setup-gpu: setup
    {{python}} -m pip install --quiet --disable-pip-version-check --target .lantern/ort-gpu "onnxruntime-gpu=={{ort_version}}"

# Put models and images under data/: links the shared assets when present, else downloads.
fetch:
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p data
    if [ -d "{{assets}}/models" ]; then
        for d in models imagenet photos mnist plant-pathology-2020 plant-pathology-2021 plantvillage-apple; do
            [ -e "{{assets}}/$d" ] && ln -sfn "$(cd "{{assets}}/$d" && pwd)" "data/$d"
        done
        [ -d "{{assets}}/../reference" ] && ln -sfn "$(cd "{{assets}}/../reference" && pwd)" data/reference
        echo "fetch: linked assets from {{assets}} into data/"
    else
        echo "fetch: no assets folder ({{assets}}); downloading (each file checked by sha256)"
        cargo build --release --quiet --bin lantern
        {{bin}} fetch --data data
    fi

# Run an experiment: just run experiments/plant.toml [--set key=value ...]
run EXP *ARGS: setup fetch
    {{bin}} run {{EXP}} {{ARGS}}

# The whole test suite (release mode: the tests run real networks).
test: setup fetch
    bash tools/test_export.sh
    LANTERN_ASSETS="$(cd {{assets}} && pwd)" cargo test --release --workspace 2>&1

# Benchmarks: writes reports/bench/bench.csv and bench.md.
bench: setup fetch
    {{bin}} bench --out reports/bench

# Fuzz the ONNX reader and the TOML config parser: the property tests, then each cargo-fuzz target for SECONDS (needs `cargo install cargo-fuzz` and a nightly toolchain; without them the property tests run for SECONDS each instead).
fuzz SECONDS="60": setup fetch
    #!/usr/bin/env bash
    set -euo pipefail
    export LANTERN_ASSETS="$(cd {{assets}} && pwd)"
    if cargo +nightly fuzz --version >/dev/null 2>&1; then
        cargo test --release -p lantern --test fuzz_parsers -- --nocapture
        mkdir -p fuzz/corpus/onnx_model fuzz/corpus/experiment_toml
        cp experiments/*.toml fuzz/corpus/experiment_toml/
        cp "$LANTERN_ASSETS/models/mnist-8.onnx" fuzz/corpus/onnx_model/
        cargo +nightly fuzz run onnx_model -- -max_total_time={{SECONDS}}
        cargo +nightly fuzz run experiment_toml -- -max_total_time={{SECONDS}} -dict=fuzz/toml.dict
    else
        echo "fuzz: cargo-fuzz or a nightly toolchain is missing (cargo install cargo-fuzz; rustup toolchain install nightly): running the property tests for {{SECONDS}} s each instead"
        LANTERN_FUZZ_SECONDS={{SECONDS}} cargo test --release -p lantern --test fuzz_parsers -- --nocapture
    fi

# ---- Python peers (tools/): PyTorch export, peer benchmarks. Their own venv, never needed by Lantern itself.

peers_venv := ".lantern/peers-venv"
peers_pins := "torch==2.15.0 torchvision==0.29.2 captum==0.9.0 grad-cam==1.5.7 onnx==1.23.2 onnxruntime==" + ort_version

# Make .lantern/peers-venv: torch, torchvision, captum, grad-cam, onnx, onnxruntime from PyPI (the reference's versions; ~3.8 GB with PyPI's CUDA torch; LANTERN_PEERS_PIP_ARGS adds pip options).
peers-venv:
    #!/usr/bin/env bash
    set -euo pipefail
    venv="{{peers_venv}}"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, torchvision, captum, pytorch_grad_cam, onnx, onnxruntime" 2>/dev/null; then
        exit 0
    fi
    echo "peers-venv: installing {{peers_pins}} into $venv (PyPI's torch wheel pulls the CUDA libraries: a few GB)"
    {{python}} -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off ${LANTERN_PEERS_PIP_ARGS:-} {{peers_pins}}

# Export torchvision ViT-B/16 and ConvNeXt-T (random weights, seed 0; TorchScript exporter, opset 17, dynamic batch) into data/models/ for `lantern bench` and `just bench-peers`; skips files already there.
bench-models: peers-venv
    #!/usr/bin/env bash
    set -euo pipefail
    for arch in vit_b_16 convnext_tiny; do
        out="data/models/$arch.onnx"
        [ -s "$out" ] && continue
        {{peers_venv}}/bin/python tools/export_torchvision.py --arch "$arch" --weights none --seed 0 -o "$out.tmp" --check --tol 1e-4 \
            | grep -E '^(export|wrote|check)[: ]'
        mv "$out.tmp" "$out"
    done

# Time Captum / pytorch-grad-cam on the ResNet18 reference twin, ViT-B/16 and ConvNeXt-T: reports/bench/peers.{csv,md}, and peers-vs-lantern.md when reports/bench/bench.csv (just bench) exists.
bench-peers THREADS="2" *ARGS: peers-venv bench-models
    {{peers_venv}}/bin/python tools/bench_peers.py --threads {{THREADS}} --reference "{{assets}}/../reference/resnet18" --out reports/bench {{ARGS}}

# Test tools/export_torchvision.py: torch-free checks always; a real export with random weights where torch is installed.
test-export:
    bash tools/test_export.sh

zoo_venv := env_var_or_default("LANTERN_ZOO_VENV", ".lantern/zoo-venv")
zoo_full := env_var_or_default("LANTERN_ZOO_FULL", ".lantern/zoo-full")
zoo_pins := "torch==2.15.0 torchvision==0.29.2 timm==1.0.31 onnx==1.23.2 onnxscript==0.7.2 numpy==2.4.6 onnxruntime==" + ort_version

# Make the zoo's venv (.lantern/zoo-venv, or LANTERN_ZOO_VENV): torch, torchvision, timm, onnx, onnxscript, onnxruntime from PyPI, pinned (LANTERN_ZOO_PIP_ARGS adds pip options, e.g. PyTorch's CPU index).
zoo-venv:
    #!/usr/bin/env bash
    set -euo pipefail
    venv="{{zoo_venv}}"
    if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, torchvision, timm, onnx, onnxscript, onnxruntime" 2>/dev/null; }; then
        echo "zoo-venv: installing {{zoo_pins}} into $venv (PyPI's torch wheel pulls the CUDA libraries: a few GB)"
        {{python}} -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off ${LANTERN_ZOO_PIP_ARGS:-} {{zoo_pins}}
    fi

# Regenerate crates/lantern-graph/tests/zoo: reduced torchvision/timm classifiers (random seeded weights) through both PyTorch exporters, with float32/float64 autograd input gradients.
zoo-export *ARGS: zoo-venv
    "{{zoo_venv}}/bin/python" tools/export_zoo.py --out crates/lantern-graph/tests/zoo {{ARGS}}

# The full-size architectures (ViT-B/16 … Inception-v3, random seeded weights, standard input sizes, both exporters) into .lantern/zoo-full (or LANTERN_ZOO_FULL; ~3 GB), held to criterion 2 by the zoo test (failures examined for float32 kink flips by tools/zoo_kinks.py); writes the supported-architectures table into README.md. ARGS go to tools/export_zoo.py (e.g. --only vit,swin).
zoo *ARGS: setup zoo-venv
    #!/usr/bin/env bash
    set -euo pipefail
    out="{{zoo_full}}"
    "{{zoo_venv}}/bin/python" tools/export_zoo.py --full --out "$out" {{ARGS}}
    status=0
    LANTERN_ZOO_DIR="$(cd "$out" && pwd)" LANTERN_ZOO_REPORT="$(cd "$out" && pwd)/report.json" \
        cargo test --release -p lantern-graph --lib zoo_input_gradients -- --nocapture || status=$?
    "{{zoo_venv}}/bin/python" tools/zoo_kinks.py "$out/report.json" --full
    "{{zoo_venv}}/bin/python" tools/zoo_table.py "$out/report.json" --readme README.md
    exit $status
