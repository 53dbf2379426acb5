//! ReduceL2 `y = √Σ x²`: `∂x = kept(g) · x / kept(y)`, and 0 where y = 0 (then every x in the
//! slice is 0; PyTorch's norm backward masks that case to 0 the same way). The mask is folded
//! into the divisor — `y + [y = 0]` — so no NaN is ever formed.

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::ir::a_int;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, r, x, g| {
        let y = r.kept(ctx, &n.output[0]);
        let zero = ctx.scalar(0.0);
        let at_zero = ctx.node("Equal", &[&y, &zero], vec![]);
        let at_zero = ctx.node("Cast", &[&at_zero], vec![a_int("to", ctx.dtype as i64)]);
        let safe_y = ctx.add(&y, &at_zero);
        let gx = ctx.mul(g, x);
        Ok(ctx.div(&gx, &safe_y))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_last_axis_grad, check_axes_forms};
    use crate::ir::a_int;
    use crate::testing::{op_case, uniform, uniform_away_from};

    #[test]
    fn reduce_l2() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        check_axes_forms("ReduceL2", &x, &[1, -1], &[-3]);
        // noop_with_empty_axes: y = |x| elementwise, so the gradient is sign(x).
        let away = uniform_away_from(&[1, 3, 4], -1.0, 1.0, &[0.0], 0.05, 2);
        op_case("ReduceL2", &["x"], vec![a_int("noop_with_empty_axes", 1)])
            .opset(18)
            .check("ReduceL2 noop", &away);
    }

    #[test]
    fn reduce_l2_of_zeros_is_zero_not_nan() {
        let x = [0.0, 0.0, 3.0, 4.0];
        assert_last_axis_grad("ReduceL2", &x, [1.0, 1.0], &[0.0, 0.0, 0.6, 0.8]);
    }
}
