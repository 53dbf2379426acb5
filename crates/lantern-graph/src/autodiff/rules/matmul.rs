//! MatMul with numpy semantics: `∂A = g·Bᵀ`, `∂B = Aᵀ·g` over the last two axes, summed back
//! over broadcast batch axes; a 1-D operand is treated as a row (A) or column (B) matrix.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single};
use crate::ir::a_ints;
use crate::proto::NodeProto;

fn swap_last2(ctx: &mut Ctx, x: &str, rank: usize) -> String {
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(rank - 2, rank - 1);
    ctx.node("Transpose", &[x], vec![a_ints("perm", &perm)])
}

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
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
    let y = &n.output[0];
    let batch_dims = &sg[..rg - 2];
    if ctx.needs_grad(&a) {
        let bt = swap_last2(ctx, &b2, rb2);
        out[0] = Some(operand_grad(ctx, y, &a, &a2, [&g2, &bt], batch_dims)?);
    }
    if ctx.needs_grad(&b) {
        let at = swap_last2(ctx, &a2, ra2);
        out[1] = Some(operand_grad(ctx, y, &b, &b2, [&at, &g2], batch_dims)?);
    }
    Ok(out)
}

/// Operand `x`'s gradient from the matrix product `factors` (`g·Bᵀ` or `Aᵀ·g`): the product
/// has the output `y`'s batch dims `batch_dims`, then the matrix dims of `x2` (x promoted to
/// a matrix); it is summed back over broadcast axes and reshaped to x.
fn operand_grad(
    ctx: &mut Ctx,
    y: &str,
    x: &str,
    x2: &str,
    factors: [&str; 2],
    batch_dims: &[i64],
) -> Result<String, GraphError> {
    let p = ctx.node("MatMul", &factors, vec![]);
    let x2_shape = ctx.shape(x2)?;
    let mut sp = batch_dims.to_vec();
    sp.extend_from_slice(&x2_shape[x2_shape.len() - 2..]);
    let rank = sp.len();
    ctx.set_shape(&p, sp);
    let x_rank = ctx.rank(x)?;
    mark_batch_axis(ctx, &p, x, x_rank, y, rank);
    let p = reduce_to(ctx, &p, x2)?;
    Ok(ctx.reshape_like(&p, x))
}

/// Gives the product `p` (the output's batch dims, then operand `x`'s matrix dims, rank
/// `rank`) the batch axis of `x` when the output `y` has it on the same axis, off the last
/// (contracted or column) axis: `p`'s extent there is N and its others are fixed, so
/// `reduce_to` sums only axes that are broadcast at every batch size, with static axes.
fn mark_batch_axis(ctx: &mut Ctx, p: &str, x: &str, x_rank: usize, y: &str, rank: usize) {
    match (ctx.batch_axis.get(x), ctx.batch_axis.get(y)) {
        (Some(&bx), Some(&by)) if bx == by && x_rank == rank && bx + 1 < rank => {
            ctx.batch_axis.insert(p.to_string(), bx);
        }
        _ => {}
    }
}

/// Sums a batched product `p` (shape: broadcast batch dims + operand's matrix dims) back to the
/// operand `x`'s shape.
fn reduce_to(ctx: &mut Ctx, p: &str, x: &str) -> Result<String, GraphError> {
    ctx.unbroadcast(p, x, p)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::proto::NodeProto;
    use crate::testing::{graph_case, init_f32, node, op_case, uniform};

    /// `xt` = `x` of rank 4 with its last two axes swapped.
    fn transposed(x: &str, xt: &str) -> NodeProto {
        node(
            "Transpose",
            &[x],
            &[xt],
            vec![a_ints("perm", &[0, 1, 3, 2])],
        )
    }

    #[test]
    fn matmul_2d_and_batched() {
        let x = uniform(&[1, 4], -1.0, 1.0, 1);
        let w = init_f32("w", &[4, 3], 2, -1.0, 1.0);
        op_case("MatMul", &["x", "w"], vec![])
            .inits(vec![w.clone()])
            .check("MatMul [1,4]x[4,3]", &x);
        let x3 = uniform(&[1, 2, 5, 4], -1.0, 1.0, 3);
        op_case("MatMul", &["x", "w"], vec![])
            .inits(vec![w])
            .check("MatMul batched x const", &x3);
        let wl = init_f32("wl", &[3, 5], 4, -1.0, 1.0);
        op_case("MatMul", &["wl", "x"], vec![])
            .inits(vec![wl])
            .check("MatMul const x batched", &x3);
        // Attention-like: both operands depend on x.
        let nodes = vec![
            transposed("x", "xt"),
            node("MatMul", &["x", "xt"], &["y"], vec![]),
        ];
        graph_case(nodes).check("MatMul x·xᵀ", &x3);
    }

    #[test]
    fn matmul_attention_both_operands_active() {
        // Q·Kᵀ with Q and K both projections of x, softmax, then A·V: rank-4 [N, heads, T, d].
        let x = uniform(&[1, 2, 5, 4], -1.0, 1.0, 5);
        let inits = vec![
            init_f32("wq", &[4, 4], 6, -1.0, 1.0),
            init_f32("wk", &[4, 4], 7, -1.0, 1.0),
            init_f32("wv", &[4, 3], 8, -1.0, 1.0),
        ];
        let nodes = vec![
            node("MatMul", &["x", "wq"], &["q"], vec![]),
            node("MatMul", &["x", "wk"], &["k"], vec![]),
            node("MatMul", &["x", "wv"], &["v"], vec![]),
            transposed("k", "kt"),
            node("MatMul", &["q", "kt"], &["s"], vec![]),
            node("Softmax", &["s"], &["a"], vec![a_int("axis", -1)]),
            node("MatMul", &["a", "v"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("MatMul attention", &x);
        // Kᵀ shared by every head ([N, 1, d, T], broadcast over the heads of Q), both active.
        let nodes = vec![
            node("ReduceMean", &["x", "h"], &["k1"], vec![]),
            transposed("k1", "kt"),
            node("MatMul", &["x", "kt"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![tensor_i64("h", &[1], &[1])])
            .opset(18)
            .check("MatMul [N,2,5,4]·[N,1,4,5]", &x);
    }

    #[test]
    fn matmul_vectors() {
        let x = uniform(&[1, 2, 4], -1.0, 1.0, 1);
        let v = init_f32("v", &[4], 2, -1.0, 1.0);
        op_case("MatMul", &["x", "v"], vec![])
            .inits(vec![v.clone()])
            .check("MatMul x·v", &x);
        let u = init_f32("u", &[2], 3, -1.0, 1.0);
        op_case("MatMul", &["u", "x"], vec![])
            .inits(vec![u])
            .check("MatMul u·x", &x);
    }
}
