//! Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"), as
//! jacobgil/vit-explain's `vit_rollout.py` computes it for ViTs.
//!
//! One forward pass captures every block's attention probabilities `A` (`[heads, T, T]`, the
//! attention Softmax outputs found in the graph, see [`crate::attention`]). Per block, in graph
//! order:
//! 1. heads are fused by `head_fusion` = `mean` (default) | `max` | `min`;
//! 2. the lowest `discard_ratio` (default 0.9) of the fused `[T,T]` entries are set to 0 — the
//!    `⌊T²·ratio⌋` smallest, except flat index 0, the class token's attention to itself (the
//!    reference code's `indices != 0`); ties are broken by flat index;
//! 3. `Â = (A + I)/2` with each row renormalised to sum 1 (the paper's residual correction);
//! 4. `R ← Â·R`, from `R = I`.
//!
//! The map is `R[cls, patches]` on the patch grid (`raw`; the leading class/distillation tokens
//! dropped: `tokens` of them, default `T − g²`, as CAMs on token layers), upsampled to the
//! input size with torch bilinear, align_corners=False (`map`, like the CAMs in this crate).
//! Maps are raw: vit-explain's `mask / max` is display normalisation.
//!
//! Rollout is CLASS-AGNOSTIC by definition: it only reads the forward attention, so every target
//! of an image gets the same map (computed once).
//!
//! One deliberate deviation from the published code: vit-explain divides by `a.sum(dim=-1)`
//! without `keepdim`, which broadcasts the sum of row j over column j (vit-explain issue #16);
//! the paper, and Lantern, renormalise rows. `tools/reference_attention.py` documents the
//! reference with that fix, and `tests/attention.rs` matches it to 1e-4.

use crate::attention::{attention_tensors, class_row_grid, per_image, tokens_param};
use crate::error::{ExplainError, Result};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use crate::resize::bilinear;
use ndarray::{Array2, Array3, ArrayView3, Axis};

const NAME: &str = "attention-rollout";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadFusion {
    Mean,
    Max,
    Min,
}

pub struct AttentionRollout {
    pub head_fusion: HeadFusion,
    /// Fraction of each fused attention matrix set to 0 (lowest first), in `[0, 1)`.
    pub discard_ratio: f64,
    /// Leading non-spatial tokens (`tokens`); `None`: `T − g²`.
    pub tokens: Option<usize>,
}

impl AttentionRollout {
    pub fn from_params(p: &Params) -> Result<AttentionRollout> {
        let head_fusion = match p.choice("head_fusion", &["mean", "max", "min"])? {
            "max" => HeadFusion::Max,
            "min" => HeadFusion::Min,
            _ => HeadFusion::Mean,
        };
        let discard_ratio = p.f64_or("discard_ratio", 0.9)?;
        if !(0.0..1.0).contains(&discard_ratio) {
            return Err(ExplainError::BadParam {
                method: NAME.into(),
                key: "discard_ratio".into(),
                value: discard_ratio.to_string(),
                message: "must be in [0, 1)".into(),
            });
        }
        Ok(AttentionRollout {
            head_fusion,
            discard_ratio,
            tokens: tokens_param(p)?,
        })
    }

    /// The rolled-out `[T,T]` matrix of one image's attention stacks (block order).
    pub fn rollout(&self, blocks: &[Array3<f32>]) -> Array2<f64> {
        let tokens = blocks[0].len_of(Axis(1));
        let mut result = Array2::<f64>::eye(tokens);
        for a in blocks {
            let mut fused = self.fuse(a);
            discard_lowest(&mut fused, self.discard_ratio);
            let mut hat = (fused + Array2::<f64>::eye(tokens)) / 2.0;
            for mut row in hat.rows_mut() {
                let sum = row.sum();
                row /= sum;
            }
            result = hat.dot(&result);
        }
        result
    }

    fn fuse(&self, a: &Array3<f32>) -> Array2<f64> {
        let a = a.mapv(f64::from);
        match self.head_fusion {
            HeadFusion::Mean => a.mean_axis(Axis(0)).expect("at least one head"),
            HeadFusion::Max => a.fold_axis(Axis(0), f64::NEG_INFINITY, |m, &v| m.max(v)),
            HeadFusion::Min => a.fold_axis(Axis(0), f64::INFINITY, |m, &v| m.min(v)),
        }
    }
}

/// Zeroes the `⌊len·ratio⌋` smallest entries except flat index 0 (vit-explain: `topk(largest =
/// False)`, then `indices != 0`).
fn discard_lowest(m: &mut Array2<f64>, ratio: f64) {
    let count = (m.len() as f64 * ratio) as usize;
    if count == 0 {
        return;
    }
    let flat = m.as_slice_mut().expect("standard layout");
    let mut order: Vec<usize> = (0..flat.len()).collect();
    order.sort_by(|&i, &j| flat[i].total_cmp(&flat[j]).then(i.cmp(&j)));
    for &i in order.iter().take(count).filter(|&&i| i != 0) {
        flat[i] = 0.0;
    }
}

impl Method for AttentionRollout {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            passes_per_target: Some(Passes::new(1, 0)),
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
        let mut tapped = ctx
            .model
            .tap_session(&tensors)?
            .run(image.insert_axis(Axis(0)))?
            .tensors;
        let mut blocks = Vec::with_capacity(tensors.len());
        for name in &tensors {
            let t = tapped.remove(name).ok_or_else(|| ExplainError::Failed {
                method: NAME.into(),
                message: format!("the tap session did not return {name:?}"),
            })?;
            blocks.extend(per_image(NAME, name, t, 1)?);
        }
        let (_, h, w) = image.dim();
        let raw = class_row_grid(NAME, self.rollout(&blocks).view(), self.tokens)?;
        let map = bilinear(raw.view(), h, w);
        let passes = Passes {
            forward: 1,
            backward: 0,
        };
        Ok(targets
            .iter()
            .map(|_| {
                let mut e = Explanation::new(map.clone().into_dyn(), passes);
                e.raw = Some(raw.clone());
                e.stats.insert("blocks".into(), blocks.len() as f64);
                e
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn discard_keeps_the_class_token_self_attention() {
        let mut m = array![[0.0, 0.5], [0.2, 0.3]];
        discard_lowest(&mut m, 0.5);
        // The two smallest are flat 0 (kept) and flat 2.
        assert_eq!(m, array![[0.0, 0.5], [0.0, 0.3]]);
    }

    #[test]
    fn rows_are_renormalised_and_rolled_out() {
        let r = AttentionRollout {
            head_fusion: HeadFusion::Mean,
            discard_ratio: 0.0,
            tokens: None,
        };
        let a = array![[[0.5f32, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]];
        // Mean over heads [[.75,.25],[.5,.5]]; (A + I)/2 = [[.875,.125],[.25,.75]] (rows sum 1).
        let one = r.rollout(std::slice::from_ref(&a));
        assert!((one[[0, 0]] - 0.875).abs() < 1e-12 && (one[[1, 0]] - 0.25).abs() < 1e-12);
        let two = r.rollout(&[a.clone(), a]);
        let want = one.dot(&one);
        assert!(two.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-12));
        let max = AttentionRollout {
            head_fusion: HeadFusion::Max,
            discard_ratio: 0.0,
            tokens: None,
        };
        let a = array![[[0.5f32, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]];
        // Max over heads [[1,.5],[1,1]] + I → rows renormalised: [[2,.5]/2.5, [1,2]/3].
        let m = max.rollout(&[a]);
        assert!((m[[0, 0]] - 0.8).abs() < 1e-12 && (m[[1, 1]] - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn discard_ratio_is_checked() {
        let mut v = std::collections::BTreeMap::new();
        v.insert("discard_ratio".into(), crate::ParamValue::Float(1.0));
        assert!(AttentionRollout::from_params(&Params::new(NAME, v)).is_err());
    }
}
