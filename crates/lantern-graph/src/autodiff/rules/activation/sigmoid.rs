//! Sigmoid: `g · y · (1 − y)` with y the forward output.

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
    let one = ctx.scalar(1.0);
    let omy = ctx.sub(&one, y);
    let d = ctx.mul(y, &omy);
    out[0] = Some(ctx.mul(&g, &d));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn sigmoid() {
        let x = uniform(&[1, 2, 3, 4], -3.0, 3.0, 3);
        check_op(
            "Sigmoid",
            vec![node("Sigmoid", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }

    #[test]
    fn swish_as_mul_of_sigmoid() {
        // x·σ(x): x feeds two nodes, so its gradient is the Sum of both contributions.
        let x = uniform(&[1, 2, 3, 4], -3.0, 3.0, 4);
        let nodes = vec![
            node("Sigmoid", &["x"], &["s"], vec![]),
            node("Mul", &["x", "s"], &["y"], vec![]),
        ];
        check_op("Swish", nodes, vec![], &x, 13, &Fd::default());
    }
}
