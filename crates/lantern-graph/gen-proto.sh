#!/usr/bin/env bash
# Regenerates src/proto/onnx.rs: prost 0.14 messages for the full ONNX IR.
#
# The generated file is committed so that building Lantern needs neither protoc nor a build
# script. Run this only to move to a newer ONNX release. What it does:
#   1. pip install grpcio-tools onnx            (onnx ships onnx.proto; grpcio-tools ships protoc)
#   2. a wrapper `protoc` → `python3 -m grpc_tools.protoc "$@"`, exported as PROTOC
#   3. a throw-away cargo project that calls prost-build 0.14 on onnx.proto (proto2, package
#      `onnx`) and writes onnx.rs, copied to src/proto/onnx.rs
#
# Usage: crates/lantern-graph/gen-proto.sh [ONNX_VERSION]   (default 1.23.2)
# Environment: PYTHON (default python3); CARGO_NET_OFFLINE=true works when prost-build is cached.
set -euo pipefail

ONNX_VERSION="${1:-1.23.2}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 1. onnx.proto and protoc (into a private folder, not the user's site-packages).
"$PYTHON" -m pip install --quiet --target "$WORK/py" grpcio-tools "onnx==$ONNX_VERSION"
PROTO_DIR="$WORK/py/onnx"
test -f "$PROTO_DIR/onnx.proto" || { echo "onnx.proto not found in the onnx package" >&2; exit 1; }

# 2. protoc wrapper.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/protoc" <<WRAP
#!/usr/bin/env bash
PYTHONPATH="$WORK/py\${PYTHONPATH:+:\$PYTHONPATH}" exec "$PYTHON" -m grpc_tools.protoc "\$@"
WRAP
chmod +x "$WORK/bin/protoc"
export PROTOC="$WORK/bin/protoc"

# 3. prost-build 0.14 in a throw-away project.
mkdir -p "$WORK/gen/src" "$WORK/out"
cat > "$WORK/gen/Cargo.toml" <<'TOML'
[package]
name = "onnx-proto-gen"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
prost-build = "0.14"

[workspace]
TOML
cat > "$WORK/gen/src/main.rs" <<'RS'
fn main() {
    let mut args = std::env::args().skip(1);
    let proto_dir = args.next().expect("proto dir");
    let out_dir = args.next().expect("out dir");
    prost_build::Config::new()
        .out_dir(&out_dir)
        .compile_protos(&[format!("{proto_dir}/onnx.proto")], &[proto_dir])
        .expect("prost-build");
}
RS
cargo run --quiet --release --manifest-path "$WORK/gen/Cargo.toml" -- "$PROTO_DIR" "$WORK/out"
cp "$WORK/out/onnx.rs" "$HERE/src/proto/onnx.rs"
echo "wrote $HERE/src/proto/onnx.rs from onnx $ONNX_VERSION"
