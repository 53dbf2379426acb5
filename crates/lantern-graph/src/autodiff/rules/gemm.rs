//! Gemm `Y = α·A'·B' + β·C` (A' = Aᵀ if transA, B' = Bᵀ if transB): `∂A' = α·g·B'ᵀ`,
//! `∂B' = α·A'ᵀ·g`, written as Gemms with the transposes folded into their flags, and
//! `∂C = β·g` summed back to C's shape.

use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::ir::{self, a_float, a_int};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let (a, b) = (&n.input[0], &n.input[1]);
    let alpha = ir::attr_f(n, "alpha").unwrap_or(1.0);
    let beta = ir::attr_f(n, "beta").unwrap_or(1.0) as f64;
    let ta = ir::attr_i(n, "transA").unwrap_or(0) != 0;
    let tb = ir::attr_i(n, "transB").unwrap_or(0) != 0;
    let gemm = |ctx: &mut Ctx, p: &str, q: &str, tp: bool, tq: bool| {
        ctx.node(
            "Gemm",
            &[p, q],
            vec![
                a_float("alpha", alpha),
                a_int("transA", tp as i64),
                a_int("transB", tq as i64),
            ],
        )
    };
    if ctx.needs_grad(a) {
        out[0] = Some(if ta {
            gemm(ctx, b, &g, tb, true)
        } else {
            gemm(ctx, &g, b, false, !tb)
        });
    }
    if ctx.needs_grad(b) {
        out[1] = Some(if tb {
            gemm(ctx, &g, a, true, ta)
        } else {
            gemm(ctx, a, &g, !ta, false)
        });
    }
    if let Some(c) = n.input.get(2).filter(|c| ctx.needs_grad(c)) {
        let gc = ctx.scale(&g, beta);
        out[2] = Some(ctx.unbroadcast(&gc, c, &n.output[0])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_int, a_ints};
    use crate::testing::{graph_case, init_f32, node, uniform};

    #[test]
    fn gemm_all_transposes() {
        let x = uniform(&[1, 4], -1.0, 1.0, 1);
        for ta in [0, 1] {
            for tb in [0, 1] {
                let w = init_f32("w", if tb == 1 { &[3, 4] } else { &[4, 3] }, 2, -1.0, 1.0);
                let c = init_f32("c", &[3], 3, -1.0, 1.0);
                let attrs = vec![
                    a_int("transA", ta),
                    a_int("transB", tb),
                    a_float("alpha", 0.7),
                    a_float("beta", 1.3),
                ];
                // With transA the operand is xᵀ ([4, N]).
                let mut nodes = vec![node(
                    "Transpose",
                    &["x"],
                    &["xt"],
                    vec![a_ints("perm", &[1, 0])],
                )];
                let a = if ta == 1 { "xt" } else { "x" };
                nodes.push(node("Gemm", &[a, "w", "c"], &["y"], attrs));
                graph_case(nodes)
                    .inits(vec![w, c])
                    .check(&format!("Gemm tA={ta} tB={tb}"), &x);
            }
        }
    }

    #[test]
    fn gemm_operands_b_and_c_from_x() {
        // Fixed batch 1: B = reshape(x) and C = Σx² both depend on x.
        let x = uniform(&[1, 4], -1.0, 1.0, 1);
        for tb in [0, 1] {
            let shape = crate::ir::tensor_i64("s", &[2], if tb == 1 { &[1, 4] } else { &[4, 1] });
            let nodes = vec![
                node("Reshape", &["x", "s"], &["b"], vec![]),
                node("Mul", &["x", "x"], &["sq"], vec![]),
                node("ReduceSum", &["sq"], &["c"], vec![a_int("keepdims", 1)]),
                node(
                    "Gemm",
                    &["x", "b", "c"],
                    &["y"],
                    vec![a_int("transB", tb), a_float("beta", 0.5)],
                ),
            ];
            graph_case(nodes)
                .inits(vec![shape])
                .fixed_batch()
                .check(&format!("Gemm B, C from x, tB={tb}"), &x);
        }
    }
}
