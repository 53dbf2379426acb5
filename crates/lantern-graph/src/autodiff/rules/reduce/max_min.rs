//! ReduceMax / ReduceMin: the gradient goes to the positions that attain the extremum,
//! `∂x = kept(g) · [x = kept(y)] / Σ_axes [x = kept(y)]`. On ties it is split evenly among the
//! tied positions, as PyTorch's `amax`/`amin` (and the full-tensor `max()`/`min()`) backward
//! does — so the gradient is a valid subgradient whatever the tie, and sums to `g`. (PyTorch's
//! `max(dim)`, which also returns indices, routes it to one index instead; the exporters write
//! that as ArgMax + Gather, not as ReduceMax.)

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::ir::a_int;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, r, x, g| {
        if r.noop {
            return Ok(g.to_string());
        }
        let y = r.kept(ctx, &n.output[0]);
        let hit = ctx.node("Equal", &[x, &y], vec![]);
        let hit = ctx.node("Cast", &[&hit], vec![a_int("to", ctx.dtype as i64)]);
        let ties = r.sum_kept(ctx, &hit);
        let share = ctx.div(g, &ties);
        Ok(ctx.mul(&share, &hit))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{Fd, distinct_values, grad_of, model, node, op_case};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn reduce_max_min_axes_forms() {
        // Distinct values 0.05 apart: a step of 0.01 never changes the winner.
        let x = distinct_values(&[1, 3, 4, 5], -1.5, 0.05, 1);
        let axes = tensor_i64("axes", &[2], &[-1, 2]);
        for op in ["ReduceMax", "ReduceMin"] {
            for keep in [0, 1] {
                let attrs = vec![a_ints("axes", &[-1, 2]), a_int("keepdims", keep)];
                op_case(op, &["x"], attrs)
                    .check(&format!("{op} attribute axes keepdims={keep}"), &x);
                op_case(op, &["x", "axes"], vec![a_int("keepdims", keep)])
                    .inits(vec![axes.clone()])
                    .opset(18)
                    .check(&format!("{op} input axes keepdims={keep}"), &x);
            }
            // No axes: every axis (the batch too, so the batch is fixed; kept as [1, 1, 1, 1]).
            let fixed = Fd {
                fixed_batch: true,
                ..Fd::default()
            };
            op_case(op, &["x"], vec![])
                .opset(18)
                .fd(&fixed)
                .check(&format!("{op} all axes"), &x);
            // noop_with_empty_axes: the identity.
            op_case(op, &["x"], vec![a_int("noop_with_empty_axes", 1)])
                .opset(18)
                .check(&format!("{op} noop"), &x);
        }
    }

    #[test]
    fn reduce_max_ties_split_evenly() {
        // Finite differences cannot see a tie (the one-sided slopes differ); the convention is
        // PyTorch's amax backward: each of k tied maxima gets g / k.
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 2, 3]), vec![1.0, 3.0, 3.0, 2.0, 2.0, 2.0])
            .expect("shape");
        let m = model(
            vec![node(
                "ReduceMax",
                &["x"],
                &["y"],
                vec![a_ints("axes", &[2]), a_int("keepdims", 0)],
            )],
            vec![],
            &[("x", &[-1, 2, 3])],
            &["y"],
            13,
        );
        let seed = ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, 3.0]).expect("shape");
        let g = grad_of(&m, &x, &seed, crate::ReluRule::Plain);
        let want = [0.0, 0.5, 0.5, 1.0, 1.0, 1.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "got {g:?}, want {want:?}");
        }
    }
}
