//! Clip: the gradient passes strictly inside the bounds, `min < x < max` — the backward of
//! PyTorch's `nn.ReLU6`/`Hardtanh`, which is what ONNX Clip nodes in classifiers come from
//! (torch.clamp would pass at the bounds too; the difference is only at exact ties). Bounds are
//! inputs (opset ≥ 11; older models are upgraded first) and may be absent.
//!
//! A ReLU-like Clip (constant min = 0, e.g. ReLU6) takes the `ReluRule` variants: guided =
//! `Where(min < x < max, Relu(g), 0)` (Captum's guided hook on ReLU6), deconvnet = `Relu(g)`.
//! Without that, guided backprop on MobileNetV2 (no Relu at all) would be the plain gradient.

use crate::GraphError;
use crate::autodiff::ReluRule;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1, 2], "bounds")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let min = n.input.get(1).filter(|s| !s.is_empty()).cloned();
    let max = n.input.get(2).filter(|s| !s.is_empty()).cloned();
    let relu_like = min
        .as_ref()
        .and_then(|m| ctx.const_values(m))
        .is_some_and(|v| v.len() == 1 && v[0] == 0.0);
    if relu_like && ctx.relu_rule == ReluRule::Deconvnet {
        out[0] = Some(ctx.node("Relu", &[&g], vec![]));
        return Ok(out);
    }
    let lo = min.map(|m| ctx.node("Greater", &[x, &m], vec![]));
    let hi = max.map(|m| ctx.node("Less", &[x, &m], vec![]));
    let mask = match (lo, hi) {
        (Some(a), Some(b)) => Some(ctx.node("And", &[&a, &b], vec![])),
        (a, b) => a.or(b),
    };
    let g = if relu_like && ctx.relu_rule == ReluRule::Guided {
        ctx.node("Relu", &[&g], vec![])
    } else {
        g
    };
    out[0] = Some(match mask {
        Some(m) => ctx.mask(&m, &g),
        None => g,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ReluRule;
    use crate::ir::{a_float, tensor_f32};
    use crate::testing::{Fd, check_op, grad_of, model, node, uniform_away_from};
    use ndarray::{ArrayD, IxDyn};

    fn bounds(min: f32, max: f32) -> Vec<crate::proto::TensorProto> {
        vec![tensor_f32("lo", &[], &[min]), tensor_f32("hi", &[], &[max])]
    }

    #[test]
    fn clip_inputs_and_attributes_match_finite_differences() {
        let x = uniform_away_from(&[1, 3, 4, 4], -2.0, 8.0, &[0.0, 6.0, -1.0, 1.0], 0.05, 2);
        check_op(
            "Clip 0..6",
            vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])],
            bounds(0.0, 6.0),
            &x,
            13,
            &Fd::default(),
        );
        check_op(
            "Clip max only",
            vec![node("Clip", &["x", "", "hi"], &["y"], vec![])],
            bounds(0.0, 6.0),
            &x,
            13,
            &Fd::default(),
        );
        check_op(
            "Clip min only",
            vec![node("Clip", &["x", "lo"], &["y"], vec![])],
            bounds(0.0, 6.0),
            &x,
            13,
            &Fd::default(),
        );
        // Opset 9: bounds are attributes (upgraded to inputs).
        let attrs = vec![a_float("min", -1.0), a_float("max", 1.0)];
        check_op(
            "Clip attrs (opset 9)",
            vec![node("Clip", &["x"], &["y"], attrs)],
            vec![],
            &x,
            9,
            &Fd::default(),
        );
    }

    #[test]
    fn clip_kinks_are_strict_and_variants_apply_to_relu6() {
        let m = model(
            vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])],
            bounds(0.0, 6.0),
            &[("x", &[-1, 6])],
            &["y"],
            13,
        );
        let x =
            ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![-1.0, 0.0, 3.0, 6.0, 7.0, 2.0]).expect("x");
        let seed =
            ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![1.0, 1.0, -2.0, 1.0, 1.0, 5.0]).expect("s");
        let v = |a: ArrayD<f32>| a.iter().copied().collect::<Vec<_>>();
        assert_eq!(
            v(grad_of(&m, &x, &seed, ReluRule::Plain)),
            [0.0, 0.0, -2.0, 0.0, 0.0, 5.0]
        );
        assert_eq!(
            v(grad_of(&m, &x, &seed, ReluRule::Guided)),
            [0.0, 0.0, 0.0, 0.0, 0.0, 5.0]
        );
        assert_eq!(
            v(grad_of(&m, &x, &seed, ReluRule::Deconvnet)),
            [1.0, 1.0, 0.0, 1.0, 1.0, 5.0]
        );
        // Not ReLU-like (min = -1): the variants leave it alone.
        let m = model(
            vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])],
            bounds(-1.0, 6.0),
            &[("x", &[-1, 6])],
            &["y"],
            13,
        );
        assert_eq!(
            v(grad_of(&m, &x, &seed, ReluRule::Guided)),
            [0.0, 1.0, -2.0, 0.0, 0.0, 5.0]
        );
    }
}
