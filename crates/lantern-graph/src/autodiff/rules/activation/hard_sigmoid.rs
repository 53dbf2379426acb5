//! HardSigmoid `max(0, min(1, αx + β))`: `α·g` where `0 < αx + β < 1` strictly (torch's
//! hardsigmoid backward: `-3 < x < 3` for α = 1/6, β = 1/2), else 0.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let alpha = ir::attr_f(n, "alpha").unwrap_or(0.2) as f64;
        let beta = ir::attr_f(n, "beta").unwrap_or(0.5) as f64;
        let ax = ctx.scale(x, alpha);
        let b = ctx.scalar(beta);
        let z = ctx.add(&ax, &b);
        let lo = ctx.gt(&z, 0.0);
        let one = ctx.scalar(1.0);
        let hi = ctx.node("Less", &[&z, &one], vec![]);
        let m = ctx.node("And", &[&lo, &hi], vec![]);
        let ga = ctx.scale(g, alpha);
        Ok(ctx.mask(&m, &ga))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::a_float;
    use crate::testing::{op_case, uniform_away_from};

    #[test]
    fn hard_sigmoid() {
        // Kinks at αx + β ∈ {0, 1}: x = ±2.5 (defaults) and x = ±3 (torch's α = 1/6).
        let x = uniform_away_from(&[1, 2, 3, 4], -4.0, 4.0, &[-2.5, 2.5, -3.0, 3.0], 0.05, 3);
        op_case("HardSigmoid", &["x"], vec![]).check("HardSigmoid", &x);
        let a = vec![a_float("alpha", 1.0 / 6.0), a_float("beta", 0.5)];
        op_case("HardSigmoid", &["x"], a).check("HardSigmoid torch", &x);
    }
}
