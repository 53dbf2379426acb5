//! Gradient × Input (Shrikumar et al. 2016) with Captum's `InputXGradient` convention:
//! `x ⊙ ∂logit_t/∂x`, signed, `[C,H,W]` (the input in model space, i.e. after normalisation).

use crate::grad::InputGradientMethod;
use lantern_runtime::ReluRule;
use ndarray::{Array3, ArrayD, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct GradXInput;

impl InputGradientMethod for GradXInput {
    const NAME: &'static str = "grad-x-input";
    const RULE: ReluRule = ReluRule::Plain;

    fn map(&self, gradient: Array3<f32>, image: ArrayView3<f32>) -> ArrayD<f32> {
        (gradient * image).into_dyn()
    }
}
