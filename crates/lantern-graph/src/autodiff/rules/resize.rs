//! Resize (nearest, linear, cubic; any coordinate transformation but tf_crop_and_resize; any
//! nearest rounding; antialias; scales constant, sizes constant or computed at run time).
//!
//! Resize is linear in x and separable: along each resized axis of input extent `d` it is a
//! matrix `W [out, d]` whose weights depend only on static extents and the attributes, so the
//! gradient is `Wᵀ` applied along every resized axis (a MatMul each). `W` is not computed from
//! the spec's formulas but by ONNX Runtime itself: the same Resize (same attributes, same scale
//! or output size for that axis) applied to an identity `[1, 1, d, d]` resized along axis 2
//! gives `W`, along axis 3 gives `Wᵀ` — so rounding (nearest modes, half pixels, clamping at the
//! borders, antialias footprints) is exactly that of the forward pass. Those nodes only read
//! constants, so the runtime folds them once at session start; nothing depends on the batch.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, require_no_grad, single, unsupported};
use crate::ir::{self, a_ints};
use crate::proto::NodeProto;

/// How the forward Resize sets one axis's output extent.
#[derive(Clone, Copy)]
enum Target {
    Scale(f32),
    Size(i64),
}

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2, 3], "roi/scales/sizes")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let mut g = single(n, gy)?;
    let ctm = ir::attr_s(n, "coordinate_transformation_mode").unwrap_or_default();
    if ctm == "tf_crop_and_resize" {
        return Err(unsupported(
            n,
            "coordinate_transformation_mode tf_crop_and_resize (affine in x: extrapolation)",
        ));
    }
    let xs = ctx.shape(x)?;
    let ys = ctx.shape(&n.output[0])?;
    let rank = xs.len();
    if ys.len() != rank {
        return Err(unsupported(n, "output rank differs from the input's"));
    }
    for (i, target) in targets(ctx, n, &xs, &ys)?.into_iter().enumerate() {
        let identity = match target {
            Target::Scale(s) => s == 1.0,
            Target::Size(o) => o == xs[i],
        };
        if identity {
            continue;
        }
        if i == 0 {
            return Err(unsupported(n, "resizes axis 0 (the batch)"));
        }
        g = if i == rank - 1 {
            let w = interpolation_matrix(ctx, n, xs[i], ys[i], target, false);
            ctx.node("MatMul", &[&g, &w], vec![])
        } else if i == rank - 2 {
            let wt = interpolation_matrix(ctx, n, xs[i], ys[i], target, true);
            ctx.node("MatMul", &[&wt, &g], vec![])
        } else {
            // Swap the axis with the last one (its own inverse), apply, swap back.
            let mut perm: Vec<i64> = (0..rank as i64).collect();
            perm.swap(i, rank - 1);
            let w = interpolation_matrix(ctx, n, xs[i], ys[i], target, false);
            let t = ctx.node("Transpose", &[&g], vec![a_ints("perm", &perm)]);
            let m = ctx.node("MatMul", &[&t, &w], vec![]);
            ctx.node("Transpose", &[&m], vec![a_ints("perm", &perm)])
        };
    }
    out[0] = Some(g);
    Ok(out)
}

/// Per axis of the input, the scale or output size the forward Resize uses.
fn targets(ctx: &Ctx, n: &NodeProto, xs: &[i64], ys: &[i64]) -> Result<Vec<Target>, GraphError> {
    let rank = xs.len();
    let present = |i: usize| n.input.get(i).filter(|s| !s.is_empty());
    // Opset 11–12 write an empty scales constant when sizes are given.
    let scales = present(2).filter(|s| ctx.shape(s).ok().is_none_or(|d| ir::numel(&d) > 0));
    let axes: Vec<usize> = match ir::attr_ints(n, "axes") {
        Some(a) => a
            .iter()
            .map(|&v| ctx.axis(n, v, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    if let Some(s) = scales {
        let v = ctx
            .const_values(s)
            .ok_or_else(|| unsupported(n, "scales computed at run time (constant scales only)"))?;
        if v.len() != axes.len() {
            return Err(unsupported(n, "scales do not match the axes"));
        }
        let mut t = vec![Target::Scale(1.0); rank];
        for (&a, &s) in axes.iter().zip(&v) {
            t[a] = Target::Scale(s as f32);
        }
        return Ok(t);
    }
    if present(3).is_none() {
        return Err(unsupported(n, "neither scales nor sizes"));
    }
    let policy = ir::attr_s(n, "keep_aspect_ratio_policy").unwrap_or_else(|| "stretch".into());
    if policy != "stretch" {
        return Err(unsupported(
            n,
            &format!("keep_aspect_ratio_policy {policy:?}"),
        ));
    }
    // The runtime derives each scale as output / input extent: the probe's static extents
    // give the same, whether sizes is a constant or computed from Shape.
    Ok(ys.iter().map(|&o| Target::Size(o)).collect())
}

/// The 1-D interpolation matrix `W [out, d]` of one axis (`Wᵀ [d, out]` when `transposed`),
/// computed by the forward op's own Resize applied to an identity.
fn interpolation_matrix(
    ctx: &mut Ctx,
    n: &NodeProto,
    d: i64,
    out: i64,
    target: Target,
    transposed: bool,
) -> String {
    let eye: Vec<f64> = (0..d * d)
        .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
        .collect();
    let eye = ctx.tensor(&[1, 1, d, d], &eye);
    let axis = if transposed { 3 } else { 2 };
    let attrs: Vec<_> = n
        .attribute
        .iter()
        .filter(|a| !matches!(a.name.as_deref(), Some("axes" | "keep_aspect_ratio_policy")))
        .cloned()
        .collect();
    let resized = match target {
        Target::Scale(s) => {
            let mut v = [1.0f32; 4];
            v[axis] = s;
            let key = format!("resize scales {:?}", v.map(f32::to_bits));
            let scales = ctx
                .cached_initializer(&key, "scales", |_| Some(ir::tensor_f32("", &[4], &v)))
                .expect("a constant");
            ctx.node("Resize", &[&eye, "", &scales], attrs)
        }
        Target::Size(o) => {
            let mut v = [1, 1, d, d];
            v[axis] = o;
            let sizes = ctx.ints(&v);
            ctx.node("Resize", &[&eye, "", "", &sizes], attrs)
        }
    };
    let dims = if transposed { [d, out] } else { [out, d] };
    let dims = ctx.ints(&dims);
    ctx.node("Reshape", &[&resized, &dims], vec![])
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_int, a_ints, a_string, tensor_f32, tensor_i64};
    use crate::proto::AttributeProto;
    use crate::testing::{graph_case, node, uniform};

    fn x() -> ndarray::ArrayD<f32> {
        uniform(&[1, 2, 5, 6], -1.0, 1.0, 1)
    }

    /// Resize by constant scales, then Sigmoid.
    fn check_scales(what: &str, scales: &[f32], attrs: Vec<AttributeProto>, opset: i64) {
        let s = tensor_f32("s", &[scales.len() as i64], scales);
        let nodes = vec![
            node("Resize", &["x", "", "s"], &["r"], attrs),
            node("Sigmoid", &["r"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![s])
            .opset(opset)
            .check(what, &x());
    }

    fn modes(mode: &str, ctm: &str) -> Vec<AttributeProto> {
        vec![
            a_string("mode", mode),
            a_string("coordinate_transformation_mode", ctm),
        ]
    }

    const TRANSFORMS: [&str; 4] = [
        "asymmetric",
        "half_pixel",
        "pytorch_half_pixel",
        "align_corners",
    ];

    #[test]
    fn resize_nearest() {
        for ctm in TRANSFORMS {
            for rounding in ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"] {
                let mut attrs = modes("nearest", ctm);
                attrs.push(a_string("nearest_mode", rounding));
                // Up by 2 and 1.5 (output 10×9), and down (output 3×3).
                check_scales(
                    &format!("Resize nearest {ctm} {rounding} up"),
                    &[1.0, 1.0, 2.0, 1.5],
                    attrs.clone(),
                    13,
                );
                check_scales(
                    &format!("Resize nearest {ctm} {rounding} down"),
                    &[1.0, 1.0, 0.6, 0.5],
                    attrs,
                    13,
                );
            }
        }
    }

    #[test]
    fn resize_linear() {
        for ctm in TRANSFORMS {
            check_scales(
                &format!("Resize linear {ctm} up"),
                &[1.0, 1.0, 2.0, 1.5],
                modes("linear", ctm),
                13,
            );
            check_scales(
                &format!("Resize linear {ctm} down"),
                &[1.0, 1.0, 0.6, 0.5],
                modes("linear", ctm),
                13,
            );
        }
    }

    #[test]
    fn resize_cubic_and_antialias() {
        let mut attrs = modes("cubic", "half_pixel");
        attrs.push(a_float("cubic_coeff_a", -0.5));
        check_scales("Resize cubic", &[1.0, 1.0, 2.0, 1.5], attrs, 13);
        let mut attrs = modes("cubic", "asymmetric");
        attrs.push(a_int("exclude_outside", 1));
        check_scales(
            "Resize cubic exclude_outside",
            &[1.0, 1.0, 1.6, 2.0],
            attrs,
            13,
        );
        for mode in ["linear", "cubic"] {
            let mut attrs = modes(mode, "half_pixel");
            attrs.push(a_int("antialias", 1));
            check_scales(
                &format!("Resize {mode} antialias down"),
                &[1.0, 1.0, 0.6, 0.5],
                attrs,
                18,
            );
        }
    }

    #[test]
    fn resize_sizes() {
        // The TorchScript exporter's F.interpolate(size=…): sizes = [N, C] from Shape + [7, 4].
        let inits = vec![
            tensor_i64("zero", &[1], &[0]),
            tensor_i64("two", &[1], &[2]),
            tensor_i64("hw", &[2], &[7, 4]),
        ];
        for (mode, ctm) in [
            ("nearest", "asymmetric"),
            ("linear", "align_corners"),
            ("linear", "pytorch_half_pixel"),
        ] {
            let nodes = vec![
                node("Shape", &["x"], &["s"], vec![]),
                node("Slice", &["s", "zero", "two"], &["nc"], vec![]),
                node("Concat", &["nc", "hw"], &["sizes"], vec![a_int("axis", 0)]),
                node("Resize", &["x", "", "", "sizes"], &["r"], modes(mode, ctm)),
                node("Sigmoid", &["r"], &["y"], vec![]),
            ];
            graph_case(nodes)
                .inits(inits.clone())
                .check(&format!("Resize {mode} {ctm}, run-time sizes"), &x());
        }
        // The dynamo exporter's form: constant sizes for the spatial axes only (opset 18).
        let mut attrs = modes("linear", "half_pixel");
        attrs.push(a_ints("axes", &[2, 3]));
        let sizes = tensor_i64("sizes", &[2], &[3, 11]);
        let nodes = vec![
            node("Resize", &["x", "", "", "sizes"], &["r"], attrs),
            node("Sigmoid", &["r"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![sizes])
            .opset(18)
            .check("Resize linear, sizes with axes", &x());
        // Nearest along the channels too (any axis but the batch).
        check_scales(
            "Resize nearest on channels",
            &[1.0, 2.0, 1.0, 0.5],
            modes("nearest", "asymmetric"),
            13,
        );
    }

    #[test]
    fn resize_unsupported_variants_are_errors() {
        let roi = tensor_f32("roi", &[8], &[0.0, 0.0, 0.1, 0.1, 1.0, 1.0, 0.9, 0.9]);
        let s = tensor_f32("s", &[4], &[1.0, 1.0, 2.0, 2.0]);
        let nodes = vec![node(
            "Resize",
            &["x", "roi", "s"],
            &["y"],
            modes("linear", "tf_crop_and_resize"),
        )];
        let m = crate::testing::model(nodes, vec![roi, s], &[("x", &[-1, 2, 5, 6])], &["y"], 13);
        let shapes = crate::testing::probe(&m, &[("x", &x())]);
        let e = crate::build_gradient_graph(&m, &shapes, &crate::GradientSpec::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tf_crop_and_resize"), "{e}");
    }
}
