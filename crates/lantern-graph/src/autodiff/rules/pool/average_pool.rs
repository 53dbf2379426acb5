//! AveragePool: every output's gradient, divided by its window's divisor, is spread over its
//! window by a depthwise ConvTranspose with a kernel of ones. Divisors come from the static
//! spatial shape: the window size clipped to the padded input (`count_include_pad = 1`) or to
//! the input itself (`0`), which also covers `ceil_mode` windows that run past the end.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, unsupported};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;
use crate::window::Window;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let xs = ctx.shape(x)?;
        let ys = ctx.shape(&n.output[0])?;
        let (inp, outp) = (&xs[2..], &ys[2..]);
        let win = Window::of(n, inp, None).map_err(|d| unsupported(n, &d))?;
        let include_pad = ir::attr_i(n, "count_include_pad").unwrap_or(0) != 0;
        // Per-axis divisors, then their outer product.
        let per_axis: Vec<Vec<i64>> = (0..inp.len())
            .map(|d| {
                let (lo, hi) = if include_pad {
                    (-win.pads_begin[d], inp[d] + win.pads_end[d])
                } else {
                    (0, inp[d])
                };
                (0..outp[d])
                    .map(|o| {
                        let start = o * win.strides[d] - win.pads_begin[d];
                        (0..win.kernel[d])
                            .map(|j| start + j * win.dilations[d])
                            .filter(|p| (lo..hi).contains(p))
                            .count() as i64
                    })
                    .collect()
            })
            .collect();
        let mut inv = vec![1f64];
        for axis in &per_axis {
            inv = inv
                .iter()
                .flat_map(|a| {
                    axis.iter()
                        .map(move |&c| if c > 0 { a / c as f64 } else { 0.0 })
                })
                .collect();
        }
        let scaled = if inv.iter().all(|&v| v == inv[0]) {
            ctx.scale(g, inv[0])
        } else {
            let mut dims = vec![1, 1];
            dims.extend_from_slice(outp);
            let t = ctx.tensor(&dims, &inv);
            ctx.mul(g, &t)
        };
        let channels = xs[1];
        let mut kdims = vec![channels, 1];
        kdims.extend_from_slice(&win.kernel);
        let ones = vec![1.0; ir::numel(&kdims)];
        let kernel = ctx.tensor(&kdims, &ones);
        let mut attrs = win.transpose_attrs(inp, outp);
        attrs.push(a_int("group", channels));
        Ok(ctx.node("ConvTranspose", &[&scaled, &kernel], attrs))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_attrs::{CEIL, K2, K3, PAD_1, S1, S2};
    use crate::testing::Attr::{self, Int, Ints, Str};
    use crate::testing::{attrs, op_case, uniform};

    fn pool(name: &str, x: &[usize], list: &[Attr], opset: i64) {
        let xv = uniform(x, -1.0, 1.0, 9);
        op_case("AveragePool", &["x"], attrs(list))
            .opset(opset)
            .check(name, &xv);
    }

    fn include_pad(include: i64) -> Attr {
        Int("count_include_pad", include)
    }

    #[test]
    #[rustfmt::skip]
    fn averagepool_variants() {
        pool("2x2 s2", &[1, 2, 6, 6], &[K2, S2], 13);
        pool("3x3 s1", &[1, 2, 5, 6], &[K3], 13);
        for include in [0, 1] {
            let inc = include_pad(include);
            pool(&format!("pads include={include}"),       &[1, 2, 7, 8], &[K3, S2, PAD_1, inc], 13);
            pool(&format!("ceil_mode include={include}"),  &[1, 2, 8, 8], &[K3, S2, Ints("pads", &[0, 1, 1, 0]), CEIL, inc], 13);
            pool(&format!("SAME_UPPER include={include}"), &[1, 1, 6, 7], &[K3, S2, Str("auto_pad", "SAME_UPPER"), inc], 13);
        }
        pool("dilations (opset 19)", &[1, 2, 8, 8], &[K2, Ints("dilations", &[2, 2])], 19);
        pool("1d", &[1, 2, 9], &[Ints("kernel_shape", &[3]), Ints("strides", &[2]), Ints("pads", &[1, 1])], 13);
    }

    /// The exporters' variants of the zoo CNNs: timm ResNet-D's downsampling
    /// `AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)` on odd maps (the last window
    /// holds one row/column), ceil-mode windows that start in the end padding (ONNX drops them
    /// since opset 19, as PyTorch does), and asymmetric pads, each with both divisors.
    #[test]
    #[rustfmt::skip]
    fn averagepool_ceil_mode_and_asymmetric_pads() {
        for include in [0, 1] {
            let inc = include_pad(include);
            for x in [[1, 2, 7, 7], [1, 2, 7, 6], [1, 1, 5, 9]] {
                pool(&format!("2x2 s2 ceil {x:?} include={include}"), &x, &[K2, S2, CEIL, inc], 17);
            }
            for opset in [17, 19] {
                let name = format!("ceil window in the end pad include={include} opset {opset}");
                pool(&name, &[1, 2, 5, 5], &[K2, S2, PAD_1, CEIL, inc], opset);
            }
            let name = format!("asymmetric pads include={include}");
            pool(&name, &[1, 2, 6, 7], &[K3, S2, Ints("pads", &[0, 1, 2, 0]), inc], 17);
            let name = format!("3x3 s1 p1 ceil include={include}");
            pool(&name, &[1, 2, 6, 5], &[K3, S1, PAD_1, CEIL, inc], 17);
        }
    }
}
