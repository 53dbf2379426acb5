//! Gelu (opset 20). `approximate = "none"`: `y = x·Φ(x)`, Φ(x) = ½(1 + erf(x/√2)), so
//! `∂x = g·(Φ(x) + x·φ(x))` with φ(x) = exp(−x²/2)/√(2π). `approximate = "tanh"`:
//! `y = ½x(1 + t)`, t = tanh(u), u = √(2/π)(x + 0.044715x³), so
//! `∂x = g·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))` — PyTorch's `gelu_backward` for
//! both variants.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_times, unsupported};
use crate::ir;
use crate::proto::NodeProto;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

const TANH_CUBIC: f64 = 0.044715;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad_times(ctx, n, gy, |ctx, x| {
        let approximate = ir::attr_s(n, "approximate").unwrap_or_else(|| "none".into());
        let slope = match approximate.as_str() {
            "none" => {
                let u = ctx.scale(x, FRAC_1_SQRT_2);
                let e = ctx.node("Erf", &[&u], vec![]);
                let one = ctx.scalar(1.0);
                let a = ctx.add(&e, &one);
                let slope = erf_gelu_slope(ctx, &u, &a);
                ctx.scale(&slope, 0.5)
            }
            "tanh" => {
                let k = (2.0 / PI).sqrt();
                let x2 = ctx.mul(x, x);
                let cx2 = ctx.scale(&x2, TANH_CUBIC);
                let one = ctx.scalar(1.0);
                let inner = ctx.add(&cx2, &one);
                let xi = ctx.mul(x, &inner);
                let u = ctx.scale(&xi, k);
                let t = ctx.node("Tanh", &[&u], vec![]);
                let t1 = ctx.add(&t, &one);
                let left = ctx.scale(&t1, 0.5);
                let t2 = ctx.mul(&t, &t);
                let sech2 = ctx.sub(&one, &t2);
                let c3x2 = ctx.scale(&x2, 3.0 * TANH_CUBIC);
                let du = ctx.add(&c3x2, &one);
                let du = ctx.scale(&du, 0.5 * k);
                let xs = ctx.mul(x, &sech2);
                let right = ctx.mul(&xs, &du);
                ctx.add(&left, &right)
            }
            other => {
                return Err(unsupported(
                    n,
                    &format!("approximate = {other:?} (the spec has \"none\" and \"tanh\")"),
                ));
            }
        };
        Ok(slope)
    })
}

/// `A + (2/√π)·u·exp(−u²)` for `A = erf(u) + b`: the slope of `y = s·x·A`, `u = x/c`, is `s`
/// times this, whatever b and c (see `autodiff/fused/erf_gelu.rs`). The factor 2/√π rides in
/// the exponent, `exp(ln(2/√π) − u²)`: one node fewer on a full-size tensor.
pub(crate) fn erf_gelu_slope(ctx: &mut Ctx, u: &str, a: &str) -> String {
    let u2 = ctx.mul(u, u);
    let ln_k = ctx.scalar((2.0 / PI.sqrt()).ln());
    let m = ctx.sub(&ln_k, &u2);
    let e = ctx.node("Exp", &[&m], vec![]);
    let t = ctx.mul(u, &e);
    ctx.add(a, &t)
}

#[cfg(test)]
mod tests {
    use crate::ir::a_string;
    use crate::testing::{op_case, uniform};

    #[test]
    fn gelu_exact_and_tanh() {
        let x = uniform(&[1, 3, 8], -4.0, 4.0, 1);
        op_case("Gelu", &["x"], vec![])
            .opset(20)
            .check("Gelu default", &x);
        for approximate in ["none", "tanh"] {
            op_case("Gelu", &["x"], vec![a_string("approximate", approximate)])
                .opset(20)
                .check(&format!("Gelu approximate={approximate}"), &x);
        }
    }
}
