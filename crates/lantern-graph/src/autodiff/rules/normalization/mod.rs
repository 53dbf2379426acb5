//! Normalisations with statistics of the input itself (inference and training alike):
//! `y = γ·x̂ + β`, `x̂ = (x − μ)·r`, `r = 1/√(σ² + ε)`, with the mean μ and the population
//! variance σ² taken over a set of axes per slice (LayerNormalization: the trailing axes from
//! `axis`; InstanceNormalization: the spatial axes per sample and channel;
//! GroupNormalization: per sample and group of channels). γ and β are weights.
//!
//! Backward, with `ĝ = g·γ` (γ broadcast) and `mean` over the normalised axes:
//! `∂x = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))` — the derivative of x̂ through μ and σ² both,
//! exactly (PyTorch's `native_layer_norm_backward` and group-norm backward are the same
//! formula). BatchNormalization in inference mode uses running statistics instead: an affine
//! map per channel.

pub(crate) mod batch_norm;
pub(crate) mod group_norm;
pub(crate) mod instance_norm;
pub(crate) mod layer_norm;

use super::reduce::mean_kept;
use crate::GraphError;
use crate::autodiff::ctx::Ctx;

/// `(x̂, r)` recomputed from `x` over `axes` (μ, then σ² = mean((x − μ)²), r = 1/√(σ² + ε)).
pub(crate) fn standardize(
    ctx: &mut Ctx,
    x: &str,
    axes: &[usize],
    eps: f64,
) -> Result<(String, String), GraphError> {
    let mu = mean_kept(ctx, x, x, axes)?;
    let d = ctx.sub(x, &mu);
    let d2 = ctx.mul(&d, &d);
    let var = mean_kept(ctx, &d2, x, axes)?;
    let e = ctx.scalar(eps);
    let ve = ctx.add(&var, &e);
    let sd = ctx.node("Sqrt", &[&ve], vec![]);
    let r = ctx.node("Reciprocal", &[&sd], vec![]);
    let xhat = ctx.mul(&d, &r);
    Ok((xhat, r))
}

/// `∂x = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))` over `axes` of `x` (ĝ, x̂ shaped like x).
pub(crate) fn standardize_backward(
    ctx: &mut Ctx,
    x: &str,
    axes: &[usize],
    ghat: &str,
    xhat: &str,
    r: &str,
) -> Result<String, GraphError> {
    let mean_g = mean_kept(ctx, ghat, x, axes)?;
    let gx = ctx.mul(ghat, xhat);
    let mean_gx = mean_kept(ctx, &gx, x, axes)?;
    let along = ctx.mul(xhat, &mean_gx);
    let removed = ctx.add(&mean_g, &along);
    let centred = ctx.sub(ghat, &removed);
    Ok(ctx.mul(&centred, r))
}

/// A per-channel vector `[C]` reshaped to `[C, 1, …, 1]` (rank `rank − 1`) so it broadcasts
/// over axis 1 of a rank-`rank` tensor (as it is for rank ≤ 2).
pub(crate) fn per_channel(ctx: &mut Ctx, v: &str, rank: usize) -> String {
    if rank <= 2 {
        return v.to_string();
    }
    let mut shape = vec![-1];
    shape.extend(std::iter::repeat_n(1, rank - 2));
    let s = ctx.ints(&shape);
    ctx.node("Reshape", &[v, &s], vec![])
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::proto::TensorProto;
    use crate::testing::init_f32;

    /// A normalization's affine parameters of shape `dims`: the scale `s` in [0.5, 1.5) from
    /// `seed` and the bias `b` in [−0.5, 0.5) from `seed + 1`.
    pub(crate) fn scale_and_bias(dims: &[i64], seed: u64) -> Vec<TensorProto> {
        vec![
            init_f32("s", dims, seed, 0.5, 1.5),
            init_f32("b", dims, seed + 1, -0.5, 0.5),
        ]
    }
}
