//! Gradient × Input (Shrikumar et al. 2016) with Captum's `InputXGradient` convention:
//! `x ⊙ ∂logit_t/∂x`, signed, `[C,H,W]` (the input in model space, i.e. after normalisation).

use crate::error::Result;
use crate::grad::input_gradients;
use crate::method::{Context, Explanation, Method, Passes};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::ArrayView3;

#[derive(Debug, Clone, Default)]
pub struct GradXInput;

impl GradXInput {
    /// No parameters.
    pub fn from_params(_: &Params) -> Result<GradXInput> {
        Ok(GradXInput)
    }
}

impl Method for GradXInput {
    fn name(&self) -> &str {
        "grad-x-input"
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
            .into_iter()
            .map(|g| {
                Explanation::new(
                    (g * image).into_dyn(),
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
