//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, inspecting or differentiating a model.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The model file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a protobuf-encoded ONNX `ModelProto` with a graph.
    #[error("{}not an ONNX model ({reason})", path_prefix(.path))]
    NotOnnx {
        path: Option<PathBuf>,
        reason: String,
    },
    /// An op on the differentiated path has no reverse-mode rule.
    #[error(
        "no gradient rule for op {op_type} (node {node_name:?}) on the path from the input to the logits; \
         the table \"Supported ONNX ops\" in Lantern's README lists what has one (supported ops: {}). \
         Methods without gradients (occlusion, RISE, Score-CAM, Ablation-CAM) still work on this model",
        supported.join(", ")
    )]
    NoGradientRule {
        op_type: String,
        node_name: String,
        supported: Vec<&'static str>,
    },
    /// The op has a rule, but not for this attribute/input combination.
    #[error("cannot differentiate {op_type} node {node_name:?}: {detail}")]
    UnsupportedVariant {
        op_type: String,
        node_name: String,
        detail: String,
    },
    /// A tensor named by the caller does not exist in the graph.
    #[error("tensor {0:?} is not produced by any node of the graph")]
    UnknownTensor(String),
    /// A requested tensor exists but does not lie between the input and the logits.
    #[error("tensor {name:?} is not on a differentiable path from the input to the logits ({why})")]
    NotDifferentiable { name: String, why: String },
    /// A rule needs a static shape that the probe did not provide.
    #[error(
        "no static shape for tensor {0:?}: pass the shapes of one probe run (expose_all_tensors at batch 1)"
    )]
    MissingShape(String),
    /// The model is structurally unusable (no graph, no input, …).
    #[error("invalid model: {0}")]
    InvalidModel(String),
}

fn path_prefix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}
