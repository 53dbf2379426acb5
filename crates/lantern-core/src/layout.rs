//! The memory layout of a model's image input, one type for preprocessing (lantern-data writes
//! the tensor in it) and the runtime (which transposes Lantern's NCHW batches into it).

use serde::{Deserialize, Serialize};

/// How the model wants its image tensor (the batch axis first in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[N, C, H, W]`: one image is `[C, H, W]` (PyTorch, most ONNX models).
    Nchw,
    /// `[N, H, W, C]`: one image is `[H, W, C]` (TensorFlow/Keras exports).
    Nhwc,
}
