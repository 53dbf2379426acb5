//! Clip: the gradient passes strictly inside the bounds, `min < x < max` — the backward of
//! PyTorch's `nn.ReLU6`/`Hardtanh`, which is what ONNX Clip nodes in classifiers come from
//! (torch.clamp would pass at the bounds too; the difference is only at exact ties). Bounds are
//! inputs (opset ≥ 11; older models are upgraded first) and may be absent.
//!
//! The mask is computed on the output `y = clip(x)`: `min < y < max` exactly when
//! `min < x < max` (y equals x inside, a bound outside; NaN fails both; with min ≥ max both are
//! empty). Reading y instead of x keeps ONNX Runtime's Conv+Clip fusion in the forward part:
//! on MobileNetV2 the pre-activation reads had left all 35 Clips unfused, each costing a
//! standalone Clip plus a layout reorder before the next Conv.
//!
//! With both bounds constant (float or double), the mask is `y == clip(y, min⁺, max⁻)`, where
//! min⁺/max⁻ are the neighbouring representable values inside the bounds: y ∈ [min, max], and
//! nothing lies strictly between min and min⁺, so the equality holds exactly when
//! `min < y < max` (NaN: false). That is one node fewer than `Greater`, `Less`, `And`, over
//! less memory (MobileNetV2, batch 16, one thread: gradient 864 vs 901 ms), and fewer nodes
//! matter when ONNX Runtime's threads are contended (two threads on a loaded two-core machine:
//! 128 vs 139–158 ms at batch 1).
//!
//! A ReLU-like Clip (constant min = 0, e.g. ReLU6) takes the `ReluRule` variants: guided =
//! `Relu(g) · [min < x < max]` (Captum's guided hook on ReLU6), deconvnet = `Relu(g)`.
//! Without that, guided backprop on MobileNetV2 (no Relu at all) would be the plain gradient.

use crate::GraphError;
use crate::autodiff::ReluRule;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::proto::NodeProto;
use crate::proto::tensor_proto::DataType;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2], "bounds")?;
    data_grad(ctx, n, gy, |ctx, _, g| clip_grad(ctx, n, g))
}

/// The gradient of x for the upstream gradient `g` (see the module comment).
fn clip_grad(ctx: &mut Ctx, n: &NodeProto, g: &str) -> Result<String, GraphError> {
    let min = n.input.get(1).filter(|s| !s.is_empty()).cloned();
    let max = n.input.get(2).filter(|s| !s.is_empty()).cloned();
    let relu_like = min
        .as_ref()
        .and_then(|m| ctx.const_values(m))
        .is_some_and(|v| v.len() == 1 && v[0] == 0.0);
    if relu_like && ctx.relu_rule == ReluRule::Deconvnet {
        return Ok(ctx.node("Relu", &[g], vec![]));
    }
    let y = &n.output[0];
    let inside = match (&min, &max) {
        (Some(lo), Some(hi)) => inner_bounds(ctx, lo, hi),
        _ => None,
    };
    let mask = match inside {
        Some((a, b)) => {
            let (a, b) = (ctx.scalar(a), ctx.scalar(b));
            let c = ctx.node("Clip", &[y, &a, &b], vec![]);
            Some(ctx.node("Equal", &[y, &c], vec![]))
        }
        None => {
            let lo = min.map(|m| ctx.node("Greater", &[y, &m], vec![]));
            let hi = max.map(|m| ctx.node("Less", &[y, &m], vec![]));
            match (lo, hi) {
                (Some(a), Some(b)) => Some(ctx.node("And", &[&a, &b], vec![])),
                (a, b) => a.or(b),
            }
        }
    };
    let g = if relu_like && ctx.relu_rule == ReluRule::Guided {
        ctx.node("Relu", &[g], vec![])
    } else {
        g.to_string()
    };
    Ok(match mask {
        Some(m) => ctx.mask(&m, &g),
        None => g,
    })
}

/// `(min⁺, max⁻)`: the representable values next to constant scalar bounds, inside them, in
/// the activation type (float or double); `None` when a bound is not such a constant, is not
/// finite, or when no value lies strictly between the bounds.
fn inner_bounds(ctx: &Ctx, lo: &str, hi: &str) -> Option<(f64, f64)> {
    let scalar = |name: &str| match ctx.const_values(name)?.as_slice() {
        [v] if v.is_finite() => Some(*v),
        _ => None,
    };
    let (lo, hi) = (scalar(lo)?, scalar(hi)?);
    let (a, b) = if ctx.dtype == DataType::Float as i32 {
        let up = |v: f32| match v {
            0.0 => f32::from_bits(1),
            v if v > 0.0 => f32::from_bits(v.to_bits() + 1),
            v => f32::from_bits(v.to_bits() - 1),
        };
        let (lo, hi) = (lo as f32, hi as f32);
        (up(lo) as f64, -up(-hi) as f64)
    } else if ctx.dtype == DataType::Double as i32 {
        let up = |v: f64| match v {
            0.0 => f64::from_bits(1),
            v if v > 0.0 => f64::from_bits(v.to_bits() + 1),
            v => f64::from_bits(v.to_bits() - 1),
        };
        (up(lo), -up(-hi))
    } else {
        return None;
    };
    (a <= b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use crate::ReluRule;
    use crate::ir::{a_float, tensor_f32};
    use crate::testing::{grad_of, model, node, op_case, uniform_away_from};
    use ndarray::{ArrayD, IxDyn};

    fn bounds(min: f32, max: f32) -> Vec<crate::proto::TensorProto> {
        vec![tensor_f32("lo", &[], &[min]), tensor_f32("hi", &[], &[max])]
    }

    #[test]
    fn clip_inputs_and_attributes_match_finite_differences() {
        let x = uniform_away_from(&[1, 3, 4, 4], -2.0, 8.0, &[0.0, 6.0, -1.0, 1.0], 0.05, 2);
        op_case("Clip", &["x", "lo", "hi"], vec![])
            .inits(bounds(0.0, 6.0))
            .check("Clip 0..6", &x);
        op_case("Clip", &["x", "", "hi"], vec![])
            .inits(bounds(0.0, 6.0))
            .check("Clip max only", &x);
        op_case("Clip", &["x", "lo"], vec![])
            .inits(bounds(0.0, 6.0))
            .check("Clip min only", &x);
        // Opset 9: bounds are attributes (upgraded to inputs).
        let attrs = vec![a_float("min", -1.0), a_float("max", 1.0)];
        op_case("Clip", &["x"], attrs)
            .opset(9)
            .check("Clip attrs (opset 9)", &x);
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

    #[test]
    fn clip_mask_is_exact_next_to_the_bounds() {
        // Constant bounds take the `y == clip(y, min⁺, max⁻)` mask: check it on the values right
        // at and next to the bounds, and on the smallest subnormal above a bound of 0.
        let up = |v: f32| {
            f32::from_bits(if v >= 0.0 {
                v.to_bits() + 1
            } else {
                v.to_bits() - 1
            })
        };
        let down = |v: f32| -up(-v);
        for (lo, hi) in [(0.0f32, 6.0f32), (-1.0, 2.0), (-3.5, -0.25)] {
            let m = model(
                vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])],
                bounds(lo, hi),
                &[("x", &[-1, 8])],
                &["y"],
                13,
            );
            let g = crate::testing::probe(&m, &[("x", &ArrayD::zeros(IxDyn(&[1, 8])))]);
            let graph = crate::build_gradient_graph(&m, &g, &Default::default()).expect("graph");
            let ops: Vec<&str> = graph
                .graph
                .as_ref()
                .expect("g")
                .node
                .iter()
                .map(crate::ir::op)
                .collect();
            assert!(ops.contains(&"Equal") && !ops.contains(&"And"), "{ops:?}");
            let xs = [
                lo,
                up(lo),
                (lo + hi) / 2.0,
                down(hi),
                hi,
                hi + 1.0,
                lo - 1.0,
                up(up(lo)),
            ];
            let x = ArrayD::from_shape_vec(IxDyn(&[1, 8]), xs.to_vec()).expect("x");
            let seed = ArrayD::from_shape_vec(IxDyn(&[1, 8]), vec![3.0; 8]).expect("s");
            let want: Vec<f32> = xs
                .iter()
                .map(|&v| if lo < v && v < hi { 3.0 } else { 0.0 })
                .collect();
            let got: Vec<f32> = grad_of(&m, &x, &seed, ReluRule::Plain)
                .iter()
                .copied()
                .collect();
            assert_eq!(got, want, "bounds ({lo}, {hi})");
        }
    }
}
