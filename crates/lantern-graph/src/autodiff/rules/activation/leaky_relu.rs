//! LeakyRelu: `Where(x > 0, g, alpha·g)` (PyTorch: the negative slope at exactly 0).

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let alpha = ir::attr_f(n, "alpha").unwrap_or(0.01) as f64;
    let m = ctx.gt(x, 0.0);
    let leak = ctx.scale(&g, alpha);
    out[0] = Some(ctx.node("Where", &[&m, &g, &leak], vec![]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::a_float;
    use crate::testing::{Fd, check_op, node, uniform_away_from};

    #[test]
    fn leaky_relu() {
        let x = uniform_away_from(&[1, 2, 3, 4], -1.0, 1.0, &[0.0], 0.05, 3);
        check_op(
            "LeakyRelu default",
            vec![node("LeakyRelu", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
        let a = vec![a_float("alpha", 0.2)];
        check_op(
            "LeakyRelu 0.2",
            vec![node("LeakyRelu", &["x"], &["y"], a)],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }
}
