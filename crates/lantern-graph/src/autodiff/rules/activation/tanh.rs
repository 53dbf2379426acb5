//! Tanh: `g · (1 − y²)` with y the forward output.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_times};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad_times(ctx, n, gy, |ctx, _| {
        let y = &n.output[0];
        let y2 = ctx.mul(y, y);
        let one = ctx.scalar(1.0);
        Ok(ctx.sub(&one, &y2))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{op_case, uniform};

    #[test]
    fn tanh() {
        let x = uniform(&[1, 2, 3, 4], -2.0, 2.0, 3);
        op_case("Tanh", &["x"], vec![]).check("Tanh", &x);
    }
}
