//! What the metrics need from a model: logits for a batch of images. `lantern_runtime::Model`
//! is the real one; any closure `Fn(ArrayView4<f32>) -> Result<Array2<f32>>` also qualifies, so
//! a metric's protocol can be checked against a scoring function with a known answer.

use crate::error::Result;
use ndarray::{Array2, ArrayView4};

/// A batch of NCHW images in, one row of logits per image out.
pub trait Classifier {
    fn logits(&self, batch: ArrayView4<f32>) -> Result<Array2<f32>>;
}

impl Classifier for lantern_runtime::Model {
    fn logits(&self, batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        Ok(self.forward(batch)?)
    }
}

impl<F> Classifier for F
where
    F: Fn(ArrayView4<f32>) -> Result<Array2<f32>>,
{
    fn logits(&self, batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        self(batch)
    }
}

/// A two-class test classifier: logit 0 is `score` of each `[C,H,W]` image, logit 1 is 0.
#[cfg(test)]
pub(crate) fn two_class(
    score: impl Fn(ndarray::ArrayView3<f32>) -> f32,
) -> impl Fn(ArrayView4<f32>) -> Result<Array2<f32>> {
    move |batch| {
        let mut out = Array2::zeros((batch.shape()[0], 2));
        for (mut row, image) in out.outer_iter_mut().zip(batch.outer_iter()) {
            row[0] = score(image);
        }
        Ok(out)
    }
}

pub use lantern_runtime::Score;

/// Checks `target` against the width of a logits row.
pub(crate) fn check_target(metric: &'static str, target: usize, classes: usize) -> Result<()> {
    if target >= classes {
        return Err(crate::error::setting_error(
            metric,
            format!("target class {target} is out of range: the model has {classes} classes"),
        ));
    }
    Ok(())
}
