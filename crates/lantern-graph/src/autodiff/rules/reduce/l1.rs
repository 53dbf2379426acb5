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
    use super::super::test_util::check_axes_forms;
    use crate::testing::uniform_away_from;

    #[test]
    fn reduce_l1() {
        let x = uniform_away_from(&[1, 3, 4, 5], -1.0, 1.0, &[0.0], 0.05, 1);
        check_axes_forms("ReduceL1", &x, &[-2], &[1, 3]);
    }
}
