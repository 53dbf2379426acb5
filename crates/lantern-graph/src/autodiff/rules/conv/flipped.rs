//! The input gradient of a stride-1 Conv as an ordinary Conv.
//!
//! With stride 1, `y[o] = Σ_k x[o − p_b + d·k] · W[k]` gives
//! `∂x[i] = Σ_k g[i + p_b − d·k] · W[k] = Σ_κ g[i − (d·(K−1) − p_b) + d·κ] · W[K−1−κ]`:
//! a correlation of the gradient with the spatially flipped kernel, same dilation, pads
//! `d·(K−1) − p_b` (begin) and `d·(K−1) − p_e` (end), in every spatial dimension. Channels
//! swap roles per group: the weights `[M, C/G, k…]` become `[C, M/G, k…]`,
//! `W'[j·C/G + c, m, κ] = W[j·M/G + m, c, K−1−κ]`. A 1×1 Conv thus becomes a 1×1 Conv with
//! the transposed matrix, a depthwise one a depthwise Conv with the flipped kernel. The new
//! weights are computed once, at graph-build time, by permuting the stored elements (any
//! element type, bit-exact); the sums run in another order than ConvTranspose's, so the
//! gradient agrees with it to float rounding.
//!
//! Why: ONNX Runtime's CPU ConvTranspose is im2col-style GEMM + col2im, per group — slow for
//! depthwise convolutions (one tiny GEMM per channel) — while Conv gets MLAS's blocked (NCHWc)
//! direct kernels. Measured with ORT 1.32 on this project's CPU (AVX-512, one thread, median
//! of 15): depthwise 3×3 [1, 144, 56²]: ConvTranspose 1.07 ms, Conv 0.46 ms; [1, 960, 7²]:
//! 0.32 vs 0.04 ms; at batch 16: 32.0 vs 22.9 ms and 4.9 vs 0.9 ms. 1×1 convolutions are
//! about on par (MobileNetV2's shapes at batch 16 range from 39.3 vs 34.8 ms to 13.4 vs
//! 18.4 ms, ConvTranspose vs Conv), so one rule serves every stride-1 case. In the gradient
//! graphs (batch 1, one thread, sum of per-node medians from ONNX Runtime's profiler):
//! MobileNetV2's 47 stride-1 convolutions take 11.9 ms as ConvTranspose, 4.3 ms as Conv;
//! ResNet18's 13: 26.9 vs 17.6 ms.
//!
//! Not used (the caller falls back to ConvTranspose) when a stride is > 1, when the weights
//! are not a constant of the graph, when a pad is wider than the dilated kernel (the Conv
//! would need negative pads) or when the shapes do not add up.

use crate::autodiff::ctx::Ctx;
use crate::ir::{a_int, a_ints};
use crate::proto::TensorProto;
use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::window::Window;

/// `Conv(g, W')` when the stride-1 rewrite applies, else `None`.
pub(super) fn lower(
    ctx: &mut Ctx,
    g: &str,
    w: &str,
    win: &Window,
    group: i64,
    in_channels: i64,
) -> Option<String> {
    if win.strides.iter().any(|&s| s != 1) || group < 1 {
        return None;
    }
    let sp = win.kernel.len();
    let mut pads = vec![0; 2 * sp];
    for i in 0..sp {
        let reach = win.dilations[i] * (win.kernel[i] - 1);
        pads[i] = reach - win.pads_begin[i];
        pads[sp + i] = reach - win.pads_end[i];
    }
    if pads.iter().any(|&p| p < 0) {
        return None;
    }
    let wf = ctx.cached_initializer(&format!("flipped:{group}:{w}"), "flipped_weights", |ctx| {
        let t = ctx.const_tensor(w)?;
        let fits = t.dims.len() == sp + 2
            && t.dims[2..] == win.kernel[..]
            && t.dims[1] * group == in_channels;
        fits.then(|| flip_transpose(t, group)).flatten()
    })?;
    Some(ctx.node(
        "Conv",
        &[g, &wf],
        vec![
            a_ints("kernel_shape", &win.kernel),
            a_ints("dilations", &win.dilations),
            a_ints("pads", &pads),
            a_int("group", group),
        ],
    ))
}

/// `W[M, C/G, k…]` → `W'[C, M/G, k…]` with every spatial axis reversed (see the module docs).
/// Works on the stored elements, so any element type round-trips bit for bit; `None` for
/// external data, unknown element types or inconsistent sizes.
pub(super) fn flip_transpose(t: &TensorProto, group: i64) -> Option<TensorProto> {
    if t.data_location == Some(DataLocation::External as i32) || t.dims.len() < 2 {
        return None;
    }
    let (m, cg) = (t.dims[0], t.dims[1]);
    if group < 1 || m % group != 0 || t.dims.iter().any(|&d| d < 0) {
        return None;
    }
    let mg = m / group;
    let s: i64 = t.dims[2..].iter().product();
    let c = cg * group;
    let n = (m * cg * s) as usize;
    // perm[new] = old.
    let mut perm = Vec::with_capacity(n);
    for ci in 0..c {
        let (j, cl) = (ci / cg, ci % cg);
        for mo in 0..mg {
            let row = ((j * mg + mo) * cg + cl) * s;
            for k in 0..s {
                perm.push((row + s - 1 - k) as usize);
            }
        }
    }
    let mut dims = t.dims.clone();
    dims[0] = c;
    dims[1] = mg;
    let mut out = TensorProto {
        name: t.name.clone(),
        dims,
        data_type: t.data_type,
        ..Default::default()
    };
    fn permuted<T: Clone>(v: &[T], perm: &[usize]) -> Option<Vec<T>> {
        (v.len() == perm.len()).then(|| perm.iter().map(|&i| v[i].clone()).collect())
    }
    let dt = DataType::try_from(t.data_type.unwrap_or(0)).ok()?;
    if let Some(raw) = t.raw_data.as_ref() {
        let size = match dt {
            DataType::Float => 4,
            DataType::Double => 8,
            DataType::Float16 | DataType::Bfloat16 => 2,
            _ => return None,
        };
        if raw.len() != n * size {
            return None;
        }
        let mut bytes = Vec::with_capacity(raw.len());
        for &i in &perm {
            bytes.extend_from_slice(&raw[i * size..(i + 1) * size]);
        }
        out.raw_data = Some(bytes);
    } else {
        match dt {
            DataType::Float => out.float_data = permuted(&t.float_data, &perm)?,
            DataType::Double => out.double_data = permuted(&t.double_data, &perm)?,
            DataType::Float16 | DataType::Bfloat16 => {
                out.int32_data = permuted(&t.int32_data, &perm)?
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::flip_transpose;
    use crate::ir::{self, a_int, a_ints, tensor_f32};
    use crate::proto::{AttributeProto, ModelProto, TensorProto};
    use crate::testing::Attr::{self, Int, Ints, Str};
    use crate::testing::{attrs, graph_case, init_f32, model, node, probe, run, session, uniform};
    use crate::window::Window;
    use crate::{GradientSpec, build_gradient_graph};
    use ndarray::{ArrayD, IxDyn};

    fn grad_graph(m: &ModelProto, x: &ArrayD<f32>) -> ModelProto {
        let shapes = probe(m, &[("x", x)]);
        build_gradient_graph(m, &shapes, &GradientSpec::default()).expect("gradient graph")
    }

    fn backward_ops(g: &ModelProto) -> Vec<String> {
        g.graph
            .as_ref()
            .expect("graph")
            .node
            .iter()
            .filter(|n| n.name.as_deref().is_some_and(|s| s.contains("/grad/")))
            .map(|n| ir::op(n).to_string())
            .collect()
    }

    /// `y = Conv(x, w)`: finite differences, the lowering used (`flipped`: a backward Conv and
    /// no ConvTranspose), and agreement with ONNX Runtime's ConvTranspose on the same upstream
    /// gradient to float rounding.
    fn case(name: &str, x: &[usize], w: &[i64], attrs: Vec<AttributeProto>, flipped: bool) {
        let xv = uniform(x, -1.0, 1.0, 3);
        let wt = init_f32("w", w, 11, -0.5, 0.5);
        let conv = node("Conv", &["x", "w"], &["y"], attrs);
        graph_case(vec![conv.clone()])
            .inits(vec![wt.clone()])
            .check(name, &xv);

        let mut dims: Vec<i64> = x.iter().map(|&d| d as i64).collect();
        dims[0] = -1;
        let m = model(
            vec![conv.clone()],
            vec![wt.clone()],
            &[("x", &dims)],
            &["y"],
            13,
        );
        let g = grad_graph(&m, &xv);
        let ops = backward_ops(&g);
        assert_eq!(
            (
                ops.contains(&"Conv".to_string()),
                ops.contains(&"ConvTranspose".to_string())
            ),
            (flipped, !flipped),
            "{name}: backward ops {ops:?}"
        );

        // Reference: ConvTranspose of the same upstream gradient (seed reshaped to y).
        let shapes = probe(&m, &[("x", &xv)]);
        let ys: Vec<usize> = shapes.0["y"].iter().map(|&d| d as usize).collect();
        let k: usize = ys[1..].iter().product();
        let seed = uniform(&[1, k], -1.0, 1.0, 5);
        let mut s = session(&g);
        let got = run(&mut s, &[("input", &xv), ("seed", &seed)])["grad_input"].clone();
        let gy = seed
            .clone()
            .into_shape_with_order(IxDyn(&ys))
            .expect("seed as y");
        let xs: Vec<i64> = x.iter().map(|&d| d as i64).collect();
        let win = Window::of(&conv, &xs[2..], Some(w[2..].to_vec())).expect("window");
        let mut ct_attrs = win.transpose_attrs(&xs[2..], &shapes.0["y"][2..]);
        ct_attrs.push(a_int("group", ir::attr_i(&conv, "group").unwrap_or(1)));
        let mut gdims: Vec<i64> = ys.iter().map(|&d| d as i64).collect();
        gdims[0] = -1;
        let reference = model(
            vec![node("ConvTranspose", &["g", "w"], &["dx"], ct_attrs)],
            vec![wt],
            &[("g", &gdims)],
            &["dx"],
            13,
        );
        let want = run(&mut session(&reference), &[("g", &gy)])["dx"].clone();
        assert_eq!(got.shape(), want.shape(), "{name}");
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = got
            .iter()
            .zip(want.iter())
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-6 * scale.max(1e-30),
            "{name}: differs from ConvTranspose by {diff} (scale {scale})"
        );
    }

    /// A Conv case: label, input shape, weight shape, attributes, and whether the backward
    /// pass is the flipped-kernel Conv (else the ConvTranspose fallback).
    type Case = (
        &'static str,
        &'static [usize],
        &'static [i64],
        &'static [Attr],
        bool,
    );

    fn check_all(cases: &[Case]) {
        for &(name, x, w, list, flipped) in cases {
            case(name, x, w, attrs(list), flipped);
        }
    }

    const PAD_1: Attr = Ints("pads", &[1, 1, 1, 1]);

    #[test]
    #[rustfmt::skip]
    fn stride1_pads_kernels_and_1x1() {
        check_all(&[
            ("3x3 pads 1",                  &[1, 2, 6, 7], &[3, 2, 3, 3], &[PAD_1],                        true),
            ("no pads",                     &[1, 2, 6, 7], &[3, 2, 3, 3], &[],                              true),
            ("asymmetric pads, 4x2 kernel", &[1, 2, 6, 7], &[3, 2, 4, 2], &[Ints("pads", &[2, 0, 1, 1])],   true),
            ("1x1",                         &[1, 5, 4, 3], &[7, 5, 1, 1], &[],                              true),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn stride1_dilations() {
        check_all(&[
            ("dilated 3x3", &[1, 2, 9, 9], &[2, 2, 3, 3], &[Ints("dilations", &[2, 3]), Ints("pads", &[2, 1, 2, 3])], true),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn stride1_groups_and_depthwise() {
        check_all(&[
            ("group 2",                &[1, 4, 6, 6], &[6, 2, 3, 3], &[Int("group", 2), PAD_1],                        true),
            ("depthwise",              &[1, 3, 7, 7], &[3, 1, 3, 3], &[Int("group", 3), PAD_1],                        true),
            ("depthwise multiplier 2", &[1, 3, 5, 6], &[6, 1, 3, 3], &[Int("group", 3), Ints("pads", &[0, 1, 2, 1])], true),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn stride1_auto_pad() {
        check_all(&[
            ("SAME_UPPER", &[1, 2, 7, 6], &[3, 2, 4, 3], &[Str("auto_pad", "SAME_UPPER")], true),
            ("SAME_LOWER", &[1, 2, 7, 6], &[3, 2, 4, 3], &[Str("auto_pad", "SAME_LOWER")], true),
            ("VALID",      &[1, 2, 7, 6], &[3, 2, 4, 3], &[Str("auto_pad", "VALID")],      true),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn stride1_1d_and_3d() {
        check_all(&[
            ("conv1d", &[1, 2, 11],      &[3, 2, 3],       &[Ints("pads", &[1, 0])],             true),
            ("conv3d", &[1, 2, 4, 5, 4], &[3, 2, 3, 2, 3], &[Ints("pads", &[1, 0, 1, 1, 1, 0])], true),
        ]);
    }

    #[test]
    fn falls_back_to_conv_transpose() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("stride 2",           &[1, 2, 7, 8], &[2, 2, 3, 3], &[Ints("strides", &[2, 1]), PAD_1],                   false),
            ("depthwise stride 2", &[1, 3, 7, 7], &[3, 1, 3, 3], &[Int("group", 3), Ints("strides", &[2, 2]), PAD_1], false),
            // Pads wider than the kernel: the Conv would need negative pads.
            ("1x1 padded",         &[1, 2, 4, 4], &[3, 2, 1, 1], &[Ints("pads", &[1, 0, 0, 1])],                    false),
        ];
        check_all(cases);

        // Weights computed in the graph (not a constant): no build-time transform.
        let xv = uniform(&[1, 2, 5, 5], -1.0, 1.0, 3);
        let nodes = vec![
            node("Identity", &["w0"], &["w"], vec![]),
            node(
                "Conv",
                &["x", "w"],
                &["y"],
                vec![a_ints("pads", &[1, 1, 1, 1])],
            ),
        ];
        let inits = vec![init_f32("w0", &[3, 2, 3, 3], 11, -0.5, 0.5)];
        graph_case(nodes.clone())
            .inits(inits.clone())
            .check("computed weights", &xv);
        let m = model(nodes, inits, &[("x", &[-1, 2, 5, 5])], &["y"], 13);
        let ops = backward_ops(&grad_graph(&m, &xv));
        assert!(ops.contains(&"ConvTranspose".to_string()), "{ops:?}");
    }

    #[test]
    fn shared_weights_are_transformed_once() {
        let xv = uniform(&[1, 2, 5, 5], -1.0, 1.0, 3);
        let pads = || vec![a_ints("pads", &[1, 1, 1, 1])];
        let nodes = vec![
            node("Conv", &["x", "w"], &["a"], pads()),
            node("Conv", &["a", "w"], &["y"], pads()),
        ];
        let inits = vec![init_f32("w", &[2, 2, 3, 3], 11, -0.5, 0.5)];
        graph_case(nodes.clone())
            .inits(inits.clone())
            .check("shared weights", &xv);
        let m = model(nodes, inits, &[("x", &[-1, 2, 5, 5])], &["y"], 13);
        let g = grad_graph(&m, &xv);
        let flipped = g
            .graph
            .as_ref()
            .expect("graph")
            .initializer
            .iter()
            .filter(|t| {
                t.name
                    .as_deref()
                    .is_some_and(|n| n.contains("flipped_weights"))
            })
            .count();
        assert_eq!(flipped, 1);
    }

    #[test]
    fn flip_transpose_permutes_stored_elements() {
        // W[M=4, C/G=1, 2] with G=2: W'[C=2, M/G=2, 2], W'[j + 0, m, κ] = W[2j + m, 0, 1 − κ].
        let w: Vec<f32> = (0..8).map(|v| v as f32).collect();
        let t = tensor_f32("w", &[4, 1, 2], &w);
        let f = flip_transpose(&t, 2).expect("flip");
        assert_eq!(f.dims, [2, 2, 2]);
        let vals = ir::tensor_values_f64(&f).expect("values");
        assert_eq!(vals, [1.0, 0.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0]);
        // group 1, W[M=2, C=3, 1]: the transposed matrix.
        let t = tensor_f32("w", &[2, 3, 1], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let vals = ir::tensor_values_f64(&flip_transpose(&t, 1).expect("flip")).expect("v");
        assert_eq!(vals, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // Typed storage (float_data) and float16 raw bytes permute the same way.
        let typed = TensorProto {
            float_data: w.clone(),
            raw_data: None,
            ..t_with(&[4, 1, 2], 1)
        };
        let vals = ir::tensor_values_f64(&flip_transpose(&typed, 2).expect("flip")).expect("v");
        assert_eq!(vals, [1.0, 0.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0]);
        let half = ir::tensor_float_of(
            "w",
            10,
            &[4, 1, 2],
            &w.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        );
        let f = flip_transpose(&half, 2).expect("flip");
        assert_eq!(f.data_type, Some(10));
        let vals = ir::tensor_values_f64(&f).expect("v");
        assert_eq!(vals, [1.0, 0.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0]);
        // Inconsistent sizes: no transform.
        let bad = TensorProto {
            float_data: vec![1.0; 3],
            ..t_with(&[4, 1, 2], 1)
        };
        assert!(flip_transpose(&bad, 2).is_none());
    }

    fn t_with(dims: &[i64], dt: i32) -> TensorProto {
        TensorProto {
            name: Some("w".into()),
            dims: dims.to_vec(),
            data_type: Some(dt),
            ..Default::default()
        }
    }
}
