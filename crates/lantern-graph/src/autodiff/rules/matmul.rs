//! MatMul with numpy semantics: `∂A = g·Bᵀ`, `∂B = Aᵀ·g` over the last two axes, summed back
//! over broadcast batch axes; a 1-D operand is treated as a row (A) or column (B) matrix.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::ir::a_ints;
use crate::proto::NodeProto;

fn swap_last2(ctx: &mut Ctx, x: &str, rank: usize) -> String {
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(rank - 2, rank - 1);
    ctx.node("Transpose", &[x], vec![a_ints("perm", &perm)])
}

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    let g = single(n, gy)?;
    let (a, b) = (n.input[0].clone(), n.input[1].clone());
    let (ra, rb) = (ctx.rank(&a)?, ctx.rank(&b)?);
    // Promote 1-D operands to matrices and the gradient accordingly.
    let a2 = if ra == 1 {
        let s = ctx.ints(&[1, -1]);
        ctx.node("Reshape", &[&a, &s], vec![])
    } else {
        a.clone()
    };
    let b2 = if rb == 1 {
        let s = ctx.ints(&[-1, 1]);
        ctx.node("Reshape", &[&b, &s], vec![])
    } else {
        b.clone()
    };
    let mut g2 = g.clone();
    if ra == 1 {
        let ax = ctx.ints(&[-2]);
        g2 = ctx.node("Unsqueeze", &[&g2, &ax], vec![]);
    }
    if rb == 1 {
        let ax = ctx.ints(&[-1]);
        g2 = ctx.node("Unsqueeze", &[&g2, &ax], vec![]);
    }
    let (ra2, rb2) = (ra.max(2), rb.max(2));
    let rg = ra2.max(rb2);
    // Static shapes of the promoted operands and gradient, for the broadcast reduction.
    let sa = ctx.shape(&a)?;
    let sb = ctx.shape(&b)?;
    let sa2 = if ra == 1 { vec![1, sa[0]] } else { sa.clone() };
    let sb2 = if rb == 1 { vec![sb[0], 1] } else { sb.clone() };
    let mut sg = ctx.shape(&n.output[0])?;
    if ra == 1 {
        sg.insert(sg.len() - 1, 1);
    }
    if rb == 1 {
        sg.push(1);
    }
    ctx.set_shape(&a2, sa2);
    ctx.set_shape(&b2, sb2);
    if ctx.needs_grad(&a) {
        let bt = swap_last2(ctx, &b2, rb2);
        let ga = ctx.node("MatMul", &[&g2, &bt], vec![]);
        let mut sga = sg[..rg - 2].to_vec();
        sga.extend_from_slice(&ctx.shape(&a2)?[ra2 - 2..]);
        ctx.set_shape(&ga, sga);
        let ga = reduce_to(ctx, &ga, &a2)?;
        out[0] = Some(ctx.reshape_like(&ga, &a));
    }
    if ctx.needs_grad(&b) {
        let at = swap_last2(ctx, &a2, ra2);
        let gb = ctx.node("MatMul", &[&at, &g2], vec![]);
        let mut sgb = sg[..rg - 2].to_vec();
        sgb.extend_from_slice(&ctx.shape(&b2)?[rb2 - 2..]);
        ctx.set_shape(&gb, sgb);
        let gb = reduce_to(ctx, &gb, &b2)?;
        out[1] = Some(ctx.reshape_like(&gb, &b));
    }
    Ok(out)
}

/// Sums a batched product `p` (shape: broadcast batch dims + operand's matrix dims) back to the
/// operand `x`'s shape.
fn reduce_to(ctx: &mut Ctx, p: &str, x: &str) -> Result<String, GraphError> {
    ctx.unbroadcast(p, x, p)
}

#[cfg(test)]
mod tests {
    use crate::testing::{Fd, check_op, init_f32, node, uniform};

    #[test]
    fn matmul_2d_and_batched() {
        let x = uniform(&[1, 4], -1.0, 1.0, 1);
        let w = init_f32("w", &[4, 3], 2, -1.0, 1.0);
        check_op(
            "MatMul [1,4]x[4,3]",
            vec![node("MatMul", &["x", "w"], &["y"], vec![])],
            vec![w.clone()],
            &x,
            13,
            &Fd::default(),
        );
        let x3 = uniform(&[1, 2, 5, 4], -1.0, 1.0, 3);
        check_op(
            "MatMul batched x const",
            vec![node("MatMul", &["x", "w"], &["y"], vec![])],
            vec![w],
            &x3,
            13,
            &Fd::default(),
        );
        let wl = init_f32("wl", &[3, 5], 4, -1.0, 1.0);
        check_op(
            "MatMul const x batched",
            vec![node("MatMul", &["wl", "x"], &["y"], vec![])],
            vec![wl],
            &x3,
            13,
            &Fd::default(),
        );
        // Attention-like: both operands depend on x.
        let t = node(
            "Transpose",
            &["x"],
            &["xt"],
            vec![crate::ir::a_ints("perm", &[0, 1, 3, 2])],
        );
        check_op(
            "MatMul x·xᵀ",
            vec![t, node("MatMul", &["x", "xt"], &["y"], vec![])],
            vec![],
            &x3,
            13,
            &Fd::default(),
        );
    }

    #[test]
    fn matmul_vectors() {
        let x = uniform(&[1, 2, 4], -1.0, 1.0, 1);
        let v = init_f32("v", &[4], 2, -1.0, 1.0);
        check_op(
            "MatMul x·v",
            vec![node("MatMul", &["x", "v"], &["y"], vec![])],
            vec![v.clone()],
            &x,
            13,
            &Fd::default(),
        );
        let u = init_f32("u", &[2], 3, -1.0, 1.0);
        check_op(
            "MatMul u·x",
            vec![node("MatMul", &["u", "x"], &["y"], vec![])],
            vec![u],
            &x,
            13,
            &Fd::default(),
        );
    }
}
