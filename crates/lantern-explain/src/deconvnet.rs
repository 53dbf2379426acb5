//! Deconvnet (Zeiler & Fergus 2014) with Captum's `Deconvolution` convention: at every ReLU the
//! backward pass ignores the forward mask and passes `relu(grad_out)`; `[C,H,W]`, signed,
//! gradient of the target logit. As with guided backprop, Lantern's `ReluRule::Deconvnet` also
//! treats ReLU-like `Clip` (ReLU6) this way, where Captum hooks only `nn.ReLU` modules.

use crate::grad::InputGradientMethod;
use lantern_runtime::ReluRule;

#[derive(Debug, Clone, Default)]
pub struct Deconvnet;

impl InputGradientMethod for Deconvnet {
    const NAME: &'static str = "deconvnet";
    const RULE: ReluRule = ReluRule::Deconvnet;
}
