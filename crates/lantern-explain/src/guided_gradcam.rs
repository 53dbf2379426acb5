//! Guided Grad-CAM (Selvaraju et al. 2017) with Captum's `GuidedGradCam` convention:
//! `guided_backprop(x) ⊙ interpolate(gradcam_raw, input size)`, `[C,H,W]`, where `gradcam_raw`
//! is `LayerGradCam(relu_attributions=True)` at the layer (= pytorch-grad-cam's Grad-CAM raw
//! map, NOT normalised) and the interpolation is Captum's default `nearest` (torch
//! `F.interpolate(mode="nearest")`); `interpolate = bilinear` uses align_corners=False instead.
//!
//! pytorch-grad-cam's example script instead multiplies the guided backprop by its normalised
//! display map (`cam_mask * gb`); that differs by a per-image scale and the upsampling, and is
//! not what this method returns. Guided backprop here is Lantern's (`ReluRule::Guided`, also
//! applied to ReLU6 — see `guided_backprop.rs`). Two gradient batches per image: the plain one
//! for Grad-CAM and the guided one.

use crate::cam::base::Cam;
use crate::cam::gradcam::GradCam;
use crate::error::{ExplainError, Result};
use crate::grad::input_gradients;
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use crate::resize::{bilinear, nearest};
use lantern_runtime::ReluRule;
use ndarray::{ArrayView3, Axis};

pub struct GuidedGradCam {
    pub cam: Cam<GradCam>,
    pub bilinear: bool,
}

impl GuidedGradCam {
    /// Parameters: `layer` (one layer), `interpolate` = `nearest` | `bilinear`.
    pub fn from_params(p: &Params) -> Result<GuidedGradCam> {
        let cam = Cam::new(GradCam, p)?;
        if cam.layers.as_ref().is_some_and(|l| l.len() != 1) {
            return Err(ExplainError::BadParam {
                method: "guided-gradcam".into(),
                key: "layers".into(),
                value: cam.layers.as_ref().map(|l| l.join(",")).unwrap_or_default(),
                message: "Guided Grad-CAM takes one layer".into(),
            });
        }
        let bilinear = p.choice("interpolate", &["nearest", "bilinear"])? == "bilinear";
        Ok(GuidedGradCam { cam, bilinear })
    }
}

impl Method for GuidedGradCam {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            needs_gradients: true,
            takes_layer: true,
            // One Grad-CAM capture and one guided input gradient per target.
            passes_per_target: Some(Passes::new(2, 2)),
            ..MethodInfo::new("guided-gradcam", MapKind::PerChannel)
        }
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let (cams, _) = self.cam.raw_cams(ctx, image, targets)?;
        let guided = input_gradients(ctx, ReluRule::Guided, image, targets)?;
        let (_, h, w) = image.dim();
        Ok(cams
            .into_iter()
            .zip(guided)
            .map(|(layers, gb)| {
                let raw = &layers[0].raw;
                let up = if self.bilinear {
                    bilinear(raw.view(), h, w)
                } else {
                    nearest(raw.view(), h, w)
                };
                let map = gb * &up.insert_axis(Axis(0));
                let mut e = Explanation::new(
                    map.into_dyn(),
                    Passes {
                        forward: 2,
                        backward: 2,
                    },
                );
                e.raw = Some(raw.clone());
                e
            })
            .collect())
    }
}
