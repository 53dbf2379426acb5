//! HardSwish `x · max(0, min(1, x/6 + 1/2))`, torch's backward: 0 for x < −3,
//! `g · (x/3 + 1/2)` for −3 ≤ x ≤ 3, `g` above.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let third = ctx.scale(x, 1.0 / 3.0);
        let half = ctx.scalar(0.5);
        let slope = ctx.add(&third, &half);
        let mid = ctx.mul(g, &slope);
        let three = ctx.scalar(3.0);
        let le3 = ctx.node("LessOrEqual", &[x, &three], vec![]);
        let upper = ctx.node("Where", &[&le3, &mid, g], vec![]);
        let minus3 = ctx.scalar(-3.0);
        let below = ctx.node("Less", &[x, &minus3], vec![]);
        let zero = ctx.scalar(0.0);
        Ok(ctx.node("Where", &[&below, &zero, &upper], vec![]))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{op_case, uniform_away_from};

    #[test]
    fn hard_swish() {
        let x = uniform_away_from(&[1, 2, 3, 4], -5.0, 5.0, &[-3.0, 3.0], 0.05, 3);
        op_case("HardSwish", &["x"], vec![])
            .opset(14)
            .check("HardSwish", &x);
    }
}
