//! ReduceL1 `y = Σ |x|`: `∂x = kept(g) · sign(x)` (0 at x = 0, as PyTorch's `abs`).

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, _, x, g| {
        let s = ctx.node("Sign", &[x], vec![]);
        Ok(ctx.mul(g, &s))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{op_case, uniform_away_from};

    #[test]
    fn reduce_l1() {
        let x = uniform_away_from(&[1, 3, 4, 5], -1.0, 1.0, &[0.0], 0.05, 1);
        for keep in [0, 1] {
            op_case(
                "ReduceL1",
                &["x"],
                vec![a_ints("axes", &[-2]), a_int("keepdims", keep)],
            )
            .check(&format!("ReduceL1 attribute axes keepdims={keep}"), &x);
        }
        let axes = tensor_i64("axes", &[2], &[1, 3]);
        op_case("ReduceL1", &["x", "axes"], vec![a_int("keepdims", 0)])
            .inits(vec![axes])
            .opset(18)
            .check("ReduceL1 input axes", &x);
    }
}
