//! ReduceL1 `y = Σ |x|`: `∂x = kept(g) · sign(x)` (0 at x = 0, as PyTorch's `abs`).

use super::Reduction;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let x = &n.input[0];
    let r = Reduction::of(ctx, n, x)?;
    let mut out = no_grads(n);
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let g = r.kept(ctx, &g);
    let s = ctx.node("Sign", &[x], vec![]);
    out[0] = Some(ctx.mul(&g, &s));
    Ok(out)
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
