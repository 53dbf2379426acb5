//! Layer-CAM (Jiang et al. 2021), pytorch-grad-cam `LayerCAM`:
//! `raw = relu(Σ_k relu(dA_k) ⊙ A_k)` (spatial weights, no channel weights).

use super::base::{CamRule, LayerJob, RawCam, elementwise_sum};
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct LayerCam;

impl CamRule for LayerCam {
    fn name(&self) -> &'static str {
        "layercam"
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        Ok(job.per_target(|a, da| RawCam::new(elementwise_sum(a, da.mapv(|g| g.max(0.0)).view()))))
    }
}
