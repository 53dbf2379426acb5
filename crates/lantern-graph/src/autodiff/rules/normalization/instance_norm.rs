//! InstanceNormalization: x̂ per sample and channel over the spatial axes `2..rank` of
//! `[N, C, D1, …]`, `y = scale_c·x̂ + B_c`. `∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` with
//! `ĝ = g·scale_c` (see the module doc); the statistics are recomputed from x.
//!
//! This must be exact beyond images: PyTorch's TorchScript exporter writes `GroupNorm` as
//! Reshape to `[N, G, −1]` → InstanceNormalization (scale 1, bias 0, one "channel" per group)
//! → Reshape → Mul/Add with the per-channel affine, i.e. over a 3-D tensor.

use super::{per_channel, standardize, standardize_backward};
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad, unsupported};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2], "scale/bias")?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let rank = ctx.rank(x)?;
        if rank < 3 {
            return Err(unsupported(
                n,
                &format!("input of rank {rank}; InstanceNormalization needs [N, C, D1, …]"),
            ));
        }
        let eps = ir::attr_f(n, "epsilon").unwrap_or(1e-5) as f64;
        let axes: Vec<usize> = (2..rank).collect();
        let (xhat, r) = standardize(ctx, x, &axes, eps)?;
        let scale = per_channel(ctx, &n.input[1], rank);
        let ghat = ctx.mul(g, &scale);
        Ok(standardize_backward(ctx, x, &axes, &ghat, &xhat, &r)?)
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::scale_and_bias;
    use crate::ir::{a_float, tensor_f32, tensor_i64};
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn instance_norm_images_and_sequences() {
        let inits = scale_and_bias(&[3], 1);
        let n = node(
            "InstanceNormalization",
            &["x", "s", "b"],
            &["y"],
            vec![a_float("epsilon", 1e-3)],
        );
        let x4 = uniform(&[1, 3, 4, 5], -2.0, 2.0, 3);
        graph_case(vec![n.clone()])
            .inits(inits.clone())
            .opset(17)
            .check("InstanceNorm 4-D", &x4);
        let x3 = uniform(&[1, 3, 7], -2.0, 2.0, 4);
        graph_case(vec![n])
            .inits(inits)
            .opset(18)
            .check("InstanceNorm 3-D", &x3);
    }

    #[test]
    fn group_norm_as_the_torchscript_exporter_writes_it() {
        // GroupNorm(2 groups, 4 channels): Reshape [N, 2, −1] → InstanceNorm(1, 0) → Reshape
        // back → per-channel Mul/Add.
        let x = uniform(&[1, 4, 3, 3], -2.0, 2.0, 5);
        let inits = vec![
            tensor_i64("grouped", &[3], &[0, 2, -1]),
            tensor_f32("ones", &[2], &[1.0, 1.0]),
            tensor_f32("zeros", &[2], &[0.0, 0.0]),
            tensor_i64("back", &[4], &[0, 4, 3, 3]),
            init_f32("gamma", &[4, 1, 1], 6, 0.5, 1.5),
            init_f32("beta", &[4, 1, 1], 7, -0.5, 0.5),
        ];
        let nodes = vec![
            node("Reshape", &["x", "grouped"], &["xg"], vec![]),
            node(
                "InstanceNormalization",
                &["xg", "ones", "zeros"],
                &["ng"],
                vec![a_float("epsilon", 1e-5)],
            ),
            node("Reshape", &["ng", "back"], &["nb"], vec![]),
            node("Mul", &["nb", "gamma"], &["sc"], vec![]),
            node("Add", &["sc", "beta"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("GroupNorm via InstanceNorm", &x);
    }
}
