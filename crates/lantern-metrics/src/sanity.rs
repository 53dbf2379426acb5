//! Model parameter randomisation test (Adebayo et al., "Sanity Checks for Saliency Maps", 2018),
//! cascading from the top layer down.
//!
//! The parameterised layers come from `lantern_graph::parameter_layers` in topological order;
//! reversed, the first is the one nearest the logits. Step k randomises the top
//! `min(k·layers_step, L)` layers at once (`lantern_graph::randomise_initializers` with a filter
//! on their initializer names, one seed for the whole run so a layer keeps the same random
//! weights in every later step), builds the model, recomputes the map with the caller's
//! closure and compares it with the original map:
//! - Spearman rank correlation of the values and of the absolute values (the paper ranks
//!   absolute values for saliency-type maps; both are reported);
//! - SSIM of the min–max normalised maps: scikit-image `structural_similarity` with
//!   `gaussian_weights=True`, σ = 1.5, `use_sample_covariance=False`, `data_range=1`
//!   ([`crate::ssim::ssim`]).
//!
//! A faithful method's similarity falls as more layers are randomised.

use crate::cost::{Cost, Meter};
use crate::error::{MetricsError, Result, setting_error, shape_error};
use crate::rank::{minmax, spearman_maps};
use crate::ssim::ssim;
use lantern_runtime::Model;
use ndarray::{Array2, ArrayView2};
use std::collections::HashSet;

const METRIC: &str = "sanity check";

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SanitySettings {
    /// Layers added to the randomised block per step (1 = every layer, as in the paper).
    pub layers_step: usize,
    /// Stop once this many layers (from the top) are randomised; `None` = all of them.
    pub max_layers: Option<usize>,
    /// Seed of the random weights.
    pub seed: u64,
}

impl Default for SanitySettings {
    fn default() -> Self {
        SanitySettings {
            layers_step: 1,
            max_layers: None,
            seed: 0,
        }
    }
}

/// The map after randomising the top `layers_randomised` layers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SanityStep {
    pub layers_randomised: usize,
    /// The lowest layer randomised so far (the paper labels its plots by it).
    pub down_to: String,
    pub spearman: f64,
    pub spearman_abs: f64,
    pub ssim: f64,
    /// Building the model plus recomputing the map (passes as the closure reports none: the
    /// caller knows its method's passes).
    pub cost: Cost,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SanityResult {
    /// The parameterised layers, top (nearest the logits) first.
    pub layers: Vec<String>,
    pub steps: Vec<SanityStep>,
    pub settings: SanitySettings,
    pub cost: Cost,
}

/// Similarities between an original map and a recomputed one: (Spearman, Spearman of
/// |values|, SSIM of the min–max normalised maps).
pub fn compare_maps(original: ArrayView2<f32>, other: ArrayView2<f32>) -> (f64, f64, f64) {
    let a = minmax(original);
    let b = minmax(other);
    (
        spearman_maps(original, other, false),
        spearman_maps(original, other, true),
        ssim(a.view(), b.view(), 1.0),
    )
}

/// The parameterised layers of `model`, top first: (layer name, its initializer names).
pub fn layers_top_first(model: &Model) -> Vec<(String, Vec<String>)> {
    let mut layers = lantern_graph::parameter_layers(&model.proto);
    layers.reverse();
    layers
}

/// `model` with the named initializers replaced by seeded random values (each tensor's values
/// depend only on the seed and its name, so a layer keeps its random weights as more join).
pub fn randomised_model(model: &Model, initializers: &HashSet<String>, seed: u64) -> Result<Model> {
    let mut proto = model.proto.clone();
    lantern_graph::randomise_initializers(&mut proto, seed, |name| initializers.contains(name));
    let bytes = lantern_graph::encode_model(&proto);
    let label = model
        .path
        .with_extension(format!("randomised-{}.onnx", initializers.len()));
    Ok(Model::from_bytes(model.runtime, &label, &bytes)?)
}

/// Cascading randomisation of `model` from the top. `original` is the map of the intact model
/// (`[H,W]`, as `recompute` returns it); `recompute` makes the same map with another model.
pub fn cascading_randomisation<F, E>(
    model: &Model,
    original: ArrayView2<f32>,
    settings: &SanitySettings,
    mut recompute: F,
) -> Result<SanityResult>
where
    F: FnMut(&Model) -> std::result::Result<Array2<f32>, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let meter = Meter::start();
    if settings.layers_step == 0 {
        return Err(setting_error(METRIC, "layers_step must be at least 1"));
    }
    let layers = layers_top_first(model);
    if layers.is_empty() {
        return Err(setting_error(
            METRIC,
            format!("{} has no parameterised layers to randomise", model.label()),
        ));
    }
    let limit = settings
        .max_layers
        .unwrap_or(layers.len())
        .min(layers.len());
    let mut steps = Vec::new();
    let mut chosen: HashSet<String> = HashSet::new();
    let mut done = 0;
    while done < limit {
        let step_meter = Meter::start();
        let next = (done + settings.layers_step).min(limit);
        for (_, inits) in &layers[done..next] {
            chosen.extend(inits.iter().cloned());
        }
        done = next;
        let random = randomised_model(model, &chosen, settings.seed)?;
        let map = recompute(&random).map_err(|e| MetricsError::Map {
            metric: METRIC,
            source: e.into(),
        })?;
        if map.dim() != original.dim() {
            return Err(shape_error(
                METRIC,
                format!(
                    "the recomputed map is {:?} but the original is {:?}",
                    map.shape(),
                    original.shape()
                ),
            ));
        }
        let (spearman, spearman_abs, ssim) = compare_maps(original, map.view());
        steps.push(SanityStep {
            layers_randomised: done,
            down_to: layers[done - 1].0.clone(),
            spearman,
            spearman_abs,
            ssim,
            cost: step_meter.finish(),
        });
    }
    Ok(SanityResult {
        layers: layers.into_iter().map(|(name, _)| name).collect(),
        steps,
        settings: *settings,
        cost: meter.finish(),
    })
}
