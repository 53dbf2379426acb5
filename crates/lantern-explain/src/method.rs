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

/// What a method's map holds, for figures and rankings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// One value per pixel, `[H,W]`.
    Spatial,
    /// One value per input channel and pixel, `[C,H,W]` (reduced by max |·| where one value
    /// per pixel is needed, see [`Explanation::spatial`]).
    PerChannel,
}

/// The facts about a method that the rest of Lantern asks for, kept with the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The name used in configs, on the CLI and in file names (e.g. `gradcam++`).
    pub name: &'static str,
    /// Whether the method needs a gradient graph (so a model without gradient rules refuses it
    /// up front while the other methods still run).
    pub needs_gradients: bool,
    /// Whether the map is signed (a diverging colour map in figures).
    pub signed: bool,
    /// Whether the method explains at a layer and so takes the experiment's `model.layer`.
    /// A layer method that needs gradients runs one backward pass per target through the graph
    /// stopped at the layer; any other backward passes it makes are input gradients.
    pub takes_layer: bool,
    pub map: MapKind,
    /// The passes one target costs, where the parameters alone fix them (`None`: they depend on
    /// the image or the model, e.g. occlusion windows or Ablation-CAM's channels).
    pub passes_per_target: Option<Passes>,
}

impl MethodInfo {
    /// A method of `map` kind that needs no gradients, no layer and gives unsigned maps; the
    /// other facts are set with struct update syntax.
    pub const fn new(name: &'static str, map: MapKind) -> MethodInfo {
        MethodInfo {
            name,
            needs_gradients: false,
            signed: false,
            takes_layer: false,
            map,
            passes_per_target: None,
        }
    }
}

impl Passes {
    pub const fn new(forward: usize, backward: usize) -> Passes {
        Passes { forward, backward }
    }
}

/// An attribution method. Implementors write [`Method::info`] and [`Method::explain_targets`];
/// callers use [`Method::explain`] (one target) or [`Method::explain_many`], which check the
/// image and targets once before the method sees them.
pub trait Method: Send + Sync {
    fn info(&self) -> MethodInfo;

    /// The maps of several targets of one image (`[C,H,W]`, already preprocessed, NCHW order),
    /// in the order of `targets`; the image and targets are already checked. Methods share work
    /// across targets here (one gradient batch, one set of occluded forwards).
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>>;

    /// The one gradient graph this method runs for every image, for methods that run exactly
    /// one (the input-gradient methods). `lantern explain` of a few images builds it first
    /// and takes their logits from it too, rather than building a forward session as well.
    fn gradient_spec(&self) -> Option<lantern_runtime::GradientSpec> {
        None
    }

    /// The name used in configs, on the CLI and in file names (e.g. `gradcam++`).
    fn name(&self) -> &str {
        self.info().name
    }

    /// [`Method::explain_targets`] after checking the image and every target.
    fn explain_many(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        for &t in targets {
            check_target(ctx, t)?;
        }
        check_image(ctx, image)?;
        self.explain_targets(ctx, image, targets)
    }

    /// Explains one image for one target class.
    fn explain(&self, ctx: &Context, image: ArrayView3<f32>, target: usize) -> Result<Explanation> {
        Ok(self.explain_many(ctx, image, &[target])?.remove(0))
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

/// The image must have the model's `[C,H,W]`.
pub fn check_image(ctx: &Context, image: ArrayView3<f32>) -> Result<()> {
    let s = ctx.model.input;
    if image.dim() != (s.channels, s.height, s.width) {
        return Err(ExplainError::Failed {
            method: "input".into(),
            message: format!(
                "image has shape {:?} but the model takes [{}, {}, {}] (CHW)",
                image.shape(),
                s.channels,
                s.height,
                s.width
            ),
        });
    }
    Ok(())
}
