//! What a class's output is worth: softmax and [`Score`], shared by the perturbation methods
//! (lantern-explain), the metrics (lantern-metrics) and the binary. It lives here, the lowest
//! crate all of them depend on, because it is about the model's logits.

use ndarray::{Array1, ArrayView1, ArrayViewMut1};

/// Which number of the model's output a method or metric records for the target class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// Softmax probability of the target (RISE, Grad-CAM++ and Score-CAM use this).
    #[default]
    Probability,
    /// The raw logit of the target.
    Logit,
}

impl Score {
    /// The score of class `target` in one logits row.
    pub fn of(self, logits: ArrayView1<f32>, target: usize) -> f32 {
        match self {
            Score::Logit => logits[target],
            Score::Probability => softmax(logits)[target],
        }
    }
}

/// Softmax over a logits row (numerically stable; f32 throughout).
pub fn softmax(logits: ArrayView1<f32>) -> Array1<f32> {
    let mut probabilities = logits.to_owned();
    softmax_in_place(probabilities.view_mut());
    probabilities
}

/// [`softmax`] overwriting its input (e.g. each row of a batch of logits).
pub fn softmax_in_place(mut row: ArrayViewMut1<f32>) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.mapv_inplace(|v| (v - max).exp());
    let sum = row.sum();
    row /= sum;
}

/// Softmax of f32 scores with the exponentials and their sum in f64, rounded at the end
/// (Score-CAM's channel weights, whose scores can be close: f64 keeps small differences).
pub fn softmax_f64(scores: &[f32]) -> Array1<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = scores.iter().map(|&s| f64::from(s - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}
