//! Mul: `∂/∂a = g·b`, `∂/∂b = g·a`, each summed back to its operand's shape.

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let y = &n.output[0];
    let (a, b) = (&n.input[0], &n.input[1]);
    if ctx.needs_grad(a) {
        let ga = ctx.mul(&g, b);
        out[0] = Some(ctx.unbroadcast(&ga, a, y)?);
    }
    if ctx.needs_grad(b) {
        let gb = ctx.mul(&g, a);
        out[1] = Some(ctx.unbroadcast(&gb, b, y)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::broadcast_cases;

    #[test]
    fn mul_broadcasting() {
        broadcast_cases("Mul", false);
    }
}
