//! Sum and Mean (variadic, broadcasting): every operand gets the gradient (÷ n for Mean)
//! summed back to its shape.

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::ir::op;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let g = if op(n) == "Mean" {
        ctx.scale(&g, 1.0 / n.input.len() as f64)
    } else {
        g
    };
    let y = &n.output[0];
    for (i, x) in n.input.iter().enumerate() {
        if ctx.needs_grad(x) {
            out[i] = Some(ctx.unbroadcast(&g, x, y)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{graph_case, init_f32, node, op_case, uniform};

    #[test]
    fn sum_and_mean() {
        let x = uniform(&[1, 3, 4, 4], -1.0, 1.0, 2);
        let c = init_f32("c", &[3, 1, 1], 3, -1.0, 1.0);
        for op in ["Sum", "Mean"] {
            let nodes = vec![
                node("Relu", &["x"], &["r"], vec![]),
                node(op, &["x", "c", "r", "x"], &["y"], vec![]),
            ];
            let x = crate::testing::uniform_away_from(&[1, 3, 4, 4], -1.0, 1.0, &[0.0], 0.05, 2);
            graph_case(nodes).inits(vec![c.clone()]).check(op, &x);
        }
        op_case("Sum", &["x"], vec![]).check("Sum of one", &x);
    }
}
