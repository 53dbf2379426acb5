//! The plain input gradient `∂logit_t/∂x`, signed, `[C,H,W]` (PyTorch autograd / Captum
//! `Saliency(abs=False)`).

use crate::grad::InputGradientMethod;
use lantern_runtime::ReluRule;

#[derive(Debug, Clone, Default)]
pub struct Gradient;

impl InputGradientMethod for Gradient {
    const NAME: &'static str = "gradient";
    const RULE: ReluRule = ReluRule::Plain;
}
