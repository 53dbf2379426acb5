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
    use crate::ir::{a_int, a_ints, a_string};
    use crate::testing::{op_case, uniform};

    fn pool(name: &str, x: &[usize], attrs: Vec<crate::proto::AttributeProto>, opset: i64) {
        let xv = uniform(x, -1.0, 1.0, 9);
        op_case("AveragePool", &["x"], attrs)
            .opset(opset)
            .check(name, &xv);
    }

    #[test]
    fn averagepool_variants() {
        let k3s2 = || vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 2])];
        pool(
            "2x2 s2",
            &[1, 2, 6, 6],
            vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
            13,
        );
        pool(
            "3x3 s1",
            &[1, 2, 5, 6],
            vec![a_ints("kernel_shape", &[3, 3])],
            13,
        );
        for include in [0, 1] {
            let mut a = k3s2();
            a.push(a_ints("pads", &[1, 1, 1, 1]));
            a.push(a_int("count_include_pad", include));
            pool(&format!("pads include={include}"), &[1, 2, 7, 8], a, 13);
            let mut a = k3s2();
            a.push(a_ints("pads", &[0, 1, 1, 0]));
            a.push(a_int("ceil_mode", 1));
            a.push(a_int("count_include_pad", include));
            pool(
                &format!("ceil_mode include={include}"),
                &[1, 2, 8, 8],
                a,
                13,
            );
            let mut a = k3s2();
            a.push(a_string("auto_pad", "SAME_UPPER"));
            a.push(a_int("count_include_pad", include));
            pool(
                &format!("SAME_UPPER include={include}"),
                &[1, 1, 6, 7],
                a,
                13,
            );
        }
        pool(
            "dilations (opset 19)",
            &[1, 2, 8, 8],
            vec![
                a_ints("kernel_shape", &[2, 2]),
                a_ints("dilations", &[2, 2]),
            ],
            19,
        );
        pool(
            "1d",
            &[1, 2, 9],
            vec![
                a_ints("kernel_shape", &[3]),
                a_ints("strides", &[2]),
                a_ints("pads", &[1, 1]),
            ],
            13,
        );
    }

    /// The exporters' variants of the zoo CNNs: timm ResNet-D's downsampling
    /// `AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)` on odd maps (the last window
    /// holds one row/column), ceil-mode windows that start in the end padding (ONNX drops them
    /// since opset 19, as PyTorch does), and asymmetric pads, each with both divisors.
    #[test]
    fn averagepool_ceil_mode_and_asymmetric_pads() {
        let k = |k: i64, s: i64| vec![a_ints("kernel_shape", &[k, k]), a_ints("strides", &[s, s])];
        for include in [0, 1] {
            for x in [[1, 2, 7, 7], [1, 2, 7, 6], [1, 1, 5, 9]] {
                let mut a = k(2, 2);
                a.push(a_int("ceil_mode", 1));
                a.push(a_int("count_include_pad", include));
                pool(&format!("2x2 s2 ceil {x:?} include={include}"), &x, a, 17);
            }
            for opset in [17, 19] {
                let mut a = k(2, 2);
                a.push(a_ints("pads", &[1, 1, 1, 1]));
                a.push(a_int("ceil_mode", 1));
                a.push(a_int("count_include_pad", include));
                pool(
                    &format!("ceil window in the end pad include={include} opset {opset}"),
                    &[1, 2, 5, 5],
                    a,
                    opset,
                );
            }
            let mut a = k(3, 2);
            a.push(a_ints("pads", &[0, 1, 2, 0]));
            a.push(a_int("count_include_pad", include));
            pool(
                &format!("asymmetric pads include={include}"),
                &[1, 2, 6, 7],
                a,
                17,
            );
            let mut a = k(3, 1);
            a.push(a_ints("pads", &[1, 1, 1, 1]));
            a.push(a_int("ceil_mode", 1));
            a.push(a_int("count_include_pad", include));
            pool(
                &format!("3x3 s1 p1 ceil include={include}"),
                &[1, 2, 6, 5],
                a,
                17,
            );
        }
    }
}
