//! BatchNormalization in inference mode: `y = (x − mean)·scale/√(var + ε) + bias` per channel,
//! so `∂y/∂x = g · scale/√(var + ε)` broadcast over axis 1. Training mode is refused.

use super::per_channel;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_times, require_no_grad, unsupported};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2, 3, 4], "scale/bias/statistics")?;
    if ir::attr_i(n, "training_mode").unwrap_or(0) != 0 {
        return Err(unsupported(
            n,
            "training_mode = 1 (batch statistics); export the model in eval mode",
        ));
    }
    data_grad_times(ctx, n, gy, |ctx, x| {
        let eps = ir::attr_f(n, "epsilon").unwrap_or(1e-5) as f64;
        let rank = ctx.rank(x)?;
        let (scale, var) = (&n.input[1], &n.input[4]);
        let e = ctx.scalar(eps);
        let ve = ctx.add(var, &e);
        let sd = ctx.node("Sqrt", &[&ve], vec![]);
        let k = ctx.div(scale, &sd);
        Ok(per_channel(ctx, &k, rank))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::scale_and_bias;
    use crate::ir::a_float;
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn batch_norm_inference() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 2);
        let mut inits = scale_and_bias(&[3], 1);
        inits.push(init_f32("m", &[3], 3, -0.5, 0.5));
        inits.push(init_f32("v", &[3], 4, 0.1, 2.0));
        let n = node(
            "BatchNormalization",
            &["x", "s", "b", "m", "v"],
            &["y"],
            vec![a_float("epsilon", 1e-3)],
        );
        graph_case(vec![n.clone()])
            .inits(inits.clone())
            .check("BN 4-D", &x);
        let x2 = uniform(&[1, 3], -1.0, 1.0, 3);
        graph_case(vec![n])
            .inits(inits.clone())
            .check("BN 2-D", &x2);
        let x3 = uniform(&[1, 3, 7], -1.0, 1.0, 4);
        let n = node(
            "BatchNormalization",
            &["x", "s", "b", "m", "v"],
            &["y"],
            vec![],
        );
        graph_case(vec![n])
            .inits(inits)
            .opset(9)
            .check("BN 3-D opset 9", &x3);
    }
}
