//! HiRes-CAM (Draelos & Carin 2020), pytorch-grad-cam `HiResCAM`:
//! `raw = relu(Σ_k dA_k ⊙ A_k)`. On a network ending in global average pooling and a linear
//! layer dA is uniform over positions, so HiRes-CAM equals Grad-CAM there.

use super::base::{CamRule, LayerJob, RawCam, elementwise_sum};
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct HiResCam;

impl CamRule for HiResCam {
    fn name(&self) -> &'static str {
        "hirescam"
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        Ok(job.per_target(|a, da| RawCam::new(elementwise_sum(a, da))))
    }
}
