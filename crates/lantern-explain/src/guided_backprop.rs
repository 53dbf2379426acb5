//! Guided backpropagation (Springenberg et al. 2015) with Captum's `GuidedBackprop` convention:
//! at every ReLU the backward pass keeps the ordinary mask AND clamps the incoming gradient at 0,
//! `grad_in = relu(grad_out · [x > 0])`; `[C,H,W]`, signed, gradient of the target logit.
//!
//! Deliberate difference: Lantern's `ReluRule::Guided` applies the rule to ONNX `Relu` and to
//! ReLU-like `Clip` (ReLU6: `relu(grad_out · [0 < x < 6])`). Captum hooks only `nn.ReLU`
//! modules, so on MobileNetV2 (ReLU6 only) Captum's guided backprop is exactly the plain
//! gradient; Lantern's equals the reference `guided-backprop-clip` (Captum's hook also applied
//! to ReLU6) there. On ReLU networks (ResNet, VGG) both are the same.

use crate::grad::InputGradientMethod;
use lantern_runtime::ReluRule;

#[derive(Debug, Clone, Default)]
pub struct GuidedBackprop;

impl InputGradientMethod for GuidedBackprop {
    const NAME: &'static str = "guided-backprop";
    const RULE: ReluRule = ReluRule::Guided;
}
