//! GroupNormalization: x `[N, C, D1, …]` seen as `[N, G, C/G·D1·…]` (G = `num_groups`), x̂ per
//! sample and group over the last axis, then `y = scale·x̂ + bias`. The affine part differs by
//! opset (checked against the ONNX spec and its function bodies):
//! - opset 18 (deprecated): scale and bias have G entries, one per group (the function body
//!   multiplies the `[N, G, −1]` view by scale as `[1, G, 1]`);
//! - opset 21: C entries, one per channel (as PyTorch's `GroupNorm`); `stash_type` sets the
//!   precision of the statistics only (float by default: the same for float32 models; the
//!   backward pass is computed in the activation type).
//!
//! The rule goes by the length of scale, which is what tells the two apart: G ≠ C entries are
//! per group (only valid at opset 18), C per channel — and when G = C the two readings are the
//! same map. Backward: `∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` on the `[N, G, −1]` view, with
//! `ĝ = g·scale` applied per channel (before the view) or per group (after it); the statistics
//! are recomputed from x.

use super::{per_channel, standardize, standardize_backward};
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad, unsupported};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2], "scale/bias")?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let xs = ctx.shape(x)?;
        let groups =
            ir::attr_i(n, "num_groups").ok_or_else(|| unsupported(n, "no num_groups attribute"))?;
        if xs.len() < 2 || groups <= 0 || xs[1] % groups != 0 {
            return Err(unsupported(
                n,
                &format!("input {xs:?} cannot be split into {groups} groups of channels"),
            ));
        }
        let channels = xs[1];
        let scale = &n.input[1];
        let scale_len: i64 = ctx.shape(scale)?.iter().product();
        let eps = ir::attr_f(n, "epsilon").unwrap_or(1e-5) as f64;

        let grouped = ctx.ints(&[0, groups, -1]);
        let xg = ctx.node("Reshape", &[x, &grouped], vec![]);
        let per_group: i64 = xs[1..].iter().product::<i64>() / groups;
        ctx.set_shape(&xg, vec![xs[0], groups, per_group]);
        let axes = [2];
        let (xhat, r) = standardize(ctx, &xg, &axes, eps)?;
        let ghat = if scale_len == channels {
            let s = per_channel(ctx, scale, xs.len());
            let gs = ctx.mul(g, &s);
            ctx.node("Reshape", &[&gs, &grouped], vec![])
        } else if scale_len == groups {
            let col = ctx.ints(&[groups, 1]);
            let s = ctx.node("Reshape", &[scale, &col], vec![]);
            let gg = ctx.node("Reshape", &[g, &grouped], vec![]);
            ctx.mul(&gg, &s)
        } else {
            return Err(unsupported(
                n,
                &format!(
                    "scale has {scale_len} entries; expected {channels} (per channel, opset 21) or {groups} (per group, opset 18)"
                ),
            ));
        };
        let dxg = standardize_backward(ctx, &xg, &axes, &ghat, &xhat, &r)?;
        Ok(ctx.reshape_like(&dxg, x))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::scale_and_bias;
    use crate::ir::{a_float, a_int};
    use crate::testing::{graph_case, node, uniform};

    fn group_norm(groups: i64) -> crate::proto::NodeProto {
        node(
            "GroupNormalization",
            &["x", "s", "b"],
            &["y"],
            vec![a_int("num_groups", groups), a_float("epsilon", 1e-3)],
        )
    }

    #[test]
    fn group_norm_opset_21_per_channel() {
        let x = uniform(&[1, 6, 3, 4], -2.0, 2.0, 1);
        let inits = scale_and_bias(&[6], 2);
        for groups in [1, 2, 3, 6] {
            graph_case(vec![group_norm(groups)])
                .inits(inits.clone())
                .opset(21)
                .check(&format!("GroupNorm opset 21, {groups} groups"), &x);
        }
        let x3 = uniform(&[1, 4, 5], -2.0, 2.0, 4);
        graph_case(vec![group_norm(2)])
            .inits(scale_and_bias(&[4], 5))
            .opset(21)
            .check("GroupNorm opset 21, 3-D", &x3);
    }

    #[test]
    fn group_norm_opset_18_per_group() {
        let x = uniform(&[1, 6, 3, 4], -2.0, 2.0, 7);
        for groups in [2, 3] {
            graph_case(vec![group_norm(groups)])
                .inits(scale_and_bias(&[groups], 8))
                .opset(18)
                .check(&format!("GroupNorm opset 18, {groups} groups"), &x);
        }
    }
}
