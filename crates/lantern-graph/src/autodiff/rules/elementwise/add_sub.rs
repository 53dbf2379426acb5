//! Add and Sub: the gradient (negated for Sub's second operand) summed back to each operand's
//! shape.

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::ir::op;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let y = &n.output[0];
    for (i, x) in n.input.iter().enumerate().take(2) {
        if !ctx.needs_grad(x) {
            continue;
        }
        let gi = if i == 1 && op(n) == "Sub" {
            ctx.neg(&g)
        } else {
            g.clone()
        };
        out[i] = Some(ctx.unbroadcast(&gi, x, y)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::broadcast_cases;

    #[test]
    fn add_broadcasting() {
        broadcast_cases("Add", false);
    }

    #[test]
    fn sub_broadcasting() {
        broadcast_cases("Sub", false);
    }
}
