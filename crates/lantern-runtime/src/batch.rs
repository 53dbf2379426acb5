//! Static-batch models. PyTorch's default exporter fixes the batch at 1; Lantern's batched
//! methods (occlusion, SmoothGrad, CAM captures, …) would then die with ONNX Runtime's "Got
//! invalid dimensions for input". At load, [`crate::Model`] makes the batch symbolic in its copy
//! of the graph (`lantern_graph::surgery::batch`) and checks the rewrite by running it at batch
//! [`CHECK_BATCH`] against batch-1 runs of the original; if the graph cannot be rewritten or the
//! check fails, every session runs image by image instead ([`BatchMode::OneByOne`]), said on
//! stderr at load and recorded in the run's manifest. Never an ONNX Runtime dimension error.

use crate::error::{Result, RuntimeError};
use ndarray::{Array2, Array4, Axis, concatenate};

/// The batch size of the load-time check.
pub const CHECK_BATCH: usize = 3;

/// How a model takes batches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum BatchMode {
    /// The batch is symbolic as exported.
    Dynamic,
    /// The file fixes the batch at 1; Lantern's copy of the graph has a symbolic batch (the
    /// changes made), checked at batch [`CHECK_BATCH`] against batch-1 runs.
    Symbolic { changes: Vec<String> },
    /// The file fixes the batch at 1 and the graph could not be made batch-symbolic (why):
    /// every ONNX Runtime call runs one image.
    OneByOne { reason: String },
}

impl BatchMode {
    /// Whether sessions must be run one image at a time.
    pub fn one_by_one(&self) -> bool {
        matches!(self, BatchMode::OneByOne { .. })
    }

    /// One line for stderr and reports; `None` for a dynamic batch.
    pub fn note(&self) -> Option<String> {
        match self {
            BatchMode::Dynamic => None,
            BatchMode::Symbolic { changes } => Some(format!(
                "the model fixes its batch at 1; Lantern made it symbolic in its copy of the graph ({} change{}, checked at batch {CHECK_BATCH})",
                changes.len(),
                if changes.len() == 1 { "" } else { "s" }
            )),
            BatchMode::OneByOne { reason } => Some(format!(
                "the model fixes its batch at 1 and could not be made batch-symbolic ({reason}); running it one image at a time (slower)"
            )),
        }
    }
}

/// A deterministic image batch in [-1, 1) for the load-time check.
pub(crate) fn check_images(c: usize, h: usize, w: usize) -> Array4<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    Array4::from_shape_fn((CHECK_BATCH, c, h, w), |_| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    })
}

/// Rows of per-image results joined on axis 0.
pub(crate) fn join_rows<D: ndarray::RemoveAxis>(
    parts: &[ndarray::Array<f32, D>],
) -> ndarray::Array<f32, D> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(0), &views).expect("per-image results share their shape")
}

/// A run's logits `[n, K]` from its raw output (any shape with n·K elements); a reshape failure
/// is a run error of `model`.
pub(crate) fn logit_rows(
    model: &str,
    raw: ndarray::ArrayViewD<f32>,
    n: usize,
) -> Result<Array2<f32>> {
    Ok(raw
        .to_shape((n, raw.len() / n.max(1)))
        .map_err(|e| RuntimeError::Run {
            model: model.to_string(),
            message: e.to_string(),
        })?
        .into_owned())
}
