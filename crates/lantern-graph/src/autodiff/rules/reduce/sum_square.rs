//! ReduceSumSquare `y = Σ x²`: `∂x = 2 · kept(g) · x`.

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, _, x, g| {
        let gx = ctx.mul(g, x);
        Ok(ctx.scale(&gx, 2.0))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{op_case, uniform};

    #[test]
    fn reduce_sum_square() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        for keep in [0, 1] {
            op_case(
                "ReduceSumSquare",
                &["x"],
                vec![a_ints("axes", &[2, -1]), a_int("keepdims", keep)],
            )
            .check(
                &format!("ReduceSumSquare attribute axes keepdims={keep}"),
                &x,
            );
        }
        let axes = tensor_i64("axes", &[1], &[-1]);
        op_case(
            "ReduceSumSquare",
            &["x", "axes"],
            vec![a_int("keepdims", 0)],
        )
        .inits(vec![axes])
        .opset(18)
        .check("ReduceSumSquare input axes", &x);
        op_case(
            "ReduceSumSquare",
            &["x"],
            vec![a_int("noop_with_empty_axes", 1)],
        )
        .opset(18)
        .check("ReduceSumSquare noop", &x);
    }
}
