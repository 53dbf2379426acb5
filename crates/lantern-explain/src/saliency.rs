//! Saliency maps (Simonyan et al. 2014) with Captum's `Saliency(abs=True)` convention followed by
//! the paper's channel reduction: `M_ij = max_c |∂logit_t/∂x_cij|`, `[H,W]`, at input resolution.
//! The gradient is of the target LOGIT (not the probability), as in Captum with a logit model.

use crate::grad::{InputGradientMethod, max_abs_over_channels};
use crate::method::MapKind;
use lantern_runtime::ReluRule;
use ndarray::{Array3, ArrayD, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct Saliency;

impl InputGradientMethod for Saliency {
    const NAME: &'static str = "saliency";
    const RULE: ReluRule = ReluRule::Plain;
    const SIGNED: bool = false;
    const MAP: MapKind = MapKind::Spatial;

    fn map(&self, gradient: Array3<f32>, _image: ArrayView3<f32>) -> ArrayD<f32> {
        max_abs_over_channels(&gradient).into_dyn()
    }
}
