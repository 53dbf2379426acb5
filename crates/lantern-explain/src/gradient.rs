//! The plain input gradient `∂logit_t/∂x`, signed, `[C,H,W]` (PyTorch autograd / Captum
//! `Saliency(abs=False)`).

use crate::error::Result;
use crate::grad::signed_gradient_maps;
use crate::method::{Context, Explanation, Method};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::ArrayView3;

#[derive(Debug, Clone, Default)]
pub struct Gradient;

impl Gradient {
    /// No parameters.
    pub fn from_params(_: &Params) -> Result<Gradient> {
        Ok(Gradient)
    }
}

impl Method for Gradient {
    fn name(&self) -> &str {
        "gradient"
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
        signed_gradient_maps(ctx, ReluRule::Plain, image, targets)
    }

    fn needs_gradients(&self) -> bool {
        true
    }
}
