//! ReduceSum / ReduceMean: the gradient, with the reduced axes restored, expanded over the
//! input; ReduceMean divides by the number of reduced elements (see
//! [`divide_by_count`](super::divide_by_count)).

use super::{backward_with, divide_by_count};
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::ir::op;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, r, x, g| {
        if r.noop {
            return Ok(g.to_string());
        }
        let s = ctx.shape_of(x);
        let e = ctx.node("Expand", &[g, &s], vec![]);
        if op(n) == "ReduceMean" {
            divide_by_count(ctx, &e, x, &r.axes, &n.output[0])
        } else {
            Ok(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{op_case, uniform};

    #[test]
    fn reduce_sum_and_mean() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        let hw = tensor_i64("hw", &[2], &[2, 3]);
        for keep in [0, 1] {
            let k = || vec![a_int("keepdims", keep)];
            op_case("ReduceSum", &["x", "hw"], k())
                .inits(vec![hw.clone()])
                .check(&format!("ReduceSum keep={keep}"), &x);
            let mut a = k();
            a.push(a_ints("axes", &[-1, 2]));
            op_case("ReduceMean", &["x"], a).check(&format!("ReduceMean attr keep={keep}"), &x);
            op_case("ReduceMean", &["x", "hw"], k())
                .inits(vec![hw.clone()])
                .opset(18)
                .check(&format!("ReduceMean input keep={keep}"), &x);
        }
        // Over every axis including the batch, and a ReduceMean over an extent-1 axis.
        op_case("ReduceMean", &["x"], vec![])
            .fixed_batch()
            .check("ReduceMean all", &x);
        let x1 = uniform(&[1, 1, 4, 5], -1.0, 1.0, 2);
        let a = vec![a_ints("axes", &[1, 3]), a_int("keepdims", 0)];
        op_case("ReduceMean", &["x"], a).check("ReduceMean extent-1 axis", &x1);
        op_case("ReduceSum", &["x"], vec![a_ints("axes", &[1])])
            .opset(9)
            .check("ReduceSum opset 9", &x);
    }
}
