//! HardSigmoid `max(0, min(1, αx + β))`: `α·g` where `0 < αx + β < 1` strictly (torch's
//! hardsigmoid backward: `-3 < x < 3` for α = 1/6, β = 1/2), else 0.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let alpha = ir::attr_f(n, "alpha").unwrap_or(0.2) as f64;
    let beta = ir::attr_f(n, "beta").unwrap_or(0.5) as f64;
    let ax = ctx.scale(x, alpha);
    let b = ctx.scalar(beta);
    let z = ctx.add(&ax, &b);
    let lo = ctx.gt(&z, 0.0);
    let one = ctx.scalar(1.0);
    let hi = ctx.node("Less", &[&z, &one], vec![]);
    let m = ctx.node("And", &[&lo, &hi], vec![]);
    let ga = ctx.scale(&g, alpha);
    out[0] = Some(ctx.mask(&m, &ga));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::a_float;
    use crate::testing::{Fd, check_op, node, uniform_away_from};

    #[test]
    fn hard_sigmoid() {
        // Kinks at αx + β ∈ {0, 1}: x = ±2.5 (defaults) and x = ±3 (torch's α = 1/6).
        let x = uniform_away_from(&[1, 2, 3, 4], -4.0, 4.0, &[-2.5, 2.5, -3.0, 3.0], 0.05, 3);
        check_op(
            "HardSigmoid",
            vec![node("HardSigmoid", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
        let a = vec![a_float("alpha", 1.0 / 6.0), a_float("beta", 0.5)];
        check_op(
            "HardSigmoid torch",
            vec![node("HardSigmoid", &["x"], &["y"], a)],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }
}
