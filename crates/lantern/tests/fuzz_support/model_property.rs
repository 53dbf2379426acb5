//! The ONNX model reader's fuzz property, one copy for both fuzzers: the deterministic tests
//! (`tests/fuzz_parsers.rs`) and the cargo-fuzz target `fuzz/fuzz_targets/onnx_model.rs`, which
//! includes this file by path.

/// `lantern_graph::decode_model` on `bytes` never panics; an accepted model re-encodes stably
/// and survives inspection. Returns whether the bytes decoded.
pub fn check_model(bytes: &[u8]) -> bool {
    let Ok(model) = lantern_graph::decode_model(bytes) else {
        return false;
    };
    let encoded = lantern_graph::encode_model(&model);
    let again = lantern_graph::decode_model(&encoded).expect("a decoded model re-decodes");
    assert_eq!(
        lantern_graph::encode_model(&again),
        encoded,
        "encoding is not stable"
    );
    let shapes = lantern_graph::TensorShapes(Default::default());
    let _ = lantern_graph::graph_io(&model);
    let _ = lantern_graph::list_tensors(&model, &shapes);
    let _ = lantern_graph::default_cam_layer(&model, &shapes);
    let _ = lantern_graph::expose_all_tensors(&model);
    true
}
