//! XGrad-CAM (Fu et al. 2020), pytorch-grad-cam `XGradCAM`:
//! `w_k = Σ_ij dA_kij A_kij / (Σ_ij A_kij + 1e-7)`, `raw = relu(Σ_k w_k A_k)`.

use super::base::{CamRule, LayerJob, RawCam, channel_weights, sum_f64};
use crate::error::Result;
use ndarray::{Array1, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct XGradCam;

impl XGradCam {
    /// The library's weights (computed in f64 from the f32 tensors).
    pub fn weights(a: ArrayView3<f32>, da: ArrayView3<f32>) -> Array1<f32> {
        channel_weights(a, da, |ak, gk| {
            let denom = sum_f64(ak) + 1e-7;
            ak.iter()
                .zip(gk.iter())
                .map(|(&x, &g)| f64::from(g) * f64::from(x) / denom)
                .sum()
        })
    }
}

impl CamRule for XGradCam {
    fn name(&self) -> &'static str {
        "xgradcam"
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        Ok(job.per_target(|a, da| RawCam::weighted(a, XGradCam::weights(a, da))))
    }
}
