//! DepthToSpace and SpaceToDepth: permutations of the elements, so the gradient is the inverse
//! permutation. SpaceToDepth is exactly the inverse of DepthToSpace in DCR mode (and vice
//! versa); DepthToSpace in CRD mode (`[N, C', b, b, H, W]` → `[N, C', H, b, W, b]`) is undone
//! by its own reshape–transpose–reshape run backwards.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, unsupported};
use crate::ir::{self, a_int, a_ints};
use crate::proto::NodeProto;

pub(crate) fn depth_to_space(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let b = ir::attr_i(n, "blocksize").ok_or_else(|| unsupported(n, "no blocksize"))?;
        let mode = ir::attr_s(n, "mode").unwrap_or_else(|| "DCR".into());
        Ok(match mode.as_str() {
            "DCR" => ctx.node("SpaceToDepth", &[g], vec![a_int("blocksize", b)]),
            "CRD" => {
                let xs = ctx.shape(x)?;
                let [_, c, h, w] = xs[..] else {
                    return Err(unsupported(n, "input is not 4-D"));
                };
                // g is [N, C', H·b, W·b]; 0 keeps the run-time batch.
                let split = ctx.ints(&[0, c / (b * b), h, b, w, b]);
                let blocks = ctx.node("Reshape", &[g, &split], vec![]);
                let back = ctx.node(
                    "Transpose",
                    &[&blocks],
                    vec![a_ints("perm", &[0, 1, 3, 5, 2, 4])],
                );
                let merged = ctx.ints(&[0, c, h, w]);
                ctx.node("Reshape", &[&back, &merged], vec![])
            }
            other => return Err(unsupported(n, &format!("mode {other:?}"))),
        })
    })
}

pub(crate) fn space_to_depth(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, _, g| {
        let b = ir::attr_i(n, "blocksize").ok_or_else(|| unsupported(n, "no blocksize"))?;
        Ok(ctx.node(
            "DepthToSpace",
            &[g],
            vec![a_int("blocksize", b), ir::a_string("mode", "DCR")],
        ))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_string};
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn depth_to_space_both_modes() {
        let x = uniform(&[1, 8, 2, 3], -1.0, 1.0, 1);
        for mode in ["DCR", "CRD"] {
            let attrs = vec![a_int("blocksize", 2), a_string("mode", mode)];
            let nodes = vec![
                node("DepthToSpace", &["x"], &["d"], attrs),
                node("Sigmoid", &["d"], &["y"], vec![]),
            ];
            graph_case(nodes).check(&format!("DepthToSpace {mode}"), &x);
        }
    }

    #[test]
    fn space_to_depth() {
        let x = uniform(&[1, 2, 4, 6], -1.0, 1.0, 2);
        // A weight per output channel, so a wrong channel order shows.
        let w = init_f32("w", &[8, 1, 1], 3, -1.0, 1.0);
        let nodes = vec![
            node("SpaceToDepth", &["x"], &["s"], vec![a_int("blocksize", 2)]),
            node("Mul", &["s", "w"], &["y"], vec![]),
        ];
        graph_case(nodes).inits(vec![w]).check("SpaceToDepth", &x);
    }
}
