//! Reading and writing models: protobuf decode/encode and the content hash.

use crate::GraphError;
use crate::proto::ModelProto;
use prost::Message;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Reads and decodes an ONNX model file. Errors name the file.
pub fn load_model(path: &Path) -> Result<ModelProto, GraphError> {
    let bytes = std::fs::read(path).map_err(|source| GraphError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_model(&bytes).map_err(|e| match e {
        GraphError::NotOnnx { reason, .. } => GraphError::NotOnnx {
            path: Some(path.to_path_buf()),
            reason,
        },
        other => other,
    })
}

/// Decodes a protobuf-encoded `ModelProto`.
///
/// Never panics: prost rejects truncated or malformed wire data (and nests at most 100 deep),
/// and a message that decodes but has no graph or no IR version is rejected too (garbage often
/// decodes as an empty message).
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, GraphError> {
    let not_onnx = |reason: String| GraphError::NotOnnx { path: None, reason };
    let m =
        ModelProto::decode(bytes).map_err(|e| not_onnx(format!("protobuf decode failed: {e}")))?;
    if m.ir_version.is_none() {
        return Err(not_onnx("no ir_version".into()));
    }
    if m.graph.is_none() {
        return Err(not_onnx("no graph".into()));
    }
    Ok(m)
}

/// Encodes a model to protobuf bytes.
pub fn encode_model(m: &ModelProto) -> Vec<u8> {
    m.encode_to_vec()
}

/// Lower-case hex SHA-256 of the bytes (the model's identity in caches and manifests).
pub fn model_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;
    use lantern_core::SplitMix64;

    #[test]
    fn mobilenet_round_trip_is_lossless() {
        lantern_core::skip_without_assets!();
        let path = assets_dir().join("models/mobilenetv2-12-float.onnx");
        let bytes = std::fs::read(&path).expect("MobileNetV2 asset");
        let m = load_model(&path).expect("load");
        let encoded = encode_model(&m);
        let again = decode_model(&encoded).expect("decode");
        assert_eq!(m, again, "decode(encode(m)) != m");
        assert_eq!(
            encode_model(&again),
            encoded,
            "re-encoding is not byte-identical"
        );
        // The file itself (protobuf C++ writer) re-encodes to the same bytes as well.
        assert_eq!(
            encoded, bytes,
            "prost's encoding differs from the file's bytes"
        );
        assert_eq!(
            model_hash(&bytes),
            "90b50f0603ab7185266ecad069a33ff1457e0599cb84a78c180c52a30f30062a"
        );
    }

    #[test]
    fn garbage_is_not_an_onnx_model() {
        for bytes in [
            &b""[..],
            b"hello, world",
            b"\xff\xff\xff\xff\xff",
            b"\x08\x07",
        ] {
            let e = decode_model(bytes).expect_err("garbage accepted");
            assert!(e.to_string().contains("not an ONNX model"), "{e}");
        }
        let dir = std::env::temp_dir().join(format!("lantern-graph-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let p = dir.join("garbage.onnx");
        std::fs::write(&p, b"definitely not protobuf \x00\x01").expect("write");
        let e = load_model(&p)
            .expect_err("garbage file accepted")
            .to_string();
        assert!(
            e.contains("garbage.onnx") && e.contains("not an ONNX model"),
            "{e}"
        );
        let e = load_model(&dir.join("missing.onnx"))
            .expect_err("missing file")
            .to_string();
        assert!(e.contains("missing.onnx"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn decode_never_panics_on_random_or_mutated_bytes() {
        lantern_core::skip_without_assets!();
        let model = std::fs::read(assets_dir().join("models/mnist-8.onnx")).expect("mnist asset");
        let mut r = SplitMix64::new(1);
        for i in 0..3000 {
            let bytes: Vec<u8> = if i % 2 == 0 {
                (0..r.below_scaled(300))
                    .map(|_| r.next_u64() as u8)
                    .collect()
            } else {
                let mut b = model.clone();
                for _ in 0..1 + r.below_scaled(8) {
                    let k = r.below_scaled(b.len());
                    b[k] = r.next_u64() as u8;
                }
                b.truncate(r.below_scaled(b.len() + 1));
                b
            };
            let _ = decode_model(&bytes);
        }
    }
}
