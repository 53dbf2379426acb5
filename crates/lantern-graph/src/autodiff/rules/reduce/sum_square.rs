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
    use super::super::test_util::check_axes_forms;
    use crate::ir::a_int;
    use crate::testing::{op_case, uniform};

    #[test]
    fn reduce_sum_square() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        check_axes_forms("ReduceSumSquare", &x, &[2, -1], &[-1]);
        let noop = vec![a_int("noop_with_empty_axes", 1)];
        op_case("ReduceSumSquare", &["x"], noop)
            .opset(18)
            .check("ReduceSumSquare noop", &x);
    }
}
