//! `lantern_graph::decode_model` on arbitrary bytes: never panics; an accepted model re-encodes
//! stably and survives inspection. Seed corpus: `just fuzz` copies the MNIST model there.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = lantern_graph::decode_model(data) else {
        return;
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
});
