//! RISE (Petsiuk et al. 2018) following the authors' reference code (`explanations.py`,
//! class `RISE`):
//! - `masks` N (4000) random binary grids of `cells`×`cells` (s = 7) cells, each cell 1 with
//!   probability `p` (0.5);
//! - each grid upsampled bilinearly (skimage `resize(order=1, mode='reflect',
//!   anti_aliasing=False)`: half-pixel centres, mirror at the borders) to `(s+1)·cell` with
//!   `cell = ceil(H/s)` (and W), then cropped at a random shift `(x, y)` ∈ `[0, cell)²` to H×W;
//! - the model sees `M_i ⊙ x` (the mask on every channel of the model input), the score of the
//!   target is its softmax PROBABILITY (the reference wraps the model in `Softmax`; `score =
//!   logit` is offered);
//! - saliency = `Σ_i score_i · M_i / N / p`, `[H,W]`.
//!
//! Masks are drawn from Lantern's SplitMix64 (mask i uses stream i of `ctx.seed`: its grid
//! cells in row-major order, then the row shift, then the column shift) instead of numpy's
//! global generator, and are generated batch by batch instead of stored (4000 masks of 224² would
//! be 800 MB). Masked images go to ONNX Runtime `ctx.batch_size` at a time; several targets
//! share the same forwards.

use crate::error::{ExplainError, Result};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes, Score};
use crate::params::Params;
use lantern_core::SplitMix64;
use ndarray::{Array2, Array3, Array4, ArrayView3, Axis, Zip, s};
use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct Rise {
    pub masks: usize,
    pub cells: usize,
    pub p: f64,
    pub score: Score,
}

impl Default for Rise {
    fn default() -> Self {
        Rise {
            masks: 4000,
            cells: 7,
            p: 0.5,
            score: Score::Probability,
        }
    }
}

/// Linear interpolation taps of skimage's order-1 resize with mode 'reflect' (= ndimage
/// 'mirror'): source `(d + 0.5)·in/out − 0.5`, neighbours mirrored about the edge pixels.
fn mirror_taps(input: usize, output: usize) -> Vec<(usize, usize, f64)> {
    let mirror = |i: i64| -> usize {
        if input == 1 {
            return 0;
        }
        let period = 2 * (input as i64 - 1);
        let mut j = i.rem_euclid(period);
        if j >= input as i64 {
            j = period - j;
        }
        j as usize
    };
    (0..output)
        .map(|d| {
            let src = (d as f64 + 0.5) * input as f64 / output as f64 - 0.5;
            let lo = src.floor();
            (mirror(lo as i64), mirror(lo as i64 + 1), src - lo)
        })
        .collect()
}

impl Rise {
    /// Parameters: `masks` (4000), `cells` (7), `p` (0.5), `score` = `probability` | `logit`.
    pub fn from_params(p: &Params) -> Result<Rise> {
        let d = Rise::default();
        let prob = p.f64_or("p", d.p)?;
        if !(prob > 0.0 && prob <= 1.0) {
            return Err(ExplainError::BadParam {
                method: "rise".into(),
                key: "p".into(),
                value: prob.to_string(),
                message: "must be in (0, 1]".into(),
            });
        }
        Ok(Rise {
            masks: p.positive_usize_or("masks", d.masks)?,
            cells: p.positive_usize_or("cells", d.cells)?,
            p: prob,
            score: match p.choice("score", &["probability", "logit"])? {
                "logit" => Score::Logit,
                _ => Score::Probability,
            },
        })
    }

    /// Mask `index` for an H×W input (values in [0, 1]).
    pub fn mask(&self, seed: u64, index: usize, height: usize, width: usize) -> Array2<f32> {
        let s = self.cells;
        let mut rng = SplitMix64::for_item(seed, index as u64);
        let grid =
            Array2::from_shape_fn(
                (s, s),
                |_| if rng.next_f64() < self.p { 1.0f64 } else { 0.0 },
            );
        let (cell_h, cell_w) = (height.div_ceil(s), width.div_ceil(s));
        let dx = rng.below_modulo(cell_h as u64) as usize;
        let dy = rng.below_modulo(cell_w as u64) as usize;
        let rows = mirror_taps(s, (s + 1) * cell_h);
        let cols = mirror_taps(s, (s + 1) * cell_w);
        // Horizontal pass over the cropped columns, then the vertical pass over cropped rows.
        let across = Array2::from_shape_fn((s, width), |(r, c)| {
            let (c0, c1, f) = cols[c + dy];
            grid[[r, c0]] * (1.0 - f) + grid[[r, c1]] * f
        });
        Array2::from_shape_fn((height, width), |(r, c)| {
            let (r0, r1, f) = rows[r + dx];
            (across[[r0, c]] * (1.0 - f) + across[[r1, c]] * f).clamp(0.0, 1.0) as f32
        })
    }
}

impl Method for Rise {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            passes_per_target: Some(Passes::new(self.masks, 0)),
            ..MethodInfo::new("rise", MapKind::Spatial)
        }
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let (c, h, w) = image.dim();
        let batch = ctx.batch_size.max(1).min(self.masks);
        let mut masks = Array3::<f32>::zeros((batch, h, w));
        let mut buffer = Array4::<f32>::zeros((batch, c, h, w));
        let mut sums = vec![Array2::<f64>::zeros((h, w)); targets.len()];
        for start in (0..self.masks).step_by(batch) {
            let n = batch.min(self.masks - start);
            masks
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(buffer.axis_iter_mut(Axis(0)).into_par_iter())
                .take(n)
                .enumerate()
                .for_each(|(i, (mut m, mut dst))| {
                    m.assign(&self.mask(ctx.seed, start + i, h, w));
                    for (mut dc, ic) in dst.outer_iter_mut().zip(image.outer_iter()) {
                        Zip::from(&mut dc)
                            .and(&ic)
                            .and(&m)
                            .for_each(|o, &x, &u| *o = u * x);
                    }
                });
            let logits = ctx.model.forward(buffer.slice(s![..n, .., .., ..]))?;
            for (sum, &t) in sums.iter_mut().zip(targets) {
                for (row, m) in logits.outer_iter().zip(masks.outer_iter()) {
                    let score = f64::from(self.score.of(row, t));
                    Zip::from(&mut *sum)
                        .and(&m)
                        .for_each(|acc, &v| *acc += score * f64::from(v));
                }
            }
        }
        let n = self.masks as f64;
        Ok(sums
            .into_iter()
            .map(|sum| {
                let map = sum.mapv(|v| (v / n / self.p) as f32);
                let mut e = Explanation::new(
                    map.into_dyn(),
                    Passes {
                        forward: self.masks,
                        backward: 0,
                    },
                );
                e.stats.insert("masks".into(), n);
                e
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_taps_reflect_about_edge_pixels() {
        // 7 → 256: the first output samples at −0.486, between mirrored index 1 and 0.
        let taps = mirror_taps(7, 256);
        let (lo, hi, f) = taps[0];
        assert_eq!((lo, hi), (1, 0));
        assert!((f - (1.0 - 0.486328125)).abs() < 1e-12);
        let (lo, hi, _) = taps[255];
        assert_eq!((lo, hi), (6, 5));
    }

    #[test]
    fn masks_are_deterministic_binary_blends() {
        let rise = Rise {
            masks: 10,
            ..Rise::default()
        };
        let a = rise.mask(3, 5, 224, 224);
        assert_eq!(a, rise.mask(3, 5, 224, 224));
        assert_ne!(a, rise.mask(3, 6, 224, 224));
        assert!(a.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Mean coverage over many masks ≈ p.
        let mean: f32 = (0..200)
            .map(|i| rise.mask(1, i, 224, 224).mean().unwrap())
            .sum::<f32>()
            / 200.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }
}
