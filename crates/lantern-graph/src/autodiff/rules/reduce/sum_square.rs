//! ReduceSumSquare `y = Σ x²`: `∂x = 2 · kept(g) · x`.

use super::backward_with;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    backward_with(ctx, n, gy, |ctx, _, x, g| {
        let gx = ctx.mul(g, x);
        Ok(ctx.scale(&gx, 2.0))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn reduce_sum_square() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        for keep in [0, 1] {
            check_op(
                &format!("ReduceSumSquare attribute axes keepdims={keep}"),
                vec![node(
                    "ReduceSumSquare",
                    &["x"],
                    &["y"],
                    vec![a_ints("axes", &[2, -1]), a_int("keepdims", keep)],
                )],
                vec![],
                &x,
                13,
                &Fd::default(),
            );
        }
        let axes = tensor_i64("axes", &[1], &[-1]);
        check_op(
            "ReduceSumSquare input axes",
            vec![node(
                "ReduceSumSquare",
                &["x", "axes"],
                &["y"],
                vec![a_int("keepdims", 0)],
            )],
            vec![axes],
            &x,
            18,
            &Fd::default(),
        );
        check_op(
            "ReduceSumSquare noop",
            vec![node(
                "ReduceSumSquare",
                &["x"],
                &["y"],
                vec![a_int("noop_with_empty_axes", 1)],
            )],
            vec![],
            &x,
            18,
            &Fd::default(),
        );
    }
}
