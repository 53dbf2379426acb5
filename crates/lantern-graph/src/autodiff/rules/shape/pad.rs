//! Pad, constant mode: the adjoint of padding by `p` is padding the gradient by `−p`. ONNX Pad
//! crops where pads are negative (ORT 1.32 does), so the padded cells drop out of the gradient
//! and cells the forward cropped get zero — one node for either sign, and for pads known only
//! at run time (TorchScript's Swin computes them from Shape: the rule negates the tensor).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad, unsupported};
use crate::ir;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2, 3], "pads/value")?;
    data_grad(ctx, n, gy, |ctx, _, g| {
        let mode = ir::attr_s(n, "mode").unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(unsupported(
                n,
                &format!("mode {mode:?} (only constant padding is implemented)"),
            ));
        }
        let negated = |v: Vec<i64>| v.into_iter().map(|p| -p).collect::<Vec<_>>();
        let minus_pads = if let Some(a) = ir::attr(n, "pads") {
            ctx.ints(&negated(a.ints.clone()))
        } else {
            let pads = n
                .input
                .get(1)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| unsupported(n, "no pads"))?;
            match ctx.const_ints(pads) {
                Some(v) => ctx.ints(&negated(v)),
                None => ctx.neg(pads),
            }
        };
        // The same axes (opset 18 input), whether constant or not.
        let axes = n.input.get(3).cloned().unwrap_or_default();
        let inputs: Vec<&str> = if axes.is_empty() {
            vec![g, &minus_pads]
        } else {
            vec![g, &minus_pads, "", &axes]
        };
        Ok(ctx.node("Pad", &inputs, vec![]))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_ints, tensor_f32, tensor_i64};
    use crate::testing::{graph_case, node, op_case, uniform};

    #[test]
    fn pad_negative_and_run_time_pads() {
        use crate::ir::{a_int, tensor_i64};
        let x = uniform(&[1, 2, 5, 6], -1.0, 1.0, 2);
        // Crop and pad at once.
        let inits = vec![tensor_i64("p", &[8], &[0, 0, -1, 2, 0, 1, 1, -2])];
        let nodes = vec![
            node("Pad", &["x", "p"], &["pd"], vec![]),
            node("Sigmoid", &["pd"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .check("Pad negative pads", &x);
        // Pads computed from the input's shape at run time, as TorchScript's Swin does:
        // pad H and W up to a multiple of 4 (5×6 → 8×8): [0,0,0,0, 0,0,(4-H%4)%4,(4-W%4)%4].
        let inits = vec![
            tensor_i64("four", &[1], &[4]),
            tensor_i64("start", &[1], &[2]),
            tensor_i64("end", &[1], &[4]),
            tensor_i64("zeros", &[6], &[0; 6]),
        ];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Slice", &["s", "start", "end"], &["hw"], vec![]),
            node("Mod", &["hw", "four"], &["r"], vec![]),
            node("Sub", &["four", "r"], &["q"], vec![]),
            node("Mod", &["q", "four"], &["extra"], vec![]),
            node(
                "Concat",
                &["zeros", "extra"],
                &["p"],
                vec![a_int("axis", 0)],
            ),
            node("Pad", &["x", "p"], &["pd"], vec![]),
            node("Sigmoid", &["pd"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .check("Pad run-time pads", &x);
    }

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
        graph_case(nodes).inits(inits).check("Pad opset 13", &x);
        let inits = vec![
            tensor_i64("p", &[4], &[1, 0, 2, 2]),
            tensor_i64("ax", &[2], &[-1, 1]),
        ];
        let nodes = vec![node("Pad", &["x", "p", "", "ax"], &["y"], vec![])];
        graph_case(nodes)
            .inits(inits)
            .opset(18)
            .check("Pad opset 18 axes", &x);
        let attrs = vec![
            a_ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]),
            a_float("value", 0.0),
        ];
        op_case("Pad", &["x"], attrs)
            .opset(9)
            .check("Pad opset 9 attributes", &x);
    }
}
