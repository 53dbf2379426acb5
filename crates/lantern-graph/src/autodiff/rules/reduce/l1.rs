//! ReduceL1 `y = Σ |x|`: `∂x = kept(g) · sign(x)` (0 at x = 0, as PyTorch's `abs`).

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
        let s = ctx.node("Sign", &[x], vec![]);
        Ok(ctx.mul(g, &s))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform_away_from};

    #[test]
    fn reduce_l1() {
        let x = uniform_away_from(&[1, 3, 4, 5], -1.0, 1.0, &[0.0], 0.05, 1);
        for keep in [0, 1] {
            check_op(
                &format!("ReduceL1 attribute axes keepdims={keep}"),
                vec![node(
                    "ReduceL1",
                    &["x"],
                    &["y"],
                    vec![a_ints("axes", &[-2]), a_int("keepdims", keep)],
                )],
                vec![],
                &x,
                13,
                &Fd::default(),
            );
        }
        let axes = tensor_i64("axes", &[2], &[1, 3]);
        check_op(
            "ReduceL1 input axes",
            vec![node(
                "ReduceL1",
                &["x", "axes"],
                &["y"],
                vec![a_int("keepdims", 0)],
            )],
            vec![axes],
            &x,
            18,
            &Fd::default(),
        );
    }
}
