//! PRelu: `Where(x > 0, g, slope·g)`, the slope broadcast to x (its own gradient is not
//! needed: it is a weight).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1], "slope")?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let m = ctx.gt(x, 0.0);
        let leak = ctx.mul(g, &n.input[1]);
        Ok(ctx.node("Where", &[&m, g, &leak], vec![]))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{init_f32, op_case, uniform_away_from};

    #[test]
    fn prelu_per_channel() {
        let x = uniform_away_from(&[1, 3, 4, 4], -1.0, 1.0, &[0.0], 0.05, 3);
        let slope = init_f32("s", &[3, 1, 1], 4, 0.0, 0.5);
        op_case("PRelu", &["x", "s"], vec![])
            .inits(vec![slope])
            .check("PRelu", &x);
    }
}
