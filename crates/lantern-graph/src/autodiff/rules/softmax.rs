//! Softmax: `y ⊙ (g − Σ_axis g ⊙ y)`. LogSoftmax: `g − exp(y) ⊙ Σ_axis g`. Opset-13 semantics
//! (one axis, default −1); older models are upgraded first.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir::{self, a_int, op};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let y = &n.output[0];
        let rank = ctx.rank(x)?;
        let axis = ctx.axis(n, ir::attr_i(n, "axis").unwrap_or(-1), rank)?;
        let axes = ctx.ints(&[axis as i64]);
        let keep = vec![a_int("keepdims", 1)];
        Ok(if op(n) == "Softmax" {
            let gy_ = ctx.mul(g, y);
            let s = ctx.node("ReduceSum", &[&gy_, &axes], keep);
            let d = ctx.sub(g, &s);
            ctx.mul(y, &d)
        } else {
            let s = ctx.node("ReduceSum", &[g, &axes], keep);
            let p = ctx.node("Exp", &[y], vec![]);
            let ps = ctx.mul(&p, &s);
            ctx.sub(g, &ps)
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::a_int;
    use crate::testing::{Fd, op_case, uniform};

    #[test]
    fn softmax_and_log_softmax() {
        let through = Fd {
            through_softmax: true,
            ..Fd::default()
        };
        let x = uniform(&[1, 5], -2.0, 2.0, 1);
        for op in ["Softmax", "LogSoftmax"] {
            op_case(op, &["x"], vec![]).fd(&through).check(op, &x);
            let x3 = uniform(&[1, 3, 4], -2.0, 2.0, 2);
            op_case(op, &["x"], vec![a_int("axis", 1)])
                .fd(&through)
                .check(&format!("{op} axis 1"), &x3);
            // Opset 11: the input is coerced to 2-D at the axis (upgraded to Flatten/Softmax/Reshape).
            op_case(op, &["x"], vec![a_int("axis", 1)])
                .opset(11)
                .fd(&through)
                .check(&format!("{op} opset 11 axis 1"), &x3);
        }
    }
}
