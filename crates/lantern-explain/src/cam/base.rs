//! The CAM base (pytorch-grad-cam's `BaseCAM`): capture the layer tensor `A` (`[K,h,w]`) and,
//! for gradient CAMs, `dA = ∂logit_t/∂A` ONCE per image — one gradient batch holding every
//! target (the image repeated, one one-hot seed per row), or one tap forward for gradient-free
//! CAMs — then ask the method's [`CamRule`] for the raw map of each target.
//!
//! Conventions (pytorch-grad-cam 1.5.x, `base_cam.py`):
//! - `raw` = the rule's `get_cam_image` followed by the library's ReLU, at layer resolution, NOT
//!   normalised;
//! - one layer: `map` = `raw` upsampled to the input size with torch bilinear,
//!   align_corners=False (the reference `grad-cam-up`), NOT normalised;
//! - several layers (`layers = "a,b"`): the library's `aggregate_multi_layers` without its
//!   final display normalisation: per layer `max(resize(minmax(raw_l)), 0)` at input size, then
//!   the mean over layers; `raw` and `weights` are the first layer's. (The library's returned
//!   map is `minmax` of this, which [`crate::resize::display_map`] reproduces.)
//! - the target score is the logit (`ClassifierOutputTarget`).
//!
//! The layer is `layer` (a tensor name, see `lantern layers`), default or `auto`
//! `Model::default_cam_layer()` (the last 4-D activation before global pooling; on vision
//! transformers the output of the last block's first norm, pytorch-grad-cam's
//! `blocks[-1].norm1`). Layer tensors are laid out as a `[N,K,h,w]` grid once, here, before any
//! rule sees them ([`crate::tokens`], pytorch-grad-cam's `reshape_transform`): CNN activations
//! as they are, channels-last `[N,H,W,C]` blocks (Swin, ConvNeXt) transposed, `[N,T,C]` tokens
//! without their leading class/distillation tokens (`tokens` = how many; default `T − g²`)
//! reshaped to `g×g`. Activations and gradients get the same reshape, so every weighting works
//! on token models unchanged.

use crate::error::{ExplainError, Result};
use crate::grad::{run_targets, spec};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use crate::resize::{bilinear, mean_maps};
use crate::tokens::{Layout, to_grid};
use lantern_core::normalise::minmax_grad_cam;
use lantern_graph::SpatialLayout;
use lantern_runtime::{GradientSpec, ReluRule};
use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView1, ArrayView2, ArrayView3, Axis, Zip};
use std::collections::BTreeMap;

/// What a rule sees for one layer: the image, the targets, and the captured tensors.
pub struct LayerJob<'a, 'c> {
    pub ctx: &'a Context<'c>,
    pub image: ArrayView3<'a, f32>,
    pub layer: &'a str,
    /// How the layer tensor was laid out as the `[K,h,w]` grids below.
    pub layout: Layout,
    pub targets: &'a [usize],
    /// `[K,h,w]`: one per target (gradient CAMs) or one shared by all (gradient-free CAMs).
    pub activations: &'a [Array3<f32>],
    /// `[K,h,w]` per target; empty for gradient-free CAMs.
    pub gradients: &'a [Array3<f32>],
    /// Gradient-free CAMs: the layer tensor of the image as the model has it (before the grid
    /// reshape; e.g. `[T,C]` with the class token), for rules that feed it back (Ablation-CAM).
    pub native: Option<&'a ArrayD<f32>>,
}

impl LayerJob<'_, '_> {
    /// `A` for target number `i`.
    pub fn activation(&self, i: usize) -> ArrayView3<'_, f32> {
        self.activations[i.min(self.activations.len() - 1)].view()
    }

    /// `dA` for target number `i` (gradient CAMs only).
    pub fn gradient(&self, i: usize) -> ArrayView3<'_, f32> {
        self.gradients[i].view()
    }

    /// Applies `f(A, dA)` to every target (gradient CAMs).
    pub fn per_target(
        &self,
        f: impl Fn(ArrayView3<f32>, ArrayView3<f32>) -> RawCam,
    ) -> Vec<RawCam> {
        (0..self.targets.len())
            .map(|i| f(self.activation(i), self.gradient(i)))
            .collect()
    }
}

/// One target's map at one layer.
#[derive(Debug, Clone)]
pub struct RawCam {
    /// `[h,w]` after the library's ReLU, not normalised.
    pub raw: Array2<f32>,
    /// The per-channel weights, for rules that have them (`get_cam_weights`).
    pub weights: Option<Array1<f32>>,
    /// Work beyond the capture (Score-CAM's masked forwards, Ablation-CAM's tail runs).
    pub passes: Passes,
    pub stats: BTreeMap<String, f64>,
}

impl RawCam {
    pub fn new(raw: Array2<f32>) -> RawCam {
        RawCam {
            raw,
            weights: None,
            passes: Passes::default(),
            stats: BTreeMap::new(),
        }
    }

    /// `relu(Σ_k w_k A_k)` with the weights kept.
    pub fn weighted(a: ArrayView3<f32>, weights: Array1<f32>) -> RawCam {
        let raw = weighted_sum(a, weights.view());
        RawCam {
            weights: Some(weights),
            ..RawCam::new(raw)
        }
    }
}

/// How a CAM method turns the captured tensors into raw maps.
pub trait CamRule: Send + Sync {
    /// The method name (registry, files).
    fn name(&self) -> &'static str;
    /// Whether the rule reads `dA` (gradient CAMs) or only `A`.
    fn needs_gradients(&self) -> bool {
        true
    }
    /// The passes one target costs where the parameters fix them: the capture alone for
    /// gradient CAMs; gradient-free rules that run more say so.
    fn passes_per_target(&self) -> Option<Passes> {
        self.needs_gradients().then_some(Passes::new(1, 1))
    }
    /// One [`RawCam`] per target, in the order of `job.targets`.
    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>>;
}

/// `relu(Σ_k w_k A_k)`, `[h,w]` (accumulated in f64).
pub fn weighted_sum(a: ArrayView3<f32>, w: ArrayView1<f32>) -> Array2<f32> {
    let (_, h, wd) = a.dim();
    let mut acc = Array2::<f64>::zeros((h, wd));
    for (ak, &wk) in a.outer_iter().zip(w) {
        let wk = f64::from(wk);
        Zip::from(&mut acc)
            .and(&ak)
            .for_each(|s, &v| *s += wk * f64::from(v));
    }
    acc.mapv(|v| (v as f32).max(0.0))
}

/// `w_k = f(A_k, dA_k)` for every channel, `[K]`.
pub fn channel_weights(
    a: ArrayView3<f32>,
    da: ArrayView3<f32>,
    f: impl Fn(ArrayView2<f32>, ArrayView2<f32>) -> f64,
) -> Array1<f32> {
    a.outer_iter()
        .zip(da.outer_iter())
        .map(|(ak, gk)| f(ak, gk) as f32)
        .collect()
}

/// `Σ_ij x_ij` in f64.
pub fn sum_f64(x: ArrayView2<f32>) -> f64 {
    x.iter().map(|&v| f64::from(v)).sum()
}

/// `relu(Σ_k M_k ⊙ A_k)`, `[h,w]` (accumulated in f64).
pub fn elementwise_sum(a: ArrayView3<f32>, m: ArrayView3<f32>) -> Array2<f32> {
    let (_, h, w) = a.dim();
    let mut acc = Array2::<f64>::zeros((h, w));
    for (ak, mk) in a.outer_iter().zip(m.outer_iter()) {
        Zip::from(&mut acc)
            .and(&ak)
            .and(&mk)
            .for_each(|s, &x, &y| *s += f64::from(x * y));
    }
    acc.mapv(|v| (v as f32).max(0.0))
}

/// A CAM method: the shared capture plus one rule.
pub struct Cam<R> {
    pub rule: R,
    /// `None`: the model's default CAM layer; `auto` in the list stands for it too.
    pub layers: Option<Vec<String>>,
    /// Leading non-spatial tokens of token layers (`tokens`); `None`: `T − g²`.
    pub tokens: Option<usize>,
}

/// Reads `layer` / `layers` (comma-separated); giving both is an error.
pub fn layers_param(method: &str, p: &Params) -> Result<Option<Vec<String>>> {
    let one = p.text("layer")?;
    let many = p.text("layers")?;
    match (one, many) {
        (Some(_), Some(_)) => Err(ExplainError::BadParam {
            method: method.into(),
            key: "layers".into(),
            value: "both".into(),
            message: "give either `layer` or `layers`, not both".into(),
        }),
        (Some(l), None) => Ok(Some(vec![l])),
        (None, Some(list)) => {
            let names: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if names.is_empty() {
                return Err(ExplainError::BadParam {
                    method: method.into(),
                    key: "layers".into(),
                    value: list,
                    message: "expected comma-separated tensor names".into(),
                });
            }
            Ok(Some(names))
        }
        (None, None) => Ok(None),
    }
}

/// The layer tensor in `layout` → one `[K,h,w]` grid per row.
fn rows_of(method: &str, layer: &str, t: ArrayD<f32>, layout: Layout) -> Result<Vec<Array3<f32>>> {
    let t = to_grid(t, layout).map_err(|e| ExplainError::Failed {
        method: method.into(),
        message: format!("layer {layer:?}: {e}"),
    })?;
    Ok(t.outer_iter().map(|v| v.to_owned()).collect())
}

/// Captured tensors of one layer.
struct Captured {
    layout: Layout,
    activations: Vec<Array3<f32>>,
    gradients: Vec<Array3<f32>>,
    native: Option<ArrayD<f32>>,
}

impl<R: CamRule> Cam<R> {
    /// Parameters: `layer` or `layers` (`auto`: the default layer), `tokens`.
    pub fn new(rule: R, p: &Params) -> Result<Cam<R>> {
        let layers = layers_param(rule.name(), p)?;
        let tokens = p.usize_opt("tokens")?;
        Ok(Cam {
            rule,
            layers,
            tokens,
        })
    }

    /// The layer names, `auto` resolved to the model's default CAM layer.
    pub fn layers(&self, ctx: &Context) -> Result<Vec<String>> {
        match &self.layers {
            Some(l) => l
                .iter()
                .map(|name| match name.as_str() {
                    "auto" => Ok(ctx.model.default_cam_layer()?),
                    _ => Ok(name.clone()),
                })
                .collect(),
            None => Ok(vec![ctx.model.default_cam_layer()?]),
        }
    }

    /// How `layer` becomes a grid: from the graph (see `lantern_graph::spatial_layout`), with
    /// `tokens` giving the leading non-spatial tokens of a token layer.
    pub fn layout(&self, ctx: &Context, layer: &str) -> Result<Layout> {
        let layout = match ctx.model.cam_layer_layout(layer)? {
            SpatialLayout::ChannelsFirst => Layout::ChannelsFirst,
            SpatialLayout::ChannelsLast => Layout::ChannelsLast,
            SpatialLayout::Tokens => Layout::Tokens { extra: self.tokens },
        };
        if let (Some(t), Layout::ChannelsFirst | Layout::ChannelsLast) = (self.tokens, layout) {
            return Err(ExplainError::BadParam {
                method: self.rule.name().into(),
                key: "tokens".into(),
                value: t.to_string(),
                message: format!(
                    "layer {layer:?} is a spatial [N,C,h,w]/[N,H,W,C] tensor; `tokens` applies to [N,T,C] token layers"
                ),
            });
        }
        Ok(layout)
    }

    /// A (and dA) of every layer; returns the capture's cost per target.
    fn capture(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        layers: &[String],
        targets: &[usize],
    ) -> Result<(Vec<Captured>, Passes)> {
        let name = self.rule.name();
        let mut captured: Vec<Captured> = layers
            .iter()
            .map(|layer| {
                Ok(Captured {
                    layout: self.layout(ctx, layer)?,
                    activations: Vec::new(),
                    gradients: Vec::new(),
                    native: None,
                })
            })
            .collect::<Result<_>>()?;
        if self.rule.needs_gradients() {
            // The backward pass stops at the layers: nothing below them is differentiated.
            let spec = GradientSpec {
                layers_only: true,
                ..spec(ReluRule::Plain, layers)
            };
            run_targets(ctx, &spec, image, targets, |_, mut g| {
                for (layer, c) in layers.iter().zip(captured.iter_mut()) {
                    let (a, da) = g.layers.remove(layer).ok_or_else(|| ExplainError::Failed {
                        method: name.into(),
                        message: format!("the gradient graph did not export layer {layer:?}"),
                    })?;
                    c.activations.extend(rows_of(name, layer, a, c.layout)?);
                    c.gradients.extend(rows_of(name, layer, da, c.layout)?);
                }
                Ok(())
            })?;
            Ok((captured, Passes::new(1, 1)))
        } else {
            let tapped = ctx
                .model
                .tap_session(layers)?
                .run(image.insert_axis(Axis(0)))?;
            let mut tensors = tapped.tensors;
            for (layer, c) in layers.iter().zip(captured.iter_mut()) {
                let a = tensors.remove(layer).ok_or_else(|| ExplainError::Failed {
                    method: name.into(),
                    message: format!("the tap session did not return layer {layer:?}"),
                })?;
                c.native = Some(a.index_axis(Axis(0), 0).to_owned());
                c.activations = rows_of(name, layer, a, c.layout)?;
            }
            Ok((captured, Passes::new(1, 0)))
        }
    }

    /// Raw maps `[target][layer]` and the capture cost per target.
    pub fn raw_cams(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<(Vec<Vec<RawCam>>, Passes)> {
        let layers = self.layers(ctx)?;
        let (captured, passes) = self.capture(ctx, image, &layers, targets)?;
        let mut per_target: Vec<Vec<RawCam>> = targets
            .iter()
            .map(|_| Vec::with_capacity(layers.len()))
            .collect();
        for (layer, c) in layers.iter().zip(&captured) {
            let job = LayerJob {
                ctx,
                image,
                layer,
                layout: c.layout,
                targets,
                activations: &c.activations,
                gradients: &c.gradients,
                native: c.native.as_ref(),
            };
            let cams = self.rule.layer_cams(&job)?;
            for (dst, cam) in per_target.iter_mut().zip(cams) {
                dst.push(cam);
            }
        }
        Ok((per_target, passes))
    }
}

/// The input-resolution map of one target from its per-layer raw maps (see the module doc).
pub fn input_map(cams: &[RawCam], height: usize, width: usize) -> Array2<f32> {
    if cams.len() == 1 {
        return bilinear(cams[0].raw.view(), height, width);
    }
    let scaled: Vec<Array2<f32>> = cams
        .iter()
        .map(|c| bilinear(minmax_grad_cam(c.raw.view()).view(), height, width).mapv(|v| v.max(0.0)))
        .collect();
    mean_maps(&scaled)
}

impl<R: CamRule> Method for Cam<R> {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            needs_gradients: self.rule.needs_gradients(),
            takes_layer: true,
            passes_per_target: self.rule.passes_per_target(),
            ..MethodInfo::new(self.rule.name(), MapKind::Spatial)
        }
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let (cams, capture) = self.raw_cams(ctx, image, targets)?;
        let (_, h, w) = image.dim();
        Ok(cams
            .into_iter()
            .map(|layers| {
                let map = input_map(&layers, h, w);
                let mut passes = capture;
                for c in &layers {
                    passes.forward += c.passes.forward;
                    passes.backward += c.passes.backward;
                }
                let first = layers.into_iter().next().expect("at least one layer");
                let mut e = Explanation::new(map.into_dyn(), passes);
                e.stats = first.stats;
                e.raw = Some(first.raw);
                e.weights = first.weights;
                e
            })
            .collect())
    }
}
