//! LRN (AlexNet, ZFNet, Inception v1): `y = x · d^(−β)`, `d = bias + (α/size)·S`,
//! `S_c = Σ_{c' ∈ [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉]} x_{c'}²`. Differentiating,
//! `∂x = g · d^(−β) − (2αβ/size) · x · Sᵀ(g · y / d)`, where `Sᵀ` sums over the channels whose
//! window contains c (the mirrored window). Both channel-window sums are a 1-D convolution with
//! a kernel of ones over the channel axis of `x` reshaped to `[N, 1, C, rest]`.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, unsupported};
use crate::ir::{self, a_ints};
use crate::proto::NodeProto;

/// Σ over a channel window: `u` reshaped to [N, 1, C, −1], convolved with ones of height
/// `size` and pads (lo, hi), reshaped back.
fn channel_window_sum(
    ctx: &mut Ctx,
    u: &str,
    like: &str,
    channels: i64,
    size: i64,
    lo: i64,
    hi: i64,
) -> String {
    let s = ctx.ints(&[0, 1, channels, -1]);
    let r = ctx.node("Reshape", &[u, &s], vec![]);
    let ones = ctx.tensor(&[1, 1, size, 1], &vec![1.0; size as usize]);
    let c = ctx.node(
        "Conv",
        &[&r, &ones],
        vec![
            a_ints("kernel_shape", &[size, 1]),
            a_ints("pads", &[lo, 0, hi, 0]),
        ],
    );
    ctx.reshape_like(&c, like)
}

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let y = &n.output[0];
        let size = ir::attr_i(n, "size").ok_or_else(|| unsupported(n, "no size"))?;
        let alpha = ir::attr_f(n, "alpha").unwrap_or(1e-4) as f64;
        let beta = ir::attr_f(n, "beta").unwrap_or(0.75) as f64;
        let bias = ir::attr_f(n, "bias").unwrap_or(1.0) as f64;
        let xs = ctx.shape(x)?;
        if xs.len() < 3 {
            return Err(unsupported(n, "input of rank < 3"));
        }
        let channels = xs[1];
        let lo = (size - 1) / 2;
        let hi = size - 1 - lo;
        let x2 = ctx.mul(x, x);
        let s = channel_window_sum(ctx, &x2, x, channels, size, lo, hi);
        let sa = ctx.scale(&s, alpha / size as f64);
        let b = ctx.scalar(bias);
        let d = ctx.add(&sa, &b);
        let mb = ctx.scalar(-beta);
        let dp = ctx.node("Pow", &[&d, &mb], vec![]);
        let first = ctx.mul(g, &dp);
        let gy_ = ctx.mul(g, y);
        let u = ctx.div(&gy_, &d);
        let t = channel_window_sum(ctx, &u, x, channels, size, hi, lo);
        let xt = ctx.mul(x, &t);
        let second = ctx.scale(&xt, 2.0 * alpha * beta / size as f64);
        Ok(ctx.sub(&first, &second))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_int};
    use crate::testing::{op_case, uniform};

    #[test]
    fn lrn_odd_and_even_windows() {
        // Large α so the normalisation matters at this scale.
        let x = uniform(&[1, 7, 3, 3], -2.0, 2.0, 1);
        // ONNX allows even sizes but ONNX Runtime refuses them.
        for size in [5, 3, 1] {
            let attrs = vec![
                a_int("size", size),
                a_float("alpha", 0.5),
                a_float("beta", 0.75),
                a_float("bias", 1.5),
            ];
            op_case("LRN", &["x"], attrs).check(&format!("LRN size {size}"), &x);
        }
        let attrs = vec![
            a_int("size", 5),
            a_float("alpha", 1e-4),
            a_float("beta", 0.75),
            a_float("bias", 1.0),
        ];
        op_case("LRN", &["x"], attrs)
            .opset(9)
            .check("LRN AlexNet constants", &x);
    }
}
