//! Which tensors keep the batch on axis 0, so that `Ctx::unbroadcast` can reduce broadcast
//! gradients statically instead of with run-time shape checks.

use crate::ir::{self, op};
use crate::proto::{NodeProto, TensorProto};
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
/// depend on the image have the same shape at every batch. Ops that move axes or change the
/// rank qualify only where axis 0 provably stays put: Transpose with perm[0] = 0, MatMul whose
/// right operand is a constant-shaped matrix (or both operands batch-major, rank ≥ 3),
/// Reshape to a constant target whose first entry is 0 (copy) or -1 with the other entries
/// covering exactly the per-image extents, Squeeze/Unsqueeze with constant axes off 0, and
/// Gather off axis 0 with constant indices. Anything else (computed Reshape targets, …) is
/// left out, so the set errs on the side of the run-time shape checks.
pub(super) fn batch_major_tensors(
    forward: &[NodeProto],
    active: &HashSet<String>,
    input: &str,
    shapes: &HashMap<String, Vec<i64>>,
    consts: &HashMap<String, TensorProto>,
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
        let const_ints = |k: usize| {
            n.input
                .get(k)
                .and_then(|name| consts.get(name))
                .and_then(ir::tensor_values_i64)
        };
        let in_rank = |k: usize| n.input.get(k).and_then(|i| shapes.get(i)).map(Vec::len);
        // Constant axes (attribute or input 1) that leave axis 0 alone, for ranks `rank_for`.
        let axes_off_batch = |rank_for: usize| {
            ir::attr_ints(n, "axes")
                .or_else(|| const_ints(1))
                .is_some_and(|axes| {
                    !axes.is_empty() && axes.iter().all(|&a| a != 0 && a != -(rank_for as i64))
                })
        };
        let same_rank = match o {
            "Flatten" => ir::attr_i(n, "axis").unwrap_or(1) >= 1,
            "Gemm" => ir::attr_i(n, "transA").unwrap_or(0) == 0,
            "Softmax" | "LogSoftmax" | "LayerNormalization" => axis_not_batch(-1),
            "Concat" => axis_not_batch(0),
            "Transpose" => ir::attr_ints(n, "perm").is_some_and(|p| p.first() == Some(&0)),
            "MatMul" => {
                rank >= 2
                    && in_rank(0) == Some(rank)
                    && match n.input.get(1) {
                        Some(b) if !active.contains(b) => in_rank(1) == Some(2),
                        Some(b) => rank >= 3 && set.contains(b) && in_rank(1) == Some(rank),
                        None => false,
                    }
            }
            "Reshape" => {
                let data = n.input.first().and_then(|i| shapes.get(i));
                let allowzero = ir::attr_i(n, "allowzero").unwrap_or(0) != 0;
                match (data, const_ints(1)) {
                    (Some(d), Some(t)) if !d.is_empty() && t.len() == rank => {
                        let per_image: i64 = d[1..].iter().product();
                        let rest_const = t[1..].iter().all(|&v| v > 0);
                        (t[0] == 0 && !allowzero && t[1..].iter().all(|&v| v >= -1))
                            || (t[0] == -1
                                && rest_const
                                && t[1..].iter().product::<i64>() == per_image)
                    }
                    _ => false,
                }
            }
            "Unsqueeze" => axes_off_batch(rank),
            "Squeeze" => in_rank(0).is_some_and(axes_off_batch),
            "Gather" => {
                let a = ir::attr_i(n, "axis").unwrap_or(0);
                let indices_const = n.input.get(1).is_some_and(|i| consts.contains_key(i));
                indices_const && in_rank(0).is_some_and(|r| a != 0 && a != -(r as i64))
            }
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
            "Flatten" | "Gemm" | "Transpose" | "Reshape" | "Unsqueeze" | "Squeeze" | "Gather" => {
                ins.len() == 1 && *ins[0] == n.input[0] && set.contains(ins[0])
            }
            // Checked above: the left operand has the output's rank; a right operand is either
            // constant-shaped or batch-major too.
            "MatMul" => ins.iter().all(|i| set.contains(*i)) && ins.first() == Some(&&n.input[0]),
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
