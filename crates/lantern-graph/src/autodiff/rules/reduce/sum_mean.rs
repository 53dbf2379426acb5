//! ReduceSum / ReduceMean: the gradient, with the reduced axes restored, expanded over the
//! input; ReduceMean divides by the number of reduced elements (see
//! [`divide_by_count`](super::divide_by_count)).

use super::{backward_with, divide_by_count};
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads};
use crate::ir::op;
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
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
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn reduce_sum_and_mean() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        let hw = tensor_i64("hw", &[2], &[2, 3]);
        for keep in [0, 1] {
            let k = || vec![a_int("keepdims", keep)];
            check_op(
                &format!("ReduceSum keep={keep}"),
                vec![node("ReduceSum", &["x", "hw"], &["y"], k())],
                vec![hw.clone()],
                &x,
                13,
                &Fd::default(),
            );
            let mut a = k();
            a.push(a_ints("axes", &[-1, 2]));
            check_op(
                &format!("ReduceMean attr keep={keep}"),
                vec![node("ReduceMean", &["x"], &["y"], a)],
                vec![],
                &x,
                13,
                &Fd::default(),
            );
            check_op(
                &format!("ReduceMean input keep={keep}"),
                vec![node("ReduceMean", &["x", "hw"], &["y"], k())],
                vec![hw.clone()],
                &x,
                18,
                &Fd::default(),
            );
        }
        // Over every axis including the batch, and a ReduceMean over an extent-1 axis.
        let fixed = Fd {
            fixed_batch: true,
            ..Fd::default()
        };
        check_op(
            "ReduceMean all",
            vec![node("ReduceMean", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &fixed,
        );
        let x1 = uniform(&[1, 1, 4, 5], -1.0, 1.0, 2);
        let a = vec![a_ints("axes", &[1, 3]), a_int("keepdims", 0)];
        check_op(
            "ReduceMean extent-1 axis",
            vec![node("ReduceMean", &["x"], &["y"], a)],
            vec![],
            &x1,
            13,
            &Fd::default(),
        );
        check_op(
            "ReduceSum opset 9",
            vec![node(
                "ReduceSum",
                &["x"],
                &["y"],
                vec![a_ints("axes", &[1])],
            )],
            vec![],
            &x,
            9,
            &Fd::default(),
        );
    }
}
