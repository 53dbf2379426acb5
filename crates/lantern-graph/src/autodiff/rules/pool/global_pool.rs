//! GlobalAveragePool: g / (H·W) expanded over the map. GlobalMaxPool: a MaxPool whose window
//! is the whole map, with indices (first maximum on ties), then the MaxPool scatter.

use super::max_pool::scatter_add;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir::a_ints;
use crate::proto::NodeProto;

pub(crate) fn average(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let xs = ctx.shape(x)?;
        let area: i64 = xs[2..].iter().product();
        let scaled = ctx.scale(g, 1.0 / area as f64);
        let s = ctx.shape_of(x);
        Ok(ctx.node("Expand", &[&scaled, &s], vec![]))
    })
}

pub(crate) fn max(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let xs = ctx.shape(x)?;
        let outs = ctx.node_n("MaxPool", &[x], 2, vec![a_ints("kernel_shape", &xs[2..])]);
        Ok(scatter_add(ctx, x, g, &outs[1]))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{distinct_values, op_case, uniform};

    #[test]
    fn global_average_pool() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 4);
        op_case("GlobalAveragePool", &["x"], vec![]).check("GAP", &x);
    }

    #[test]
    fn global_max_pool() {
        let x = distinct_values(&[1, 3, 4, 5], -2.0, 0.1, 4);
        op_case("GlobalMaxPool", &["x"], vec![]).check("GMP", &x);
    }
}
