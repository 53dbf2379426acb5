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
    use super::super::test_util::check_axes_forms;
    use crate::testing::uniform;

    #[test]
    fn reduce_log_sum_exp() {
        let x = uniform(&[1, 3, 4, 5], -2.0, 2.0, 1);
        check_axes_forms("ReduceLogSumExp", &x, &[-1], &[1, 2]);
    }
}
