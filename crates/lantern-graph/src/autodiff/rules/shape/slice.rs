//! Slice (unit steps): the gradient padded with zeros back to the input's extent. Bounds are
//! clamped with the static shape; an axis of static extent 1 (possibly the batch) is only
//! accepted when sliced whole.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single, unsupported};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1, 2, 3, 4], "bounds")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let xs = ctx.shape(x)?;
    let rank = xs.len();
    let need = |i: usize| ctx.ints_attr_or_input(n, "", i);
    let starts = need(1)?.ok_or_else(|| unsupported(n, "no starts"))?;
    let ends = need(2)?.ok_or_else(|| unsupported(n, "no ends"))?;
    let axes = need(3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = need(4)?.unwrap_or_else(|| vec![1; starts.len()]);
    let mut pads = vec![0i64; 2 * rank];
    for i in 0..starts.len() {
        if steps[i] != 1 {
            return Err(unsupported(
                n,
                &format!("step {} (only unit steps are implemented)", steps[i]),
            ));
        }
        let a = ctx.axis(n, axes[i], rank)?;
        let dim = xs[a];
        if dim == 1 {
            if starts[i] == 0 && ends[i] >= 1 << 30 {
                continue;
            }
            return Err(unsupported(
                n,
                &format!(
                    "axis {a} has extent 1 at batch 1 (maybe the batch) and is sliced partially"
                ),
            ));
        }
        let norm = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim);
        let (s, e) = (norm(starts[i]), norm(ends[i]));
        pads[a] = s;
        pads[rank + a] = (dim - e.max(s)).max(0);
    }
    let p = ctx.ints(&pads);
    out[0] = Some(ctx.node("Pad", &[&g, &p], vec![]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_ints, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn slice_unit_steps() {
        let x = uniform(&[1, 4, 5, 6], -1.0, 1.0, 1);
        let inits = vec![
            tensor_i64("st", &[2], &[1, -4]),
            tensor_i64("en", &[2], &[3, i64::MAX]),
            tensor_i64("ax", &[2], &[1, 3]),
        ];
        let nodes = vec![
            node("Slice", &["x", "st", "en", "ax"], &["s"], vec![]),
            node("Sigmoid", &["s"], &["y"], vec![]),
        ];
        check_op("Slice axes 1,3", nodes, inits, &x, 13, &Fd::default());
        let inits = vec![
            tensor_i64("st", &[4], &[0, 0, 1, 0]),
            tensor_i64("en", &[4], &[i64::MAX, 2, -1, 100]),
        ];
        let nodes = vec![node("Slice", &["x", "st", "en"], &["y"], vec![])];
        check_op("Slice all axes", nodes, inits, &x, 13, &Fd::default());
        let attrs = vec![
            a_ints("starts", &[1]),
            a_ints("ends", &[4]),
            a_ints("axes", &[2]),
        ];
        check_op(
            "Slice opset 9 attributes",
            vec![node("Slice", &["x"], &["y"], attrs)],
            vec![],
            &x,
            9,
            &Fd::default(),
        );
    }
}
