//! Deconvnet (Zeiler & Fergus 2014) with Captum's `Deconvolution` convention: at every ReLU the
//! backward pass ignores the forward mask and passes `relu(grad_out)`; `[C,H,W]`, signed,
//! gradient of the target logit. As with guided backprop, Lantern's `ReluRule::Deconvnet` also
//! treats ReLU-like `Clip` (ReLU6) this way, where Captum hooks only `nn.ReLU` modules.

use crate::error::Result;
use crate::grad::signed_gradient_maps;
use crate::method::{Context, Explanation, Method};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::ArrayView3;

#[derive(Debug, Clone, Default)]
pub struct Deconvnet;

impl Deconvnet {
    /// No parameters.
    pub fn from_params(_: &Params) -> Result<Deconvnet> {
        Ok(Deconvnet)
    }
}

impl Method for Deconvnet {
    fn name(&self) -> &str {
        "deconvnet"
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
        signed_gradient_maps(ctx, ReluRule::Deconvnet, image, targets)
    }

    fn needs_gradients(&self) -> bool {
        true
    }
}
