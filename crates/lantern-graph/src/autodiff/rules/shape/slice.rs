//! Slice. Constant unit steps: the gradient padded with zeros back to the input's extent
//! (bounds clamped with the static shape; one Pad, the fast path). Anything else — any step,
//! negative too, bounds computed at run time (ShuffleNetV2's channel split from Shape), or a
//! partial slice of an axis of static extent 1 (possibly the batch) — is routed back through
//! [`route_back`], which lets the Slice itself resolve its bounds at run time.

use super::route::route_back;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2, 3, 4], "bounds")?;
    data_grad(ctx, n, gy, |ctx, _, g| {
        Ok(match unit_step_pads(ctx, n)? {
            Some(pads) => pad_back(ctx, n, g, &pads)?,
            None => route_back(ctx, n, g),
        })
    })
}

/// `Pad(g, pads)`; a block when only one axis is padded (slices that tile an axis then
/// concatenate, see [`Ctx::pad_block`]).
fn pad_back(ctx: &mut Ctx, n: &NodeProto, g: &str, pads: &[i64]) -> Result<String, GraphError> {
    let rank = pads.len() / 2;
    let padded: Vec<usize> = (0..rank)
        .filter(|&a| pads[a] != 0 || pads[rank + a] != 0)
        .collect();
    if let [axis] = padded[..] {
        let extent = ctx.shape(&n.input[0])?[axis];
        let len = extent - pads[axis] - pads[rank + axis];
        if len > 0 {
            return Ok(ctx.pad_block(g, rank, axis, pads[axis], len, extent));
        }
    }
    let p = ctx.ints(pads);
    Ok(ctx.node("Pad", &[g, &p], vec![]))
}

/// The Pad that undoes the slice, when its bounds are constants with unit steps and every
/// sliced axis has a static extent other than 1 (or is sliced whole); `None` otherwise.
fn unit_step_pads(ctx: &Ctx, n: &NodeProto) -> Result<Option<Vec<i64>>, GraphError> {
    // The opset upgrade turned attribute bounds into inputs; an absent input is `Some(None)`.
    let input = |i: usize| -> Option<Option<Vec<i64>>> {
        match n.input.get(i).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(name) => ctx.const_ints(name).map(Some),
        }
    };
    let (Some(Some(starts)), Some(Some(ends)), Some(axes), Some(steps)) =
        (input(1), input(2), input(3), input(4))
    else {
        return Ok(None);
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    if steps.is_some_and(|s| s.iter().any(|&v| v != 1)) {
        return Ok(None);
    }
    let xs = ctx.shape(&n.input[0])?;
    let rank = xs.len();
    let mut pads = vec![0i64; 2 * rank];
    for i in 0..starts.len() {
        let a = ctx.axis(n, axes[i], rank)?;
        let dim = xs[a];
        if dim == 1 {
            if starts[i] == 0 && ends[i] >= 1 << 30 {
                continue;
            }
            return Ok(None);
        }
        let norm = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim);
        let (s, e) = (norm(starts[i]), norm(ends[i]));
        pads[a] = s;
        pads[rank + a] = (dim - e.max(s)).max(0);
    }
    Ok(Some(pads))
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_ints, tensor_i64};
    use crate::proto::NodeProto;
    use crate::testing::{graph_case, node, op_case, uniform};

    fn gradient_ops(nodes: Vec<NodeProto>, inits: Vec<crate::proto::TensorProto>) -> Vec<String> {
        crate::testing::gradient_op_types(nodes, inits, &[1, 4, 5, 6])
    }

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
        graph_case(nodes).inits(inits).check("Slice axes 1,3", &x);
        let inits = vec![
            tensor_i64("st", &[4], &[0, 0, 1, 0]),
            tensor_i64("en", &[4], &[i64::MAX, 2, -1, 100]),
        ];
        let nodes = vec![node("Slice", &["x", "st", "en"], &["y"], vec![])];
        graph_case(nodes).inits(inits).check("Slice all axes", &x);
        let attrs = vec![
            a_ints("starts", &[1]),
            a_ints("ends", &[4]),
            a_ints("axes", &[2]),
        ];
        op_case("Slice", &["x"], attrs)
            .opset(9)
            .check("Slice opset 9 attributes", &x);
    }

    #[test]
    fn unit_steps_pad_others_route() {
        let inits = vec![
            tensor_i64("st", &[1], &[1]),
            tensor_i64("en", &[1], &[3]),
            tensor_i64("ax", &[1], &[1]),
            tensor_i64("sp", &[1], &[2]),
        ];
        let ops = gradient_ops(
            vec![node("Slice", &["x", "st", "en", "ax"], &["y"], vec![])],
            inits.clone(),
        );
        assert!(ops.iter().any(|o| o == "Pad"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "ScatterElements"), "{ops:?}");
        let ops = gradient_ops(
            vec![node(
                "Slice",
                &["x", "st", "en", "ax", "sp"],
                &["y"],
                vec![],
            )],
            inits,
        );
        assert!(ops.iter().any(|o| o == "ScatterElements"), "{ops:?}");
    }

    #[test]
    fn slice_any_step() {
        let x = uniform(&[1, 2, 5, 6], -1.0, 1.0, 2);
        let check = |what: &str, st: &[i64], en: &[i64], ax: &[i64], sp: &[i64]| {
            let k = st.len() as i64;
            let inits = vec![
                tensor_i64("st", &[k], st),
                tensor_i64("en", &[k], en),
                tensor_i64("ax", &[k], ax),
                tensor_i64("sp", &[k], sp),
            ];
            let nodes = vec![
                node("Slice", &["x", "st", "en", "ax", "sp"], &["s"], vec![]),
                node("Sigmoid", &["s"], &["y"], vec![]),
            ];
            graph_case(nodes).inits(inits).check(what, &x);
        };
        let max = i64::MAX;
        // LeViT's subsampling x[:, :, ::2, ::2] (odd and even extents).
        check("Slice step 2", &[0, 0], &[max, max], &[2, 3], &[2, 2]);
        // x[..., ::-1]
        check("Slice reversed", &[-1], &[i64::MIN], &[3], &[-1]);
        // Rows 4, 2 and columns 4, 1 (negative bounds, clamped end).
        check(
            "Slice steps -2, -3",
            &[4, -2],
            &[0, -7],
            &[2, -1],
            &[-2, -3],
        );
        // One channel from a step larger than the extent.
        check("Slice step 3", &[1], &[max], &[1], &[3]);
    }

    #[test]
    fn slice_run_time_bounds() {
        // ShuffleNetV2's channel split as the TorchScript exporter writes it: the half of the
        // channel count from Shape → Gather → Div. Dynamic batch: the check also runs the
        // gradient graph at batch 3.
        let x = uniform(&[1, 4, 3, 3], -1.0, 1.0, 3);
        let inits = vec![
            tensor_i64("one", &[1], &[1]),
            tensor_i64("two", &[1], &[2]),
            tensor_i64("zero", &[1], &[0]),
            tensor_i64("max", &[1], &[i64::MAX]),
            tensor_i64("minus1", &[1], &[-1]),
            tensor_i64("min", &[1], &[i64::MIN]),
        ];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "one"], &["c"], vec![]),
            node("Div", &["c", "two"], &["half"], vec![]),
            node("Slice", &["x", "zero", "half", "one"], &["a"], vec![]),
            node("Slice", &["x", "half", "max", "one"], &["b"], vec![]),
            // A run-time step: -c / c = -1 along the rows of the second half.
            node("Neg", &["c"], &["negc"], vec![]),
            node("Div", &["negc", "c"], &["step"], vec![]),
            node(
                "Slice",
                &["b", "minus1", "min", "two", "step"],
                &["br"],
                vec![],
            ),
            node("Sigmoid", &["br"], &["sb"], vec![]),
            node("Mul", &["a", "sb"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .check("Slice with run-time bounds and step", &x);
    }

    #[test]
    fn slice_of_the_batch_axis() {
        // x[0:1] at a fixed batch of 1: extent 1, so not the Pad path.
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 4);
        let inits = vec![
            tensor_i64("st", &[2], &[0, 1]),
            tensor_i64("en", &[2], &[1, 3]),
            tensor_i64("ax", &[2], &[0, 2]),
        ];
        let nodes = vec![
            node("Slice", &["x", "st", "en", "ax"], &["s"], vec![]),
            node("Sigmoid", &["s"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .fixed_batch()
            .check("Slice of the batch axis", &x);
    }
}
