//! Guided backpropagation (Springenberg et al. 2015) with Captum's `GuidedBackprop` convention:
//! at every ReLU the backward pass keeps the ordinary mask AND clamps the incoming gradient at 0,
//! `grad_in = relu(grad_out · [x > 0])`; `[C,H,W]`, signed, gradient of the target logit.
//!
//! Deliberate difference: Lantern's `ReluRule::Guided` applies the rule to ONNX `Relu` and to
//! ReLU-like `Clip` (ReLU6: `relu(grad_out · [0 < x < 6])`). Captum hooks only `nn.ReLU`
//! modules, so on MobileNetV2 (ReLU6 only) Captum's guided backprop is exactly the plain
//! gradient; Lantern's equals the reference `guided-backprop-clip` (Captum's hook also applied
//! to ReLU6) there. On ReLU networks (ResNet, VGG) both are the same.

use crate::error::Result;
use crate::grad::signed_gradient_maps;
use crate::method::{Context, Explanation, Method};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::ArrayView3;

#[derive(Debug, Clone, Default)]
pub struct GuidedBackprop;

impl GuidedBackprop {
    /// No parameters.
    pub fn from_params(_: &Params) -> Result<GuidedBackprop> {
        Ok(GuidedBackprop)
    }
}

impl Method for GuidedBackprop {
    fn name(&self) -> &str {
        "guided-backprop"
    }

    fn explain(&self, ctx: &Context, image: ArrayView3<f32>, target: usize) -> Result<Explanation> {
        Ok(self.explain_targets(ctx, image, &[target])?.remove(0))
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        signed_gradient_maps(ctx, ReluRule::Guided, image, targets)
    }

    fn needs_gradients(&self) -> bool {
        true
    }
}
