//! Score-CAM (Wang et al. 2020), pytorch-grad-cam `ScoreCAM`:
//! - `U_k` = `A_k` upsampled to the input size with `nn.UpsamplingBilinear2d` (bilinear,
//!   **align_corners=True**), then `U_k ← (U_k − min U_k)/(max U_k − min U_k + 1e-8)`;
//! - `s_k = logit_t(x ⊙ U_k)` — the model input times the mask, forwards in batches of `batch`
//!   (32, the library's default here);
//! - `w = softmax_k(s)` over the raw logits (no baseline subtraction), `raw = relu(Σ_k w_k A_k)`.
//!
//! The masked forwards do not depend on the target, so several targets share them. Channels
//! whose activation is exactly zero everywhere give an exactly-zero mask and so the same
//! all-zero input: that input is run once and its score reused (the result is unchanged).

use super::base::{Cam, CamRule, LayerJob, RawCam};
use crate::error::Result;
use crate::method::Passes;
use crate::params::Params;
use crate::resize::bilinear_channels;
use lantern_runtime::softmax_f64;
use ndarray::{Array1, Array2, Array4, Axis, Zip, s};
use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct ScoreCam {
    /// Masked images per ONNX Runtime call.
    pub batch: usize,
}

impl Default for ScoreCam {
    fn default() -> Self {
        ScoreCam { batch: 32 }
    }
}

impl ScoreCam {
    /// Parameters: `layer` or `layers`, `batch` (32).
    pub fn from_params(p: &Params) -> Result<Cam<ScoreCam>> {
        let rule = ScoreCam {
            batch: p.positive_usize_or("batch", ScoreCam::default().batch)?,
        };
        Cam::new(rule, p)
    }
}

impl CamRule for ScoreCam {
    fn name(&self) -> &'static str {
        "scorecam"
    }

    fn needs_gradients(&self) -> bool {
        false
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        let a = job.activation(0);
        let (c, h, w) = job.image.dim();
        let k = a.shape()[0];
        // Channels to run: every channel that is not identically zero, plus one all-zero one.
        let dead: Vec<bool> = a
            .outer_iter()
            .map(|ak| ak.iter().all(|&v| v == 0.0))
            .collect();
        let first_dead = dead.iter().position(|&d| d);
        let run: Vec<usize> = (0..k)
            .filter(|&i| !dead[i] || Some(i) == first_dead)
            .collect();
        let batch = self.batch.min(run.len()).max(1);
        let mut buffer = Array4::<f32>::zeros((batch, c, h, w));
        let mut logits_of = vec![None::<usize>; k];
        let mut rows: Vec<Array1<f32>> = Vec::with_capacity(run.len());
        for chunk in run.chunks(batch) {
            // The chunk's masks only (all K at 224² would be 257 MB for MobileNetV2).
            let mut masks = bilinear_channels(a.select(Axis(0), chunk).view(), h, w, true);
            masks
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .for_each(|mut m| {
                    let (lo, hi) = m
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                            (lo.min(v), hi.max(v))
                        });
                    let range = hi - lo + 1e-8;
                    m.mapv_inplace(|v| (v - lo) / range);
                });
            buffer
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(masks.axis_iter(Axis(0)).into_par_iter())
                .for_each(|(mut dst, m)| {
                    for (mut dc, ic) in dst.outer_iter_mut().zip(job.image.outer_iter()) {
                        Zip::from(&mut dc)
                            .and(&ic)
                            .and(&m)
                            .for_each(|o, &x, &u| *o = x * u);
                    }
                });
            let logits = job
                .ctx
                .model
                .forward(buffer.slice(s![..chunk.len(), .., .., ..]))?;
            for (row, &ch) in logits.outer_iter().zip(chunk) {
                logits_of[ch] = Some(rows.len());
                rows.push(row.to_owned());
            }
        }
        let shared = first_dead.and_then(|i| logits_of[i]);
        let index: Vec<usize> = (0..k)
            .map(|i| logits_of[i].or(shared).expect("every channel scored"))
            .collect();
        let scores = Array2::from_shape_fn((k, job.ctx.model.classes), |(i, j)| rows[index[i]][j]);
        Ok(job
            .targets
            .iter()
            .map(|&t| {
                let s: Vec<f32> = scores.column(t).to_vec();
                let mut cam = RawCam::weighted(a, softmax_f64(&s));
                cam.passes = Passes {
                    forward: run.len(),
                    backward: 0,
                };
                cam.stats.insert("masked_forwards".into(), run.len() as f64);
                cam.stats.insert(
                    "dead_channels".into(),
                    dead.iter().filter(|&&d| d).count() as f64,
                );
                cam
            })
            .collect())
    }
}
