//! Transformer attribution (Chefer, Gur & Wolf, ICCV 2021, "Generic Attention-model
//! Explainability for Interpreting Bi-Modal and Encoder-Decoder Transformers"), as the authors'
//! ViT `generate_relevance` (hila-chefer/Transformer-MM-Explainability) computes it.
//!
//! ONE gradient run per image captures, for every target, every block's attention probabilities
//! `A` (`[heads, T, T]`, the attention Softmax outputs found in the graph, see
//! [`crate::attention`]) and `∇A = ∂logit_t/∂A`: a layers-only gradient graph exporting all the
//! Softmax outputs, one row per target (the image repeated, one one-hot seed each) — a single
//! backward pass. Then per block, in graph order (the paper's rules 5 and 6):
//! - `Ā = mean over heads of (∇A ⊙ A)⁺`;
//! - `R ← R + Ā·R`, from `R = I`.
//!
//! The map is `R[cls, patches]` on the patch grid (`raw`; the leading class/distillation tokens
//! dropped: `tokens` of them, default `T − g²`, as CAMs on token layers), upsampled to the
//! input size with torch bilinear, align_corners=False (`map`). The target score is the logit.
//! Unlike attention rollout, the map is class-discriminative: the gradients weight the
//! attention per target.

use crate::attention::{attention_tensors, class_row_grid, per_image, tokens_param};
use crate::error::{ExplainError, Result};
use crate::grad::{run_targets, spec};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use crate::resize::bilinear;
use lantern_runtime::{GradientSpec, ReluRule};
use ndarray::{Array2, Array3, ArrayView3, Axis, Zip};

const NAME: &str = "transformer-attribution";

pub struct TransformerAttribution {
    /// Leading non-spatial tokens (`tokens`); `None`: `T − g²`.
    pub tokens: Option<usize>,
}

impl TransformerAttribution {
    pub fn from_params(p: &Params) -> Result<TransformerAttribution> {
        Ok(TransformerAttribution {
            tokens: tokens_param(p)?,
        })
    }
}

/// `R` after all blocks for one target: `attentions[b]` and `gradients[b]` are block `b`'s
/// `[heads, T, T]` probabilities and their gradients.
pub fn relevance(attentions: &[Array3<f32>], gradients: &[Array3<f32>]) -> Array2<f64> {
    let tokens = attentions[0].len_of(Axis(1));
    let mut r = Array2::<f64>::eye(tokens);
    for (a, g) in attentions.iter().zip(gradients) {
        let heads = a.len_of(Axis(0)) as f64;
        let mut cam = Array2::<f64>::zeros((tokens, tokens));
        for (ah, gh) in a.outer_iter().zip(g.outer_iter()) {
            Zip::from(&mut cam)
                .and(&ah)
                .and(&gh)
                .for_each(|c, &x, &dx| *c += f64::from(x * dx).max(0.0));
        }
        cam /= heads;
        r = &r + &cam.dot(&r);
    }
    r
}

impl Method for TransformerAttribution {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            needs_gradients: true,
            passes_per_target: Some(Passes::new(1, 1)),
            ..MethodInfo::new(NAME, MapKind::Spatial)
        }
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let tensors = attention_tensors(NAME, ctx.model)?;
        // attentions[i][b], gradients[i][b]: target i, block b.
        let mut attentions: Vec<Vec<Array3<f32>>> = vec![Vec::new(); targets.len()];
        let mut gradients: Vec<Vec<Array3<f32>>> = vec![Vec::new(); targets.len()];
        let spec = GradientSpec {
            layers_only: true,
            ..spec(ReluRule::Plain, &tensors)
        };
        run_targets(ctx, &spec, image, targets, |start, mut g| {
            for name in &tensors {
                let (a, da) = g.layers.remove(name).ok_or_else(|| ExplainError::Failed {
                    method: NAME.into(),
                    message: format!("the gradient graph did not export {name:?}"),
                })?;
                let images = g.logits.nrows();
                for (i, (a, da)) in per_image(NAME, name, a, images)?
                    .into_iter()
                    .zip(per_image(NAME, name, da, images)?)
                    .enumerate()
                {
                    attentions[start + i].push(a);
                    gradients[start + i].push(da);
                }
            }
            Ok(())
        })?;
        let (_, h, w) = image.dim();
        let passes = Passes {
            forward: 1,
            backward: 1,
        };
        attentions
            .iter()
            .zip(&gradients)
            .map(|(a, g)| {
                let raw = class_row_grid(NAME, relevance(a, g).view(), self.tokens)?;
                let mut e = Explanation::new(bilinear(raw.view(), h, w).into_dyn(), passes);
                e.raw = Some(raw);
                e.stats.insert("blocks".into(), a.len() as f64);
                Ok(e)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn relevance_accumulates_positive_gradient_weighted_attention() {
        // Two heads; head 1's products are negative and clamp to 0.
        let a = array![[[0.5f32, 0.5], [0.25, 0.75]], [[1.0, 0.0], [0.0, 1.0]]];
        let g = array![[[2.0f32, 0.0], [4.0, -1.0]], [[-1.0, 3.0], [5.0, -2.0]]];
        // Ā = mean over heads of relu(A ⊙ ∇A) = [[0.5, 0], [0.5, 0]].
        let r = relevance(std::slice::from_ref(&a), std::slice::from_ref(&g));
        assert_eq!(r, array![[1.5, 0.0], [0.5, 1.0]]);
        let r2 = relevance(&[a.clone(), a.clone()], &[g.clone(), g.clone()]);
        let cam = array![[0.5, 0.0], [0.5, 0.0]];
        let want = &r + &cam.dot(&r);
        assert_eq!(r2, want);
    }
}
