//! Gather, GatherElements, GatherND: every output element is a copy of one input element, so
//! the gradient is routed back to the sources by [`route_back`] (repeated indices add up;
//! negative indices, scalar indices and indices computed at run time are resolved by the op
//! itself). The indices carry no gradient.
//!
//! Fast path: `Gather` with constant indices that pick one contiguous ascending run
//! `[s, s + k)` of an axis of static extent (torchvision's attention takes q, k and v as
//! `Gather(packed, 0|1|2, axis 0)`; ViT's class token as index 0 of the tokens) is a slice, so
//! its gradient is a zero Pad (a scalar index first restores the removed axis) — recorded as a
//! block, so the gradients of Gathers that together tile the axis are concatenated.

use super::route::route_back;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir::{self, op};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, _, g| {
        Ok(match contiguous_run(ctx, n)? {
            Some(run) => {
                let g = if run.scalar {
                    let ax = ctx.ints(&[run.axis as i64]);
                    ctx.node("Unsqueeze", &[g, &ax], vec![])
                } else {
                    g.to_string()
                };
                ctx.pad_block(&g, run.rank, run.axis, run.start, run.len, run.extent)
            }
            None => route_back(ctx, n, g),
        })
    })
}

/// A Gather that is a unit-step slice: which run of which axis it takes.
struct Run {
    rank: usize,
    axis: usize,
    start: i64,
    len: i64,
    extent: i64,
    /// A scalar index: the output lacks the axis.
    scalar: bool,
}

/// The run a `Gather` with constant, contiguous ascending indices takes; `None` for any other
/// selection, and for an axis of static extent 1 (it may be the batch, whose extent varies).
fn contiguous_run(ctx: &Ctx, n: &NodeProto) -> Result<Option<Run>, GraphError> {
    if op(n) != "Gather" {
        return Ok(None);
    }
    let Some(tensor) = ctx.const_tensor(&n.input[1]) else {
        return Ok(None);
    };
    let scalar = tensor.dims.is_empty();
    if tensor.dims.len() > 1 {
        return Ok(None);
    }
    let Some(idx) = ctx.const_ints(&n.input[1]) else {
        return Ok(None);
    };
    let xs = ctx.shape(&n.input[0])?;
    let rank = xs.len();
    let axis = ctx.axis(n, ir::attr_i(n, "axis").unwrap_or(0), rank)?;
    let extent = xs[axis];
    if extent <= 1 || idx.is_empty() {
        return Ok(None);
    }
    let idx: Vec<i64> = idx
        .iter()
        .map(|&i| if i < 0 { i + extent } else { i })
        .collect();
    let start = idx[0];
    let contiguous = idx.iter().enumerate().all(|(k, &i)| i == start + k as i64);
    if !contiguous || start < 0 || start + idx.len() as i64 > extent {
        return Ok(None);
    }
    Ok(Some(Run {
        rank,
        axis,
        start,
        len: idx.len() as i64,
        extent,
        scalar,
    }))
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, tensor_i64};
    use crate::testing::{gradient_op_types, graph_case, node, uniform};

    #[test]
    fn gather_constant_indices() {
        let x = uniform(&[1, 4, 5], -1.0, 1.0, 1);
        // Repeated (2) and negative (-1 = 3) indices, a 2-D index tensor.
        let idx = tensor_i64("i", &[2, 2], &[0, 2, -1, 2]);
        let nodes = vec![
            node("Gather", &["x", "i"], &["g"], vec![a_int("axis", 1)]),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![idx])
            .check("Gather axis 1, 2-D indices with repeats", &x);
        // ViT's class token: a scalar index removes the axis.
        let idx = tensor_i64("i", &[], &[0]);
        let nodes = vec![node("Gather", &["x", "i"], &["y"], vec![a_int("axis", 1)])];
        graph_case(nodes)
            .inits(vec![idx])
            .check("Gather class token", &x);
        let idx = tensor_i64("i", &[3], &[-2, 4, -2]);
        let nodes = vec![node("Gather", &["x", "i"], &["y"], vec![a_int("axis", -1)])];
        graph_case(nodes)
            .inits(vec![idx])
            .opset(18)
            .check("Gather axis -1", &x);
    }

    #[test]
    fn gathers_tiling_an_axis_concatenate() {
        // torchvision's attention: q, k, v = packed[0], packed[1], packed[2].
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 5);
        let inits = vec![
            tensor_i64("i0", &[], &[0]),
            tensor_i64("i1", &[], &[1]),
            tensor_i64("i2", &[], &[-1]),
        ];
        let nodes = || {
            vec![
                node("Gather", &["x", "i0"], &["q"], vec![a_int("axis", 1)]),
                node("Gather", &["x", "i1"], &["k"], vec![a_int("axis", 1)]),
                node("Gather", &["x", "i2"], &["v"], vec![a_int("axis", 1)]),
                node("Mul", &["q", "k"], &["qk"], vec![]),
                node("Add", &["qk", "v"], &["s"], vec![]),
                node("Tanh", &["s"], &["y"], vec![]),
            ]
        };
        graph_case(nodes())
            .inits(inits.clone())
            .check("q, k, v Gathers", &x);
        let ops = gradient_op_types(nodes(), inits, &[1, 3, 4]);
        assert!(ops.iter().any(|o| o == "Concat"), "{ops:?}");
        for absent in ["Pad", "Sum", "ScatterElements"] {
            assert!(!ops.iter().any(|o| o == absent), "{absent} in {ops:?}");
        }
        // A contiguous 1-D run, and a partial cover: padded, summed, no routing.
        let inits = vec![
            tensor_i64("i0", &[2], &[1, 2]),
            tensor_i64("i1", &[1], &[1]),
        ];
        let nodes = || {
            vec![
                node("Gather", &["x", "i0"], &["a"], vec![a_int("axis", 1)]),
                node("Gather", &["x", "i1"], &["b"], vec![a_int("axis", 1)]),
                node("Mul", &["a", "b"], &["y"], vec![]),
            ]
        };
        graph_case(nodes())
            .inits(inits.clone())
            .check("overlapping runs", &x);
        let ops = gradient_op_types(nodes(), inits, &[1, 3, 4]);
        assert!(ops.iter().any(|o| o == "Pad"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "ScatterElements"), "{ops:?}");
    }

    #[test]
    fn gather_run_time_indices() {
        // The last column, its index computed from Shape at run time (dynamic batch: the
        // check also runs the gradient graph at batch 3).
        let x = uniform(&[1, 3, 5], -1.0, 1.0, 2);
        let inits = vec![tensor_i64("two", &[], &[2]), tensor_i64("one", &[], &[1])];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "two"], &["w"], vec![]),
            node("Sub", &["w", "one"], &["last"], vec![]),
            node("Gather", &["x", "last"], &["g"], vec![a_int("axis", 2)]),
            node("Tanh", &["g"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("Gather with a run-time index", &x);
    }

    #[test]
    fn gather_elements() {
        // Run-time indices: a constant pattern expanded to the batch (from Shape).
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 3);
        let inits = vec![
            tensor_i64(
                "pat",
                &[1, 3, 5],
                &[0, 3, 3, -1, 1, 2, 2, 0, -4, 1, 3, 0, 1, 2, 3],
            ),
            tensor_i64("rest", &[2], &[3, 5]),
            tensor_i64("zero", &[1], &[0]),
            tensor_i64("one", &[1], &[1]),
        ];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Slice", &["s", "zero", "one"], &["n"], vec![]),
            node("Concat", &["n", "rest"], &["shape"], vec![a_int("axis", 0)]),
            node("Expand", &["pat", "shape"], &["idx"], vec![]),
            node(
                "GatherElements",
                &["x", "idx"],
                &["g"],
                vec![a_int("axis", 2)],
            ),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .check("GatherElements, run-time indices with repeats", &x);
        let idx = tensor_i64("i", &[1, 2, 4], &[2, 0, 0, 1, -1, 1, 2, 2]);
        let nodes = vec![node(
            "GatherElements",
            &["x", "i"],
            &["y"],
            vec![a_int("axis", 1)],
        )];
        graph_case(nodes)
            .inits(vec![idx])
            .fixed_batch()
            .check("GatherElements axis 1, constant indices", &x);
    }

    #[test]
    fn gather_nd() {
        let x = uniform(&[1, 3, 4, 2], -1.0, 1.0, 4);
        // batch_dims = 1: per image, pick (row, col) pairs, one of them twice.
        let idx = tensor_i64("i", &[1, 3, 2], &[0, 1, 2, 3, 0, 1]);
        let nodes = vec![
            node(
                "GatherND",
                &["x", "i"],
                &["g"],
                vec![a_int("batch_dims", 1)],
            ),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![idx])
            .fixed_batch()
            .check("GatherND batch_dims 1", &x);
    }
}
