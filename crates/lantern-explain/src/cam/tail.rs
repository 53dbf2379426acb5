//! A "tail" session: the part of the model from one layer tensor to the logits, fed with a
//! replacement for that tensor. Ablation-CAM needs it (pytorch-grad-cam replaces the layer's
//! output and re-runs the rest of the network). The graph is `lantern-graph`'s
//! [`feed_tensor`] cut (the image input stays where another path still reads it, fed with the
//! image repeated), run as a `lantern-runtime` [`GraphSession`]; so running the tail on the
//! unmodified activations gives the model's own logits.

use crate::error::{ExplainError, Result};
use lantern_graph::surgery::feed_tensor;
use lantern_runtime::{GraphSession, Layout, Model};
use ndarray::{Array2, Array4, ArrayView3, ArrayViewD, Axis};

pub struct TailSession {
    layer: String,
    image_input: Option<String>,
    layout: Layout,
    /// Run one row per call (a static-batch model run one by one, `lantern_runtime::BatchMode`).
    one_by_one: bool,
    session: GraphSession,
}

fn fail(message: String) -> ExplainError {
    ExplainError::Failed {
        method: "tail session".into(),
        message,
    }
}

impl TailSession {
    /// The tail from `layer` (of per-image shape `dims`, e.g. `[K,h,w]` or `[T,C]`) to the logits.
    pub fn build(model: &Model, layer: &str, dims: &[usize]) -> Result<TailSession> {
        let fed = feed_tensor(&model.proto, layer, dims).map_err(|e| fail(e.to_string()))?;
        let label = format!("{} (tail from {layer})", model.label());
        Ok(TailSession {
            layer: layer.to_string(),
            image_input: fed.image_input,
            layout: model.input.layout,
            one_by_one: model.batch_mode.one_by_one(),
            session: GraphSession::new(model.runtime, &fed.model, &label)?,
        })
    }

    /// Logits `[N, classes]` for replacement activations `[N, dims…]` of `image` (`[C,H,W]`).
    pub fn run(&self, activations: ArrayViewD<f32>, image: ArrayView3<f32>) -> Result<Array2<f32>> {
        if self.one_by_one && activations.shape()[0] > 1 {
            let rows: Vec<Array2<f32>> = activations
                .axis_chunks_iter(Axis(0), 1)
                .map(|one| self.run_once(one, image))
                .collect::<Result<_>>()?;
            let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
            return Ok(ndarray::concatenate(Axis(0), &views).expect("rows of equal width"));
        }
        self.run_once(activations, image)
    }

    fn run_once(
        &self,
        activations: ArrayViewD<f32>,
        image: ArrayView3<f32>,
    ) -> Result<Array2<f32>> {
        let n = activations.shape()[0];
        let batch: Option<Array4<f32>> = self.image_input.as_ref().map(|_| {
            let img = match self.layout {
                Layout::Nchw => image.to_owned(),
                Layout::Nhwc => image
                    .permuted_axes([1, 2, 0])
                    .as_standard_layout()
                    .into_owned(),
            };
            let (d0, d1, d2) = img.dim();
            img.insert_axis(Axis(0))
                .broadcast((n, d0, d1, d2))
                .expect("broadcast over the batch")
                .to_owned()
        });
        let mut inputs = vec![(self.layer.as_str(), activations)];
        if let (Some(name), Some(batch)) = (&self.image_input, &batch) {
            inputs.push((name.as_str(), batch.view().into_dyn()));
        }
        let logits = self.session.run(&inputs)?.swap_remove(0);
        let classes = logits.len() / n.max(1);
        logits
            .into_shape_with_order((n, classes))
            .map_err(|e| fail(format!("unexpected tail output shape: {e}")))
    }
}
