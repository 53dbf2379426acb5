//! Concat: the gradient split back into the inputs' extents along the axis. Extents are static
//! when every input's static extent differs from 1, else read at run time (an extent of 1 at
//! batch 1 may be the batch).

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single, unsupported};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    if !n.input.iter().any(|x| ctx.needs_grad(x)) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let y = &n.output[0];
    let rank = ctx.rank(y)?;
    let axis = ir::attr_i(n, "axis").ok_or_else(|| unsupported(n, "no axis"))?;
    let axis = ctx.axis(n, axis, rank)?;
    let mut sizes = Vec::new();
    for x in &n.input {
        sizes.push(ctx.shape(x)?[axis]);
    }
    let split = if sizes.iter().all(|&s| s != 1) {
        ctx.ints(&sizes)
    } else {
        let idx = ctx.ints(&[axis as i64]);
        let parts: Vec<String> = n
            .input
            .clone()
            .iter()
            .map(|x| {
                let s = ctx.shape_of(x);
                ctx.node("Gather", &[&s, &idx], vec![a_int("axis", 0)])
            })
            .collect();
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        ctx.node("Concat", &refs, vec![a_int("axis", 0)])
    };
    let parts = ctx.node_n(
        "Split",
        &[&g, &split],
        n.input.len(),
        vec![a_int("axis", axis as i64)],
    );
    for (i, (x, p)) in n.input.iter().zip(parts).enumerate() {
        if ctx.needs_grad(x) {
            out[i] = Some(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::a_int;
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn concat_channels_and_reuse() {
        let x = uniform(&[1, 2, 3, 3], -1.0, 1.0, 1);
        let c = init_f32("c", &[1, 1, 3, 3], 2, -1.0, 1.0);
        let w = init_f32("w", &[7, 1, 1], 3, -1.0, 1.0);
        // DenseNet-like: x appears twice in the concat, next to a constant and a function of x.
        let nodes = vec![
            node("Sigmoid", &["x"], &["s"], vec![]),
            node(
                "Concat",
                &["x", "c", "s", "x"],
                &["cat"],
                vec![a_int("axis", 1)],
            ),
            node("Mul", &["cat", "w"], &["y"], vec![]),
        ];
        // The constant has batch 1 here, so this graph only runs at batch 1.
        graph_case(nodes)
            .inits(vec![c, w])
            .fixed_batch()
            .check("Concat axis 1", &x);
        let w = init_f32("w", &[1, 6], 3, -1.0, 1.0);
        let nodes = vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("Concat", &["x", "r"], &["cat"], vec![a_int("axis", -1)]),
            node("Mul", &["cat", "w"], &["y"], vec![]),
        ];
        let x = crate::testing::uniform_away_from(&[1, 2, 3, 3], -1.0, 1.0, &[0.0], 0.05, 4);
        graph_case(nodes).inits(vec![w]).check("Concat axis -1", &x);
    }
}
