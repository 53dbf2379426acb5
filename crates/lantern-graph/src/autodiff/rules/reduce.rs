//! ReduceSum / ReduceMean: the gradient (with the reduced axes restored) expanded over the
//! input; ReduceMean divides by the number of reduced elements (static when no reduced axis
//! can be the batch, else `Size(x) / Size(y)` at run time). Axes come from the attribute or
//! the constant `axes` input (ReduceSum ≥ 13, ReduceMean ≥ 18).

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single};
use crate::ir::{self, a_int, op};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1], "axes")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let xs = ctx.shape(x)?;
    let rank = xs.len();
    let keepdims = ir::attr_i(n, "keepdims").unwrap_or(1) != 0;
    let noop = ir::attr_i(n, "noop_with_empty_axes").unwrap_or(0) != 0;
    let axes = ctx.ints_attr_or_input(n, "axes", 1)?.unwrap_or_default();
    if axes.is_empty() && noop {
        out[0] = Some(g);
        return Ok(out);
    }
    let mut axes: Vec<usize> = if axes.is_empty() {
        (0..rank).collect()
    } else {
        axes.iter()
            .map(|&a| ctx.axis(n, a, rank))
            .collect::<Result<_, _>>()?
    };
    axes.sort_unstable();
    axes.dedup();
    let g = if keepdims {
        g
    } else {
        let a = ctx.ints(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>());
        ctx.node("Unsqueeze", &[&g, &a], vec![])
    };
    let s = ctx.shape_of(x);
    let e = ctx.node("Expand", &[&g, &s], vec![]);
    out[0] = Some(if op(n) == "ReduceMean" {
        if axes.iter().all(|&a| xs[a] != 1) {
            let count: i64 = axes.iter().map(|&a| xs[a]).product();
            ctx.scale(&e, 1.0 / count as f64)
        } else {
            let sx = ctx.node("Size", &[x], vec![]);
            let sy = ctx.node("Size", &[&n.output[0]], vec![]);
            let c = ctx.node("Div", &[&sx, &sy], vec![]);
            let dt = ctx.dtype as i64;
            let c = ctx.node("Cast", &[&c], vec![a_int("to", dt)]);
            ctx.div(&e, &c)
        }
    } else {
        e
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn reduce_sum_and_mean() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        let hw = tensor_i64("hw", &[2], &[2, 3]);
        for keep in [0, 1] {
            let k = || vec![a_int("keepdims", keep)];
            check_op(
                &format!("ReduceSum keep={keep}"),
                vec![node("ReduceSum", &["x", "hw"], &["y"], k())],
                vec![hw.clone()],
                &x,
                13,
                &Fd::default(),
            );
            let mut a = k();
            a.push(a_ints("axes", &[-1, 2]));
            check_op(
                &format!("ReduceMean attr keep={keep}"),
                vec![node("ReduceMean", &["x"], &["y"], a)],
                vec![],
                &x,
                13,
                &Fd::default(),
            );
            check_op(
                &format!("ReduceMean input keep={keep}"),
                vec![node("ReduceMean", &["x", "hw"], &["y"], k())],
                vec![hw.clone()],
                &x,
                18,
                &Fd::default(),
            );
        }
        // Over every axis including the batch, and a ReduceMean over an extent-1 axis.
        let fixed = Fd {
            fixed_batch: true,
            ..Fd::default()
        };
        check_op(
            "ReduceMean all",
            vec![node("ReduceMean", &["x"], &["y"], vec![])],
            vec![],
            &x,
            13,
            &fixed,
        );
        let x1 = uniform(&[1, 1, 4, 5], -1.0, 1.0, 2);
        let a = vec![a_ints("axes", &[1, 3]), a_int("keepdims", 0)];
        check_op(
            "ReduceMean extent-1 axis",
            vec![node("ReduceMean", &["x"], &["y"], a)],
            vec![],
            &x1,
            13,
            &Fd::default(),
        );
        check_op(
            "ReduceSum opset 9",
            vec![node(
                "ReduceSum",
                &["x"],
                &["y"],
                vec![a_ints("axes", &[1])],
            )],
            vec![],
            &x,
            9,
            &Fd::default(),
        );
    }
}
