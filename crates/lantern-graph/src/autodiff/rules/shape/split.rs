//! Split: the outputs' gradients concatenated back (zeros for outputs nothing flows into).

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let rank = ctx.rank(x)?;
    let axis = ctx.axis(n, ir::attr_i(n, "axis").unwrap_or(0), rank)?;
    let parts: Vec<String> = n
        .output
        .iter()
        .zip(gy)
        .map(|(o, g)| match g {
            Some(g) => g.clone(),
            None => ctx.zeros_like(o),
        })
        .collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    out[0] = Some(ctx.node("Concat", &refs, vec![a_int("axis", axis as i64)]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn split_with_unused_output() {
        let x = uniform(&[1, 5, 2, 2], -1.0, 1.0, 1);
        let s = tensor_i64("s", &[3], &[2, 1, 2]);
        let w = init_f32("w", &[2, 1, 1], 2, -1.0, 1.0);
        let nodes = vec![
            node(
                "Split",
                &["x", "s"],
                &["a", "b", "c"],
                vec![a_int("axis", 1)],
            ),
            node("Sigmoid", &["b"], &["sb"], vec![]),
            node("Mul", &["a", "w"], &["aw"], vec![]),
            node("Add", &["aw", "sb"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![s, w])
            .check("Split opset 13 (c unused)", &x);
        let nodes = vec![
            node(
                "Split",
                &["x"],
                &["a", "b"],
                vec![a_int("axis", 1), a_ints("split", &[3, 2])],
            ),
            node("Mul", &["a", "a"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .opset(9)
            .check("Split opset 9 attribute", &x);
    }
}
