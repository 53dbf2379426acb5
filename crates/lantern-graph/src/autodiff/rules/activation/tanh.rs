//! Tanh: `g · (1 − y²)` with y the forward output.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    if !ctx.needs_grad(&n.input[0]) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let y = &n.output[0];
    let y2 = ctx.mul(y, y);
    let one = ctx.scalar(1.0);
    let d = ctx.sub(&one, &y2);
    out[0] = Some(ctx.mul(&g, &d));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn tanh() {
        let x = uniform(&[1, 2, 3, 4], -2.0, 2.0, 3);
        check_op(
            "Tanh",
            vec![node("Tanh", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }
}
