//! Pad (constant mode, non-negative pads): the gradient of the original region, a Slice from
//! the begin pads over the input's runtime extent.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single, unsupported};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1, 2, 3], "pads/value")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let mode = ir::attr_s(n, "mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(unsupported(
            n,
            &format!("mode {mode:?} (only constant padding is implemented)"),
        ));
    }
    let rank = ctx.rank(x)?;
    let pads = ctx
        .ints_attr_or_input(n, "pads", 1)?
        .ok_or_else(|| unsupported(n, "no pads"))?;
    let axes: Vec<usize> = match ctx.ints_attr_or_input(n, "", 3)? {
        Some(a) => a
            .iter()
            .map(|&v| ctx.axis(n, v, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(unsupported(n, "pads length does not match the axes"));
    }
    if pads.iter().any(|&p| p < 0) {
        return Err(unsupported(n, "negative pads (cropping)"));
    }
    let mut begin = vec![0i64; rank];
    for (i, &a) in axes.iter().enumerate() {
        begin[a] = pads[i];
    }
    let starts = ctx.ints(&begin);
    let shape = ctx.shape_of(x);
    let ends = ctx.node("Add", &[&starts, &shape], vec![]);
    out[0] = Some(ctx.node("Slice", &[&g, &starts, &ends], vec![]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_ints, tensor_f32, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn pad_constant() {
        let x = uniform(&[1, 2, 3, 4], -1.0, 1.0, 1);
        let inits = vec![
            tensor_i64("p", &[8], &[0, 1, 2, 0, 0, 0, 1, 3]),
            tensor_f32("v", &[], &[0.5]),
        ];
        let nodes = vec![
            node("Pad", &["x", "p", "v"], &["pd"], vec![]),
            node("Sigmoid", &["pd"], &["y"], vec![]),
        ];
        check_op("Pad opset 13", nodes, inits, &x, 13, &Fd::default());
        let inits = vec![
            tensor_i64("p", &[4], &[1, 0, 2, 2]),
            tensor_i64("ax", &[2], &[-1, 1]),
        ];
        let nodes = vec![node("Pad", &["x", "p", "", "ax"], &["y"], vec![])];
        check_op("Pad opset 18 axes", nodes, inits, &x, 18, &Fd::default());
        let attrs = vec![
            a_ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]),
            a_float("value", 0.0),
        ];
        check_op(
            "Pad opset 9 attributes",
            vec![node("Pad", &["x"], &["y"], attrs)],
            vec![],
            &x,
            9,
            &Fd::default(),
        );
    }
}
