//! ReduceLogSumExp `y = log Σ exp(x)`: `∂x = kept(g) · exp(x − kept(y))` (the softmax of x over
//! the reduced axes, formed from y so it cannot overflow).

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, r, x, g| {
        let y = r.kept(ctx, &n.output[0]);
        let d = ctx.sub(x, &y);
        let p = ctx.node("Exp", &[&d], vec![]);
        Ok(ctx.mul(g, &p))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{op_case, uniform};

    #[test]
    fn reduce_log_sum_exp() {
        let x = uniform(&[1, 3, 4, 5], -2.0, 2.0, 1);
        for keep in [0, 1] {
            op_case(
                "ReduceLogSumExp",
                &["x"],
                vec![a_ints("axes", &[-1]), a_int("keepdims", keep)],
            )
            .check(
                &format!("ReduceLogSumExp attribute axes keepdims={keep}"),
                &x,
            );
        }
        let axes = tensor_i64("axes", &[2], &[1, 2]);
        op_case(
            "ReduceLogSumExp",
            &["x", "axes"],
            vec![a_int("keepdims", 0)],
        )
        .inits(vec![axes])
        .opset(18)
        .check("ReduceLogSumExp input axes", &x);
    }
}
