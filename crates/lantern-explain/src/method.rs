//! The one trait every attribution method implements, and what it returns.

use crate::error::{ExplainError, Result};
use lantern_runtime::Model;
use ndarray::{Array1, Array2, ArrayD, ArrayView1, ArrayView3};
use std::collections::BTreeMap;

pub use lantern_runtime::Score;

/// What a method may use besides the image: the model and work already done for this image.
pub struct Context<'a> {
    pub model: &'a Model,
    /// Logits of the unperturbed image, computed once by the caller and shared by every method
    /// (so no method re-runs the clean forward pass).
    pub logits: ArrayView1<'a, f32>,
    /// Images per ONNX Runtime call for batched work (occluded copies, noisy samples, masks).
    pub batch_size: usize,
    /// Seed for stochastic methods (SmoothGrad noise, RISE masks).
    pub seed: u64,
}

/// Forward and backward passes a map cost, counted in images (a batch of 64 counts 64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Passes {
    pub forward: usize,
    pub backward: usize,
}

/// A raw attribution map. Nothing here is normalised: display normalisation is for figures only.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// At input resolution: `[H,W]`, or `[C,H,W]` for methods whose channel detail matters.
    pub map: ArrayD<f32>,
    /// CAM methods: the map at layer resolution `[h,w]`.
    pub raw: Option<Array2<f32>>,
    /// CAM methods that weight channels: the per-channel weights `[K]` (pytorch-grad-cam's
    /// `get_cam_weights`; the first layer's when several are aggregated).
    pub weights: Option<Array1<f32>>,
    pub passes: Passes,
    /// Method-specific numbers worth a column (e.g. the integrated-gradients completeness gap).
    pub stats: BTreeMap<String, f64>,
}

impl Explanation {
    pub fn new(map: ArrayD<f32>, passes: Passes) -> Explanation {
        Explanation {
            map,
            raw: None,
            weights: None,
            passes,
            stats: BTreeMap::new(),
        }
    }

    /// The map as `[H,W]`: 2-D maps as they are, `[C,H,W]` maps reduced by max |·| over channels
    /// (the saliency convention), used where a ranking or figure needs one value per pixel.
    pub fn spatial(&self) -> Array2<f32> {
        match self.map.ndim() {
            2 => self.map.clone().into_dimensionality().expect("2-D"),
            3 => self
                .map
                .map_axis(ndarray::Axis(0), |c| {
                    c.iter().fold(0.0f32, |m, v| m.max(v.abs()))
                })
                .into_dimensionality()
                .expect("2-D"),
            _ => panic!("maps are [H,W] or [C,H,W]"),
        }
    }
}

pub trait Method: Send + Sync {
    /// The name used in configs, on the CLI and in file names (e.g. `gradcam++`).
    fn name(&self) -> &str;

    /// Explains one image (`[C,H,W]`, already preprocessed, NCHW order) for one target class.
    fn explain(&self, ctx: &Context, image: ArrayView3<f32>, target: usize) -> Result<Explanation>;

    /// Several targets of one image; methods that can share work across targets override this.
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        targets
            .iter()
            .map(|&t| self.explain(ctx, image, t))
            .collect()
    }

    /// Whether the method needs a gradient graph (so a model without gradient rules refuses it
    /// up front while the other methods still run).
    fn needs_gradients(&self) -> bool {
        false
    }
}

/// Checks a target against the model's class count.
pub fn check_target(ctx: &Context, target: usize) -> Result<()> {
    if target >= ctx.model.classes {
        return Err(ExplainError::TargetOutOfRange {
            target,
            classes: ctx.model.classes,
        });
    }
    Ok(())
}
