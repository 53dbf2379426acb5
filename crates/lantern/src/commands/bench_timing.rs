//! How `lantern bench` times: Lantern and pure ONNX Runtime alternated round by round
//! ([`paired`]), and the pure ONNX Runtime work for a method's passes ([`PureOrt`]).

use super::*;

/// Times `lantern` and `pure` alternately, `rounds` times each after one warm-up of each, and
/// returns both medians: alternating keeps a noisy machine's drift out of the ratio.
pub(super) fn paired(
    rounds: usize,
    mut lantern: impl FnMut() -> Result<()>,
    mut pure: impl FnMut() -> Result<()>,
) -> Result<(f64, f64)> {
    paired_with(rounds, true, &mut lantern, &mut pure)
}

/// The most rounds [`paired_with`] runs for short tasks.
pub(super) const MAX_ROUNDS: usize = 25;

/// [`paired`] with the warm-up optional: long tasks (hundreds of passes) are their own warm-up.
pub(super) fn paired_with(
    rounds: usize,
    warm_up: bool,
    lantern: &mut dyn FnMut() -> Result<()>,
    pure: &mut dyn FnMut() -> Result<()>,
) -> Result<(f64, f64)> {
    if warm_up {
        lantern()?;
        pure()?;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut round = 0;
    // Short tasks get more rounds (up to a second's worth): a few milliseconds of scheduler
    // noise would otherwise decide their ratio.
    while round < rounds.max(1) || (round < MAX_ROUNDS && a.iter().sum::<f64>() < 1.0) {
        let t = Instant::now();
        lantern()?;
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        pure()?;
        b.push(t.elapsed().as_secs_f64());
        round += 1;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(a), median(b)))
}

/// How many of a method's `backward` passes run the gradient graph stopped at the CAM layer
/// (the rest compute input gradients): one per target for a layer method that needs gradients
/// (see `MethodInfo::takes_layer`).
pub(super) fn cam_backward(method: &str, backward: usize) -> usize {
    match lantern_explain::method_info(method) {
        Some(i) if i.takes_layer && i.needs_gradients => {
            let per_target = i.passes_per_target.map_or(1, |p| p.backward.max(1));
            backward / per_target
        }
        _ => 0,
    }
}

/// Pure ORT work for `forward` images through the forward session, `backward` through the
/// input-gradient graph and `cam_backward` through the graph stopped at the CAM layer, in
/// batches of `batch`.
pub(super) struct PureOrt<'a> {
    pub(super) model: &'a Model,
    pub(super) forward_batch: Array4<f32>,
    pub(super) gradient: std::sync::Arc<lantern_runtime::GradientSession>,
    pub(super) cam_gradient: std::sync::Arc<lantern_runtime::GradientSession>,
    pub(super) seed: Array2<f32>,
}

impl PureOrt<'_> {
    pub(super) fn run(&self, forward: usize, backward: usize, cam_backward: usize) -> Result<()> {
        let b = self.forward_batch.shape()[0];
        let mut left = forward;
        while left > 0 {
            let n = left.min(b);
            self.model
                .forward(self.forward_batch.slice(ndarray::s![..n, .., .., ..]))?;
            left -= n;
        }
        for (session, mut left) in [
            (&self.gradient, backward),
            (&self.cam_gradient, cam_backward),
        ] {
            while left > 0 {
                let n = left.min(b);
                session.run(
                    self.forward_batch.slice(ndarray::s![..n, .., .., ..]),
                    self.seed.slice(ndarray::s![..n, ..]),
                )?;
                left -= n;
            }
        }
        Ok(())
    }
}
