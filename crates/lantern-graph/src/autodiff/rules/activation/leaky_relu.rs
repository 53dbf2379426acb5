//! LeakyRelu: `Where(x > 0, g, alpha·g)` (PyTorch: the negative slope at exactly 0).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let alpha = ir::attr_f(n, "alpha").unwrap_or(0.01) as f64;
        let m = ctx.gt(x, 0.0);
        let leak = ctx.scale(g, alpha);
        Ok(ctx.node("Where", &[&m, g, &leak], vec![]))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::a_float;
    use crate::testing::{op_case, uniform_away_from};

    #[test]
    fn leaky_relu() {
        let x = uniform_away_from(&[1, 2, 3, 4], -1.0, 1.0, &[0.0], 0.05, 3);
        op_case("LeakyRelu", &["x"], vec![]).check("LeakyRelu default", &x);
        let a = vec![a_float("alpha", 0.2)];
        op_case("LeakyRelu", &["x"], a).check("LeakyRelu 0.2", &x);
    }
}
