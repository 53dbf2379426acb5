//! Transpose: the gradient transposed back with the inverse permutation.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::ir::{self, a_ints};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let rank = ctx.rank(x)?;
        let perm: Vec<i64> = match ir::attr_ints(n, "perm") {
            Some(p) if !p.is_empty() => p,
            _ => (0..rank as i64).rev().collect(),
        };
        let mut inv = vec![0i64; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inv[ctx.axis(n, p, rank)?] = i as i64;
        }
        Ok(ctx.node("Transpose", &[g], vec![a_ints("perm", &inv)]))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::a_ints;
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn transpose_and_channel_shuffle() {
        let x = uniform(&[1, 2, 3, 4], -1.0, 1.0, 1);
        let w = init_f32("w", &[4, 3, 2], 2, -1.0, 1.0);
        // Multiply by a non-symmetric constant so a wrong permutation shows.
        let nodes = vec![
            node(
                "Transpose",
                &["x"],
                &["t"],
                vec![a_ints("perm", &[0, 3, 2, 1])],
            ),
            node("Mul", &["t", "w"], &["y"], vec![]),
        ];
        graph_case(nodes).inits(vec![w]).check("Transpose", &x);
        let x = uniform(&[1, 6, 2, 2], -1.0, 1.0, 5);
        let s1 = crate::ir::tensor_i64("s1", &[5], &[0, 2, 3, 2, 2]);
        let s2 = crate::ir::tensor_i64("s2", &[4], &[0, 6, 2, 2]);
        let w = init_f32("w", &[6, 1, 1], 6, -1.0, 1.0);
        let nodes = vec![
            node("Reshape", &["x", "s1"], &["r"], vec![]),
            node(
                "Transpose",
                &["r"],
                &["t"],
                vec![a_ints("perm", &[0, 2, 1, 3, 4])],
            ),
            node("Reshape", &["t", "s2"], &["u"], vec![]),
            node("Mul", &["u", "w"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![s1, s2, w])
            .check("ShuffleNet channel shuffle", &x);
    }
}
