//! SmoothGrad (Smilkov et al. 2017) with Captum's `NoiseTunnel(nt_type="smoothgrad")` over the
//! input gradient: the MEAN over `samples` noisy copies `x + ε`, `ε ~ N(0, σ²)` per element, of
//! `∂logit_t/∂(x + ε)`; `[C,H,W]`, signed (or of |·| with `abs = true`, as Captum's
//! `Saliency(abs=True)` inside the tunnel).
//!
//! Deliberate differences from Captum: `sigma` is the paper's noise LEVEL, a fraction of the
//! input's range (σ = sigma·(max x − min x)), where Captum's `stdevs` is absolute; and the noise
//! comes from Lantern's own SplitMix64 + Box–Muller generator seeded with `ctx.seed` (sample `i`
//! uses stream `i`), so a seed gives the same map on every machine and dependency version, and
//! the noisy copies do not depend on how many targets share the batch.

use crate::error::{ExplainError, Result};
use crate::grad::{run_rows, spec};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use lantern_core::SplitMix64;
use lantern_runtime::ReluRule;
use ndarray::{Array3, ArrayView3, Zip};

#[derive(Debug, Clone)]
pub struct SmoothGrad {
    pub samples: usize,
    /// Noise standard deviation as a fraction of the input's (max − min).
    pub sigma: f64,
    /// Average |gradient| instead of the signed gradient.
    pub abs: bool,
}

impl Default for SmoothGrad {
    fn default() -> Self {
        SmoothGrad {
            samples: 50,
            sigma: 0.15,
            abs: false,
        }
    }
}

impl SmoothGrad {
    /// Parameters: `samples` (50), `sigma` (0.15, fraction of the input range), `abs` (false).
    pub fn from_params(p: &Params) -> Result<SmoothGrad> {
        let d = SmoothGrad::default();
        let sigma = p.f64_or("sigma", d.sigma)?;
        if sigma < 0.0 {
            return Err(ExplainError::BadParam {
                method: "smoothgrad".into(),
                key: "sigma".into(),
                value: sigma.to_string(),
                message: "must be ≥ 0".into(),
            });
        }
        Ok(SmoothGrad {
            samples: p.positive_usize_or("samples", d.samples)?,
            sigma,
            abs: p.bool_or("abs", d.abs)?,
        })
    }

    /// Fills `out` with noisy copy `sample` of `image` (noise scale `stdev`).
    fn noisy(
        seed: u64,
        sample: usize,
        stdev: f64,
        image: ArrayView3<f32>,
        mut out: ndarray::ArrayViewMut3<f32>,
    ) {
        let mut rng = SplitMix64::for_item(seed, sample as u64);
        Zip::from(&mut out)
            .and(&image)
            .for_each(|o, &x| *o = x + (stdev * rng.normal()) as f32);
    }
}

impl Method for SmoothGrad {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            needs_gradients: true,
            signed: true,
            passes_per_target: Some(Passes::new(self.samples, self.samples)),
            ..MethodInfo::new("smoothgrad", MapKind::PerChannel)
        }
    }

    /// Rows are sample-major (`sample · T + target`); every target sees the same noisy copies.
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let nt = targets.len();
        let (min, max) = image
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let stdev = self.sigma * f64::from(max - min);
        let mut totals = vec![Array3::<f32>::zeros(image.dim()); nt];
        run_rows(
            ctx,
            &spec(ReluRule::Plain, &[]),
            self.samples * nt,
            |row, view| Self::noisy(ctx.seed, row / nt, stdev, image, view),
            |row| targets[row % nt],
            |first, g| {
                for (j, grad) in crate::grad::grad_input(&g)?.outer_iter().enumerate() {
                    let total = &mut totals[(first + j) % nt];
                    if self.abs {
                        Zip::from(total).and(&grad).for_each(|t, &v| *t += v.abs());
                    } else {
                        *total += &grad;
                    }
                }
                Ok(())
            },
        )?;
        let n = self.samples;
        Ok(totals
            .into_iter()
            .map(|total| {
                let mut e = Explanation::new(
                    (total / n as f32).into_dyn(),
                    Passes {
                        forward: n,
                        backward: n,
                    },
                );
                e.stats.insert("samples".into(), n as f64);
                e.stats.insert("noise_stdev".into(), stdev);
                e
            })
            .collect())
    }
}
