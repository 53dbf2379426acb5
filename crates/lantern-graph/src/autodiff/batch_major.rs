//! Which tensors keep the batch on axis 0, so that `Ctx::unbroadcast` can reduce broadcast
//! gradients statically instead of with run-time shape checks.

use crate::ir::{self, op};
use crate::proto::NodeProto;
use std::collections::{HashMap, HashSet};

/// Ops whose output keeps the batch on axis 0 when their image-dependent inputs have it there
/// (with the same rank as the output): elementwise maps and broadcasting arithmetic, and ops
/// that work per image (convolutions, pools, normalisations, softmax over a non-batch axis).
const BATCH_PRESERVING: &[&str] = &[
    "Abs",
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Conv",
    "ConvTranspose",
    "Div",
    "Dropout",
    "Elu",
    "Erf",
    "Exp",
    "Gelu",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GroupNormalization",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "InstanceNormalization",
    "LRN",
    "LeakyRelu",
    "Log",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "PRelu",
    "Pow",
    "Reciprocal",
    "Relu",
    "Selu",
    "Sigmoid",
    "Softplus",
    "Sqrt",
    "Sub",
    "Sum",
    "Tanh",
    "Where",
];

/// Tensors whose axis 0 is the batch at every batch size and whose other extents do not depend
/// on it: the image input, then outputs of [`BATCH_PRESERVING`] ops (plus Flatten with
/// axis ≥ 1, Gemm without transA, Softmax/LogSoftmax/LayerNormalization/Concat off axis 0)
/// whose image-dependent inputs are all batch-major with the output's rank. Inputs that do not
/// depend on the image have the same shape at every batch. Anything else (Reshape, Transpose,
/// …) is left out, so the set errs on the side of the run-time shape checks.
pub(super) fn batch_major_tensors(
    forward: &[NodeProto],
    active: &HashSet<String>,
    input: &str,
    shapes: &HashMap<String, Vec<i64>>,
) -> HashSet<String> {
    let mut set = HashSet::from([input.to_string()]);
    for n in forward {
        let Some(out) = n.output.first().filter(|o| active.contains(*o)) else {
            continue;
        };
        let Some(rank) = shapes.get(out).map(Vec::len) else {
            continue;
        };
        if rank == 0 || !ir::is_default_domain(n) {
            continue;
        }
        let o = op(n);
        let axis_not_batch = |default: i64| {
            let a = ir::attr_i(n, "axis").unwrap_or(default);
            a != 0 && a != -(rank as i64)
        };
        let same_rank = match o {
            "Flatten" => ir::attr_i(n, "axis").unwrap_or(1) >= 1,
            "Gemm" => ir::attr_i(n, "transA").unwrap_or(0) == 0,
            "Softmax" | "LogSoftmax" | "LayerNormalization" => axis_not_batch(-1),
            "Concat" => axis_not_batch(0),
            _ => BATCH_PRESERVING.contains(&o),
        };
        if !same_rank {
            continue;
        }
        let ins: Vec<&String> = n
            .input
            .iter()
            .filter(|i| !i.is_empty() && active.contains(*i))
            .collect();
        let ok = match o {
            // Only the data input may depend on the image.
            "Flatten" | "Gemm" => ins.len() == 1 && *ins[0] == n.input[0] && set.contains(ins[0]),
            _ => {
                !ins.is_empty()
                    && ins
                        .iter()
                        .all(|i| set.contains(*i) && shapes.get(*i).map(Vec::len) == Some(rank))
            }
        };
        if ok {
            set.insert(out.clone());
        }
    }
    set
}
