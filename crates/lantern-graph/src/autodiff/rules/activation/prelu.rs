//! PRelu: `Where(x > 0, g, slope·g)`, the slope broadcast to x (its own gradient is not
//! needed: it is a weight).

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1], "slope")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let m = ctx.gt(x, 0.0);
    let leak = ctx.mul(&g, &n.input[1]);
    out[0] = Some(ctx.node("Where", &[&m, &g, &leak], vec![]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{Fd, check_op, init_f32, node, uniform_away_from};

    #[test]
    fn prelu_per_channel() {
        let x = uniform_away_from(&[1, 3, 4, 4], -1.0, 1.0, &[0.0], 0.05, 3);
        let slope = init_f32("s", &[3, 1, 1], 4, 0.0, 0.5);
        check_op(
            "PRelu",
            vec![node("PRelu", &["x", "s"], &["y"], vec![])],
            vec![slope],
            &x,
            13,
            &Fd::default(),
        );
    }
}
