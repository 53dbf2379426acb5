//! Where(cond, a, b): `Where(cond, g, 0)` to a and `Where(cond, 0, g)` to b, each summed back to
//! its operand's shape; the condition carries no gradient.

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let y = &n.output[0];
    let cond = &n.input[0];
    let zero = ctx.scalar(0.0);
    if ctx.needs_grad(&n.input[1]) {
        let ga = ctx.node("Where", &[cond, &g, &zero], vec![]);
        out[1] = Some(ctx.unbroadcast(&ga, &n.input[1], y)?);
    }
    if ctx.needs_grad(&n.input[2]) {
        let gb = ctx.node("Where", &[cond, &zero, &g], vec![]);
        out[2] = Some(ctx.unbroadcast(&gb, &n.input[2], y)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::tensor_f32;
    use crate::testing::{graph_case, init_f32, node, uniform_away_from};

    #[test]
    fn where_routes_by_condition() {
        let x = uniform_away_from(&[1, 3, 4], -1.0, 1.0, &[0.0], 0.05, 1);
        let inits = vec![
            tensor_f32("z", &[], &[0.0]),
            init_f32("c", &[4], 2, -1.0, 1.0),
        ];
        let nodes = vec![
            node("Greater", &["x", "z"], &["m"], vec![]),
            node("Sigmoid", &["x"], &["s"], vec![]),
            node("Where", &["m", "s", "c"], &["w1"], vec![]),
            node("Where", &["m", "c", "x"], &["w2"], vec![]),
            node("Add", &["w1", "w2"], &["y"], vec![]),
        ];
        graph_case(nodes).inits(inits).check("Where", &x);
    }
}
