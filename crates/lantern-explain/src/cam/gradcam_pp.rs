//! Grad-CAM++ (Chattopadhyay et al. 2018), pytorch-grad-cam `GradCAMPlusPlus`:
//! `α = dA² / (2dA² + (Σ_ij A_k)·dA³ + 1e-6)`, `α = 0` where `dA == 0`,
//! `w_k = Σ_ij relu(dA_kij)·α_kij`, `raw = relu(Σ_k w_k A_k)`.

use super::base::{CamRule, LayerJob, RawCam, channel_weights, sum_f64};
use crate::error::Result;
use ndarray::{Array1, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct GradCamPlusPlus;

impl GradCamPlusPlus {
    /// The library's weights (computed in f64 from the f32 tensors).
    pub fn weights(a: ArrayView3<f32>, da: ArrayView3<f32>) -> Array1<f32> {
        channel_weights(a, da, |ak, gk| {
            let sum_a = sum_f64(ak);
            let mut total = 0.0f64;
            for &g in gk.iter().filter(|&&g| g != 0.0) {
                let g = f64::from(g);
                let g2 = g * g;
                let alpha = g2 / (2.0 * g2 + sum_a * g2 * g + 1e-6);
                total += g.max(0.0) * alpha;
            }
            total
        })
    }
}

impl CamRule for GradCamPlusPlus {
    fn name(&self) -> &'static str {
        "gradcam++"
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        Ok(job.per_target(|a, da| RawCam::weighted(a, GradCamPlusPlus::weights(a, da))))
    }
}
