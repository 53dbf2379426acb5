//! Conv: the input gradient is the transposed convolution of the output gradient with the
//! same weights (ConvTranspose reads `[M, C/group, k…]` as `[in = M, out/group = C/group, k…]`,
//! exactly the adjoint), with pads and output_padding from the static shapes so the result has
//! the input's spatial size. Weight and bias gradients are not needed (activations only).
//!
//! Two lowerings of that adjoint:
//! - stride 1 with constant weights: an ordinary Conv of the gradient with spatially flipped,
//!   group-transposed weights, precomputed as an initializer ([`flipped`], which gives the
//!   numbers: ONNX Runtime's CPU Conv is 2–7× faster than its ConvTranspose there, most of
//!   all for depthwise convolutions);
//! - anything else (strides > 1, weights computed in the graph, pads wider than the dilated
//!   kernel): ConvTranspose with the forward weights.
//!
//! For strided convolutions three Conv rewrites were measured and rejected, each slower than
//! ConvTranspose on every ResNet18/MobileNetV2 stride-2 shape tried (ORT 1.32, CPU, one
//! thread, median): a polyphase Conv (one sub-kernel per output phase, stacked on channels)
//! then DepthToSpace — 3×3/2 128→64 at 56²: 0.85 ms vs 1.34 ms; 7×7/2 64→3 at 224², batch 16:
//! 75 vs 91 ms even with the phases padded to 16 channels for the blocked kernels; depthwise
//! phases as four depthwise Convs, Concat and DepthToSpace — 96 channels at 112²: 2.1 vs 6.6 ms
//! (batch 1), 58 vs 124 ms (batch 16); and a depthwise Conv of the zero-dilated gradient —
//! 2.0 vs 4.1 ms. A fourth, measured on MobileNetV2's whole gradient graph: the gradient
//! zero-dilated by MaxUnpool (indices precomputed, batch offsets added in the graph) and then
//! a stride-1 flipped Conv — exact, but 14 % slower at batch 16 (MaxUnpool alone costs as much
//! as the five ConvTransposes it replaces).
//!
//! What that leaves on MobileNetV2 (ORT 1.32, 2 threads, batch 16, profiler): the gradient
//! graph takes 341 ms against a 57 ms forward pass — convolutions 104 ms, the five strided
//! ConvTransposes 52 ms, the 35 ReLU6 masks 117 ms and the NCHW↔NCHWc reorders around them
//! 64 ms. With every mask deleted the graph still takes 3.0× the forward pass, so the 3× goal
//! of the benchmark is out of reach with ONNX Runtime's stock CPU kernels (see the README).

mod flipped;

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad, unsupported};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;
use crate::window::Window;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2], "weights/bias")?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let w = &n.input[1];
        let xs = ctx.shape(x)?;
        let ys = ctx.shape(&n.output[0])?;
        let ws = ctx.shape(w)?;
        let win =
            Window::of(n, &xs[2..], Some(ws[2..].to_vec())).map_err(|d| unsupported(n, &d))?;
        let group = ir::attr_i(n, "group").unwrap_or(1);
        if let Some(gx) = flipped::lower(ctx, g, w, &win, group, xs[1]) {
            return Ok(gx);
        }
        let mut attrs = win.transpose_attrs(&xs[2..], &ys[2..]);
        attrs.push(a_int("group", group));
        Ok(ctx.node("ConvTranspose", &[g, w], attrs))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::Attr::{self, Ints, Str};
    use crate::testing::{attrs, graph_case, init_f32, node, uniform};

    /// A Conv case: label, input shape, weight shape, whether it has a bias, attributes.
    type Case = (
        &'static str,
        &'static [usize],
        &'static [i64],
        bool,
        &'static [Attr],
    );

    /// `y = Conv(x, w[, b])` for each case, by finite differences.
    fn check_all(cases: &[Case]) {
        for &(name, x, w, bias, list) in cases {
            let mut inputs = vec!["x", "w"];
            let mut inits = vec![init_f32("w", w, 11, -0.5, 0.5)];
            if bias {
                inputs.push("b");
                inits.push(init_f32("b", &[w[0]], 12, -0.5, 0.5));
            }
            let n = node("Conv", &inputs, &["y"], attrs(list));
            let xv = uniform(x, -1.0, 1.0, 3);
            // Conv is linear in x: differences are exact up to float rounding.
            graph_case(vec![n]).inits(inits).check(name, &xv);
        }
    }

    // Dilations, groups and depthwise convolutions (stride 1 and 2) are checked in
    // `flipped.rs`, through both backward paths.
    #[test]
    #[rustfmt::skip]
    fn conv_plain_and_bias() {
        check_all(&[
            ("conv3x3",   &[1, 2, 6, 7], &[3, 2, 3, 3], true,  &[]),
            ("conv pads", &[1, 2, 6, 7], &[3, 2, 3, 3], false, &[Ints("pads", &[1, 0, 2, 1])]),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn conv_strides_with_leftover_rows() {
        // (7 + 1 + 1 - 3) % 2 = 0 but (8 + 2 - 3) % 3 = 1: one input row never reached.
        check_all(&[
            ("stride2",         &[1, 2, 7, 8],  &[2, 2, 3, 3], false, &[Ints("strides", &[2, 3]), Ints("pads", &[1, 1, 1, 1])]),
            ("stride3 kernel2", &[1, 1, 9, 10], &[2, 1, 2, 2], true,  &[Ints("strides", &[3, 3])]),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn conv_auto_pad() {
        const S2: Attr = Ints("strides", &[2, 2]);
        check_all(&[
            ("SAME_UPPER s2",  &[1, 2, 7, 6], &[3, 2, 4, 3], false, &[Str("auto_pad", "SAME_UPPER"), S2]),
            ("SAME_UPPER 2x2", &[1, 1, 5, 5], &[2, 1, 2, 2], false, &[Str("auto_pad", "SAME_UPPER")]),
            ("SAME_LOWER s2",  &[1, 2, 7, 6], &[3, 2, 4, 3], false, &[Str("auto_pad", "SAME_LOWER"), S2]),
            ("SAME_LOWER 2x2", &[1, 1, 5, 5], &[2, 1, 2, 2], false, &[Str("auto_pad", "SAME_LOWER")]),
            ("VALID s2",       &[1, 2, 7, 6], &[3, 2, 4, 3], false, &[Str("auto_pad", "VALID"), S2]),
            ("VALID 2x2",      &[1, 1, 5, 5], &[2, 1, 2, 2], false, &[Str("auto_pad", "VALID")]),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn conv_1d() {
        check_all(&[
            ("conv1d", &[1, 2, 11], &[3, 2, 3], true, &[Ints("strides", &[2]), Ints("pads", &[1, 0])]),
        ]);
    }
}
