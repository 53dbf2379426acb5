//! The incremental planner's cost model: its knobs ([`PlanOptions`], including which
//! [`Segmentation`] to consider) and the price of one node, which both segmentations
//! ([`super::incremental`], [`super::fused`]) add up.

use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::{NodeProto, TensorProto};
use std::collections::HashMap;

/// Knobs of the cost model (units: multiply-accumulates per window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// The cost of one float copied into a crop or out of a box, or through a slice or mask
    /// (ours and ONNX Runtime's layout changes at segment boundaries).
    pub copy_cost: f64,
    /// The cost of one float an op writes (ops ONNX Runtime fuses into the one before — batch
    /// norms, activations — write none). Memory traffic, not arithmetic, bounds thin layers:
    /// on a 2-core CPU MobileNetV2 (0.3 G multiply-accumulates) takes as long as ResNet18 (1.8 G).
    pub store_cost: f64,
    /// The fixed cost of one session call.
    pub call_cost: f64,
    /// The plan is used only when its estimated cost is below this fraction of full inference.
    pub max_fraction: f64,
    /// Windows per session call assumed when pricing.
    pub batch: usize,
    /// At most this many exits (each is one more session holding the suffix's weights).
    pub max_exits: usize,
    /// Which segmentation to consider (both by default; the cheaper is used).
    pub segmentation: Segmentation,
    /// Krypton's projective-field threshold (0 < τ ≤ 1; 1 = exact): changed regions are
    /// truncated to τ of their map per axis (see [`super::incremental::approximate`]).
    pub tau: f64,
}

/// How the part before the exits is split into segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Segmentation {
    /// Both; the cheaper estimate wins.
    #[default]
    Auto,
    /// One segment per window op: nothing is computed twice, every window op's input is copied.
    PerOp,
    /// One segment per stretch between cut tensors: only cut tensors are copied, the ops between
    /// are recomputed over the output box's receptive field (see [`super::fused`]).
    Fused,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            copy_cost: 400.0,
            store_cost: 200.0,
            call_cost: 5.0e6,
            max_fraction: 0.9,
            batch: 32,
            max_exits: 3,
            segmentation: Segmentation::Auto,
            tau: 1.0,
        }
    }
}

/// The estimated cost of a node at batch 1: its multiply-accumulates and the floats it writes.
pub(super) fn node_cost(
    node: &NodeProto,
    shapes: &TensorShapes,
    constants: &HashMap<String, TensorProto>,
    options: &PlanOptions,
) -> f64 {
    // Ops ONNX Runtime fuses into the op before them write nothing of their own.
    let fused_away = matches!(
        op(node),
        "BatchNormalization"
            | "Relu"
            | "Clip"
            | "LeakyRelu"
            | "Sigmoid"
            | "HardSigmoid"
            | "HardSwish"
            | "Tanh"
            | "Identity"
            | "Dropout"
    );
    let written = if fused_away {
        0.0
    } else {
        node.output
            .iter()
            .filter_map(|o| shapes.get(o))
            .map(|s| s.iter().map(|&d| d.max(1) as f64).product::<f64>())
            .sum()
    };
    node_macs(node, shapes, constants) + options.store_cost * written
}

/// A node's multiply-accumulates at batch 1 (window ops: per output element times the window;
/// everything else: one per output element), to compare the cost of graph parts.
pub fn node_macs(
    node: &NodeProto,
    shapes: &TensorShapes,
    constants: &HashMap<String, TensorProto>,
) -> f64 {
    let numel = |t: &str| {
        shapes
            .get(t)
            .map(|s| s.iter().map(|&d| d.max(1) as f64).product::<f64>())
            .unwrap_or(0.0)
    };
    let out = node.output.first().map(|o| numel(o)).unwrap_or(0.0);
    match op(node) {
        "Conv" => {
            let w = node
                .input
                .get(1)
                .and_then(|w| {
                    constants
                        .get(w)
                        .map(|t| t.dims.clone())
                        .or_else(|| shapes.get(w).map(<[i64]>::to_vec))
                })
                .unwrap_or_default();
            // Weight [M, C/group, kh, kw]: each output element reads C/group·kh·kw inputs.
            out * w.iter().skip(1).map(|&d| d.max(1) as f64).product::<f64>()
        }
        "MaxPool" | "AveragePool" | "LpPool" => {
            out * ir::attr_ints(node, "kernel_shape")
                .unwrap_or_default()
                .iter()
                .map(|&d| d.max(1) as f64)
                .product::<f64>()
        }
        "GlobalAveragePool" | "GlobalMaxPool" | "ReduceMean" | "ReduceMax" | "ReduceSum" => {
            node.input.first().map(|i| numel(i)).unwrap_or(out)
        }
        "Gemm" | "MatMul" => {
            let k = node
                .input
                .first()
                .and_then(|a| shapes.get(a))
                .and_then(|s| s.last().copied())
                .unwrap_or(1)
                .max(1) as f64;
            out * k
        }
        _ => out,
    }
}
