//! Class activation maps (pytorch-grad-cam 1.5.x conventions). [`base`] captures the layer's
//! activations (and, for gradient CAMs, their gradients) once per image and handles layers,
//! targets, upsampling and multi-layer aggregation; each method file only says how to weight
//! the channels.

pub mod ablationcam;
pub mod base;
pub mod eigencam;
pub mod gradcam;
pub mod gradcam_pp;
pub mod hirescam;
pub mod layercam;
pub mod scorecam;
pub mod tail;
pub mod xgradcam;

pub use ablationcam::AblationCam;
pub use base::{Cam, CamRule, LayerJob, RawCam, elementwise_sum, weighted_sum};
pub use eigencam::EigenCam;
pub use gradcam::GradCam;
pub use gradcam_pp::GradCamPlusPlus;
pub use hirescam::HiResCam;
pub use layercam::LayerCam;
pub use scorecam::ScoreCam;
pub use xgradcam::XGradCam;
