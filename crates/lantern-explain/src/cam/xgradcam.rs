//! XGrad-CAM (Fu et al. 2020), pytorch-grad-cam `XGradCAM`:
//! `w_k = Σ_ij dA_kij A_kij / (Σ_ij A_kij + 1e-7)`, `raw = relu(Σ_k w_k A_k)`.

use super::base::{Cam, CamRule, LayerJob, RawCam};
use crate::error::Result;
use crate::params::Params;
use ndarray::{Array1, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct XGradCam;

impl XGradCam {
    /// Parameters: `layer` or `layers`.
    pub fn from_params(p: &Params) -> Result<Cam<XGradCam>> {
        Cam::new(XGradCam, p)
    }

    pub fn weights(a: ArrayView3<f32>, da: ArrayView3<f32>) -> Array1<f32> {
        let mut out = Array1::<f32>::zeros(a.shape()[0]);
        for ((w, ak), gk) in out.iter_mut().zip(a.outer_iter()).zip(da.outer_iter()) {
            let sum_a: f64 = ak.iter().map(|&v| f64::from(v)).sum();
            let denom = sum_a + 1e-7;
            let total: f64 = ak
                .iter()
                .zip(gk.iter())
                .map(|(&x, &g)| f64::from(g) * f64::from(x) / denom)
                .sum();
            *w = total as f32;
        }
        out
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
