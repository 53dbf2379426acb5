//! GlobalAveragePool: g / (H·W) expanded over the map. GlobalMaxPool: a MaxPool whose window
//! is the whole map, with indices (first maximum on ties), then the MaxPool scatter.

use super::max_pool::scatter_add;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::ir::a_ints;
use crate::proto::NodeProto;

pub(crate) fn average(
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
    let xs = ctx.shape(x)?;
    let area: i64 = xs[2..].iter().product();
    let scaled = ctx.scale(&g, 1.0 / area as f64);
    let s = ctx.shape_of(x);
    out[0] = Some(ctx.node("Expand", &[&scaled, &s], vec![]));
    Ok(out)
}

pub(crate) fn max(
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
    let xs = ctx.shape(x)?;
    let outs = ctx.node_n("MaxPool", &[x], 2, vec![a_ints("kernel_shape", &xs[2..])]);
    out[0] = Some(scatter_add(ctx, x, &g, &outs[1]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{Fd, check_op, distinct_values, node, uniform};

    #[test]
    fn global_average_pool() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 4);
        check_op(
            "GAP",
            vec![node("GlobalAveragePool", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }

    #[test]
    fn global_max_pool() {
        let x = distinct_values(&[1, 3, 4, 5], -2.0, 0.1, 4);
        check_op(
            "GMP",
            vec![node("GlobalMaxPool", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &Fd::default(),
        );
    }
}
