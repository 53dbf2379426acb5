//! Saliency maps (Simonyan et al. 2014) with Captum's `Saliency(abs=True)` convention followed by
//! the paper's channel reduction: `M_ij = max_c |∂logit_t/∂x_cij|`, `[H,W]`, at input resolution.
//! The gradient is of the target LOGIT (not the probability), as in Captum with a logit model.

use crate::error::Result;
use crate::grad::{input_gradients, max_abs_over_channels};
use crate::method::{Context, Explanation, Method, Passes};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::ArrayView3;

#[derive(Debug, Clone, Default)]
pub struct Saliency;

impl Saliency {
    /// No parameters.
    pub fn from_params(_: &Params) -> Result<Saliency> {
        Ok(Saliency)
    }
}

impl Method for Saliency {
    fn name(&self) -> &str {
        "saliency"
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
        let grads = input_gradients(ctx, ReluRule::Plain, image, targets)?;
        Ok(grads
            .iter()
            .map(|g| {
                Explanation::new(
                    max_abs_over_channels(g).into_dyn(),
                    Passes {
                        forward: 1,
                        backward: 1,
                    },
                )
            })
            .collect())
    }

    fn needs_gradients(&self) -> bool {
        true
    }
}
