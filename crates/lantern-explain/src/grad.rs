//! The one helper every gradient method shares: batched gradient calls.
//!
//! A gradient method describes its work as ROWS: row `i` is one input image (filled into a
//! pre-allocated batch buffer by `fill`, in parallel) and one target class (a one-hot row of
//! the seed matrix). Rows go to ONNX Runtime `ctx.batch_size` at a time through the model's
//! cached gradient session, and each batch's [`Gradients`] is handed to `sink` with the index
//! of its first row. Several targets of one image are simply more rows (the image repeated,
//! one one-hot seed each), so one call serves them all.

use crate::error::{ExplainError, Result};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use lantern_runtime::{GradientSpec, Gradients, ReluRule};
use ndarray::{Array2, Array3, Array4, ArrayD, ArrayView3, ArrayViewMut3, Axis, s};
use rayon::prelude::*;

/// A gradient spec for `rule` exporting `layers` (activation and gradient), seeded at the logits.
pub fn spec(rule: ReluRule, layers: &[String]) -> GradientSpec {
    GradientSpec {
        layers: layers.to_vec(),
        rule,
        ..GradientSpec::default()
    }
}

/// The input gradient of a run; only [`GradientSpec::layers_only`] graphs lack it, and
/// input-gradient methods never build those.
pub fn grad_input(g: &Gradients) -> Result<&Array4<f32>> {
    g.grad_input.as_ref().ok_or_else(|| ExplainError::Failed {
        method: "gradient".into(),
        message: "the gradient graph stops at the layers and has no input gradient".into(),
    })
}

/// Runs `rows` gradient rows in batches of `ctx.batch_size`; see the module doc.
pub fn run_rows<F, T, S>(
    ctx: &Context,
    spec: &GradientSpec,
    rows: usize,
    fill: F,
    target: T,
    mut sink: S,
) -> Result<()>
where
    F: Fn(usize, ArrayViewMut3<f32>) + Sync,
    T: Fn(usize) -> usize,
    S: FnMut(usize, Gradients) -> Result<()>,
{
    if rows == 0 {
        return Ok(());
    }
    let session = ctx.model.gradient_session(spec)?;
    let spec_in = ctx.model.input;
    let batch = ctx.batch_size.max(1).min(rows);
    let mut buffer = Array4::<f32>::zeros((batch, spec_in.channels, spec_in.height, spec_in.width));
    let mut seeds = Array2::<f32>::zeros((batch, ctx.model.classes));
    let mut start = 0;
    while start < rows {
        let n = batch.min(rows - start);
        buffer
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .take(n)
            .enumerate()
            .for_each(|(j, view)| fill(start + j, view));
        seeds.fill(0.0);
        for j in 0..n {
            seeds[[j, target(start + j)]] = 1.0;
        }
        let grads = session.run(buffer.slice(s![..n, .., .., ..]), seeds.slice(s![..n, ..]))?;
        sink(start, grads)?;
        start += n;
    }
    Ok(())
}

/// [`run_rows`] with one row per target, each row the image: row `i` is seeded at
/// `targets[i]`.
pub fn run_targets<S>(
    ctx: &Context,
    spec: &GradientSpec,
    image: ArrayView3<f32>,
    targets: &[usize],
    sink: S,
) -> Result<()>
where
    S: FnMut(usize, Gradients) -> Result<()>,
{
    run_rows(
        ctx,
        spec,
        targets.len(),
        |_, mut view| view.assign(&image),
        |i| targets[i],
        sink,
    )
}

/// ∂logit_t/∂x for each target (the image repeated, one one-hot seed per row), `[C,H,W]` each.
pub fn input_gradients(
    ctx: &Context,
    rule: ReluRule,
    image: ArrayView3<f32>,
    targets: &[usize],
) -> Result<Vec<Array3<f32>>> {
    let mut out = Vec::with_capacity(targets.len());
    run_targets(ctx, &spec(rule, &[]), image, targets, |_, g| {
        out.extend(grad_input(&g)?.outer_iter().map(|v| v.to_owned()));
        Ok(())
    })?;
    Ok(out)
}

/// max over channels of |g| (the saliency reduction), `[H,W]`.
pub fn max_abs_over_channels(g: &Array3<f32>) -> Array2<f32> {
    g.map_axis(Axis(0), |c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
}

/// The base of the methods that are one input gradient per target (one forward and one
/// backward pass each) turned into a map: a method file gives its name, the ReLU rule of the
/// backward pass and, where it is not the signed gradient itself, the map.
pub trait InputGradientMethod: Send + Sync {
    const NAME: &'static str;
    const RULE: ReluRule;
    const SIGNED: bool = true;
    const MAP: MapKind = MapKind::PerChannel;

    /// The map from the target's input gradient `[C,H,W]`; default: the gradient itself.
    fn map(&self, gradient: Array3<f32>, _image: ArrayView3<f32>) -> ArrayD<f32> {
        gradient.into_dyn()
    }
}

impl<M: InputGradientMethod> Method for M {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            needs_gradients: true,
            signed: M::SIGNED,
            passes_per_target: Some(Passes::new(1, 1)),
            ..MethodInfo::new(M::NAME, M::MAP)
        }
    }

    fn gradient_spec(&self) -> Option<GradientSpec> {
        Some(spec(M::RULE, &[]))
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        Ok(input_gradients(ctx, M::RULE, image, targets)?
            .into_iter()
            .map(|g| Explanation::new(self.map(g, image), Passes::new(1, 1)))
            .collect())
    }
}
