//! Occlusion sensitivity (Zeiler & Fergus 2014) with Captum's `Occlusion` convention
//! (captum/attr/_core/occlusion.py, via FeatureAblation):
//! - a window spans all channels; windows start at 0, stride, 2·stride, … and there are
//!   ⌈(H − window)/stride⌉ + 1 per axis, so the last window is clipped at the border and every
//!   pixel is covered at least once;
//! - each window sets its pixels to `baseline` (in model-input space) and records
//!   d = score(x) − score(x occluded);
//! - a pixel's value is the MEAN of d over the windows covering it (Σd / count).
//!
//! The clean score comes from the caller's logits (never re-run); occluded copies are built into
//! one pre-allocated batch buffer and sent to ONNX Runtime `batch_size` at a time, once for all
//! targets of an image.
//!
//! This file holds the convention and full re-inference; the `occlusion` method itself, which
//! picks full or incremental inference (and Krypton's approximations), is
//! [`crate::occlusion_method`].

use crate::error::Result;
use crate::method::{Context, Explanation, Passes, Score};
use crate::params::Params;
use ndarray::{Array2, Array4, ArrayView3, Axis, s};
use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct Occlusion {
    pub window: (usize, usize),
    pub stride: (usize, usize),
    pub baseline: f32,
    pub score: Score,
}

impl Default for Occlusion {
    fn default() -> Self {
        Occlusion {
            window: (32, 32),
            stride: (14, 14),
            baseline: 0.0,
            score: Score::Logit,
        }
    }
}

impl Occlusion {
    /// Parameters: `window` (or `window_h`/`window_w`), `stride` (or `stride_h`/`stride_w`),
    /// `baseline`, `score` = `logit` | `probability`.
    pub fn from_params(p: &Params) -> Result<Occlusion> {
        let d = Occlusion::default();
        let window = p.positive_usize_or("window", d.window.0)?;
        let stride = p.positive_usize_or("stride", d.stride.0)?;
        Ok(Occlusion {
            window: (
                p.positive_usize_or("window_h", window)?,
                p.positive_usize_or("window_w", window)?,
            ),
            stride: (
                p.positive_usize_or("stride_h", stride)?,
                p.positive_usize_or("stride_w", stride)?,
            ),
            baseline: p.f64_or("baseline", 0.0)? as f32,
            score: match p.choice("score", &["logit", "probability"])? {
                "probability" => Score::Probability,
                _ => Score::Logit,
            },
        })
    }

    /// The indices of every window of `image` `[C,H,W]` (all of [`Occlusion::windows`]).
    pub fn window_ids(&self, image: ArrayView3<f32>) -> Vec<usize> {
        let (_, h, w) = image.dim();
        (0..self.windows(h, w).len()).collect()
    }

    /// Window rectangles `(top, left, bottom, right)` (exclusive ends), row-major, Captum's count.
    pub fn windows(&self, height: usize, width: usize) -> Vec<(usize, usize, usize, usize)> {
        let count = |size: usize, win: usize, stride: usize| {
            if size <= win {
                1
            } else {
                (size - win).div_ceil(stride) + 1
            }
        };
        let (nh, nw) = (
            count(height, self.window.0, self.stride.0),
            count(width, self.window.1, self.stride.1),
        );
        let mut out = Vec::with_capacity(nh * nw);
        for i in 0..nh {
            for j in 0..nw {
                let (top, left) = (i * self.stride.0, j * self.stride.1);
                out.push((
                    top,
                    left,
                    (top + self.window.0).min(height),
                    (left + self.window.1).min(width),
                ));
            }
        }
        out
    }
}

impl Occlusion {
    /// The logits of every occluded copy `[windows, K]`, in [`Occlusion::windows`] order, by
    /// full re-inference in batches of `ctx.batch_size`.
    pub fn window_logits(&self, ctx: &Context, image: ArrayView3<f32>) -> Result<Array2<f32>> {
        self.window_logits_of(ctx, image, &self.window_ids(image))
    }

    /// The logits of the occluded copies `ids` (indices into [`Occlusion::windows`]) by full
    /// re-inference, as rows of a `[windows, K]` array whose other rows are zero.
    pub fn window_logits_of(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        ids: &[usize],
    ) -> Result<Array2<f32>> {
        let (c, h, w) = image.dim();
        let all = self.windows(h, w);
        let windows: Vec<_> = ids.iter().map(|&i| all[i]).collect();
        if windows.is_empty() {
            return Ok(Array2::zeros((all.len(), ctx.model.classes)));
        }
        let batch = ctx.batch_size.max(1).min(windows.len());
        let mut buffer = Array4::<f32>::zeros((batch, c, h, w));
        let mut rows = Vec::with_capacity(windows.len().div_ceil(batch));
        for chunk in windows.chunks(batch) {
            buffer
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(chunk.par_iter())
                .for_each(|(mut copy, &(t, l, b, r))| {
                    copy.assign(&image);
                    copy.slice_mut(s![.., t..b, l..r]).fill(self.baseline);
                });
            rows.push(
                ctx.model
                    .forward(buffer.slice(s![..chunk.len(), .., .., ..]))?,
            );
        }
        let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
        let run = ndarray::concatenate(Axis(0), &views).expect("rows of one model have one width");
        if ids.len() == all.len() {
            return Ok(run);
        }
        let mut out = Array2::zeros((all.len(), run.ncols()));
        for (row, &i) in run.outer_iter().zip(ids) {
            out.row_mut(i).assign(&row);
        }
        Ok(out)
    }

    /// The `[h, w]` map of `target` from the window logits: per pixel, the mean score drop of
    /// the windows covering it.
    pub fn map(
        &self,
        ctx: &Context,
        logits: &Array2<f32>,
        h: usize,
        w: usize,
        target: usize,
    ) -> Array2<f32> {
        let clean = self.score.of(ctx.logits, target);
        let mut total = Array2::<f32>::zeros((h, w));
        let mut count = Array2::<f32>::zeros((h, w));
        for ((t, l, b, r), row) in self.windows(h, w).into_iter().zip(logits.outer_iter()) {
            let d = clean - self.score.of(row, target);
            total.slice_mut(s![t..b, l..r]).mapv_inplace(|v| v + d);
            count.slice_mut(s![t..b, l..r]).mapv_inplace(|v| v + 1.0);
        }
        total / count
    }

    /// One explanation per target from window logits shared by all of them.
    pub fn explanations(
        &self,
        ctx: &Context,
        logits: &Array2<f32>,
        h: usize,
        w: usize,
        targets: &[usize],
    ) -> Vec<Explanation> {
        targets
            .iter()
            .map(|&t| {
                let mut e = Explanation::new(
                    self.map(ctx, logits, h, w, t).into_dyn(),
                    Passes {
                        forward: logits.nrows(),
                        backward: 0,
                    },
                );
                e.stats.insert("windows".into(), logits.nrows() as f64);
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captum_window_count_and_clipping() {
        let occ = Occlusion::default();
        let wins = occ.windows(224, 224);
        assert_eq!(wins.len(), 15 * 15);
        assert_eq!(
            wins[14],
            (0, 196, 32, 224),
            "last window clipped at the border"
        );
        // Every pixel is covered 1..=9 times.
        let mut cover = Array2::<u32>::zeros((224, 224));
        for (t, l, b, r) in wins {
            cover.slice_mut(s![t..b, l..r]).mapv_inplace(|v| v + 1);
        }
        assert_eq!(cover.iter().min(), Some(&1));
        assert_eq!(cover.iter().max(), Some(&9));
    }

    #[test]
    fn window_larger_than_image_is_one_window() {
        let occ = Occlusion {
            window: (64, 64),
            ..Default::default()
        };
        assert_eq!(occ.windows(28, 28), vec![(0, 0, 28, 28)]);
    }
}
