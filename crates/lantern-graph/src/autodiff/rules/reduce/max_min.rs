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
    use super::super::test_util::{assert_last_axis_grad, check_axes_forms};
    use crate::ir::a_int;
    use crate::testing::{distinct_values, op_case};

    #[test]
    fn reduce_max_min_axes_forms() {
        // Distinct values 0.05 apart: a step of 0.01 never changes the winner.
        let x = distinct_values(&[1, 3, 4, 5], -1.5, 0.05, 1);
        for op in ["ReduceMax", "ReduceMin"] {
            check_axes_forms(op, &x, &[-1, 2], &[-1, 2]);
            // No axes: every axis (the batch too, so the batch is fixed; kept as [1, 1, 1, 1]).
            op_case(op, &["x"], vec![])
                .opset(18)
                .fixed_batch()
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
        let x = [1.0, 3.0, 3.0, 2.0, 2.0, 2.0];
        assert_last_axis_grad("ReduceMax", &x, [1.0, 3.0], &[0.0, 0.5, 0.5, 1.0, 1.0, 1.0]);
    }
}
