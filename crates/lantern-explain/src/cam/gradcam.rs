//! Grad-CAM (Selvaraju et al. 2017), pytorch-grad-cam `GradCAM`:
//! `w_k = mean_ij dA_kij`, `raw = relu(Σ_k w_k A_k)`. (Captum's
//! `LayerGradCam(relu_attributions=True)` computes the same map.)

use super::base::{CamRule, LayerJob, RawCam};
use crate::error::Result;
use ndarray::{Array1, ArrayView3, Axis};

#[derive(Debug, Clone, Default)]
pub struct GradCam;

impl GradCam {
    /// `w_k = mean_ij dA_kij` (f64 accumulation).
    pub fn weights(da: ArrayView3<f32>) -> Array1<f32> {
        da.map_axis(Axis(1), |v| v.iter().map(|&x| f64::from(x)).sum::<f64>())
            .sum_axis(Axis(1))
            .mapv(|s| (s / (da.shape()[1] * da.shape()[2]) as f64) as f32)
    }
}

impl CamRule for GradCam {
    fn name(&self) -> &'static str {
        "gradcam"
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        Ok(job.per_target(|a, da| RawCam::weighted(a, GradCam::weights(da))))
    }
}
