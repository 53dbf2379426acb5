//! Ablation-CAM (Desai & Ramaswamy 2020), pytorch-grad-cam 1.5.x `AblationCAM`:
//! for each channel k, replace channel k of the layer tensor A and re-run the rest of the
//! network; `w_k = (y − y_k)/y` with `y` the clean target logit and `y_k` the ablated one;
//! `raw = relu(Σ_k w_k A_k)`.
//!
//! The replacement value follows the library's `AblationLayer`: 0 when `min(A) == 0` (the usual
//! case after a ReLU/ReLU6); otherwise `min − 1e7`, and — as in the library, whose minimum is
//! taken over the batch being ablated after the earlier rows were already modified — row `i` of a
//! batch gets `min − (i+1)·1e7` (f32). Channels are ablated `batch` (32, the library's default)
//! at a time, so that quirk matches too. All channels are ablated (`ratio_channels_to_ablate`
//! = 1.0, the library default; the other ratios are not offered).
//!
//! On token and channels-last layers the channel is ablated in the layer tensor as the model has
//! it, as the library's `AblationLayerVit` does: channel k of every token (the class token too),
//! with the minimum taken over all of them; the weights then multiply the grid ([`crate::tokens`]).
//!
//! "Re-run the rest of the network" uses a tail session ([`super::tail`]) that takes the layer
//! tensor as its input: the exact computation, at a fraction of a full forward pass per channel.
//! The ablated runs do not depend on the target, so several targets share them. Passes count
//! the tail runs as forwards.

use super::base::{Cam, CamRule, LayerJob, RawCam};
use super::tail::TailSession;
use crate::error::Result;
use crate::method::Passes;
use crate::params::Params;
use crate::tokens::Layout;
use lantern_core::Memo;
use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use std::sync::Arc;

pub struct AblationCam {
    pub batch: usize,
    /// Tail sessions built so far, per (model hash, layer).
    tails: Memo<(String, String), TailSession>,
}

impl Default for AblationCam {
    fn default() -> Self {
        AblationCam {
            batch: 32,
            tails: Memo::default(),
        }
    }
}

impl AblationCam {
    /// Parameters: `layer` or `layers`, `batch` (32).
    pub fn from_params(p: &Params) -> Result<Cam<AblationCam>> {
        let rule = AblationCam {
            batch: p.positive_usize_or("batch", 32)?,
            ..AblationCam::default()
        };
        Cam::new(rule, p)
    }

    fn tail(&self, job: &LayerJob, dims: &[usize]) -> Result<Arc<TailSession>> {
        let key = (job.ctx.model.hash.clone(), job.layer.to_string());
        self.tails
            .get_or_try_build(key, || TailSession::build(job.ctx.model, job.layer, dims))
    }

    /// The layer tensor the tail takes (one image) and its channel axis: the `[K,h,w]` grid for
    /// channels-first layers, else the model's own tensor with the channels last.
    fn layer_tensor<'j>(job: &'j LayerJob) -> (ArrayViewD<'j, f32>, usize) {
        match (job.layout, job.native) {
            (Layout::ChannelsLast | Layout::Tokens { .. }, Some(native)) => {
                (native.view(), native.ndim() - 1)
            }
            _ => (job.activation(0).into_dyn(), 0),
        }
    }

    /// Logits `[K, classes]` with channel k ablated in row k.
    pub fn ablated_logits(&self, job: &LayerJob) -> Result<Array2<f32>> {
        let (a, channel_axis) = Self::layer_tensor(job);
        let k = a.shape()[channel_axis];
        let tail = self.tail(job, a.shape())?;
        let min = a.iter().copied().fold(f32::INFINITY, f32::min);
        let batch = self.batch.min(k).max(1);
        let mut dims = vec![batch];
        dims.extend_from_slice(a.shape());
        let mut buffer = ArrayD::<f32>::zeros(IxDyn(&dims));
        let mut rows = Array2::<f32>::zeros((k, job.ctx.model.classes));
        for start in (0..k).step_by(batch) {
            let n = batch.min(k - start);
            let mut value = min;
            for i in 0..n {
                let mut row = buffer.index_axis_mut(Axis(0), i);
                row.assign(&a);
                value = if min == 0.0 { 0.0 } else { value - 1e7 };
                row.index_axis_mut(Axis(channel_axis), start + i)
                    .fill(value);
            }
            let logits = tail.run(buffer.slice_axis(Axis(0), Slice::from(..n)), job.image)?;
            rows.slice_axis_mut(Axis(0), Slice::from(start..start + n))
                .assign(&logits);
        }
        Ok(rows)
    }
}

impl CamRule for AblationCam {
    fn name(&self) -> &'static str {
        "ablationcam"
    }

    fn needs_gradients(&self) -> bool {
        false
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        let a = job.activation(0);
        let ablated = self.ablated_logits(job)?;
        let k = a.shape()[0];
        Ok(job
            .targets
            .iter()
            .map(|&t| {
                let y = job.ctx.logits[t];
                let weights: Array1<f32> = ablated.column(t).mapv(|yk| (y - yk) / y);
                let mut cam = RawCam::weighted(a, weights);
                cam.passes = Passes {
                    forward: k,
                    backward: 0,
                };
                cam
            })
            .collect())
    }
}
