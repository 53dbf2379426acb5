//! Start-up of `lantern explain` on a few images, where building sessions costs more than the
//! work: a method that runs one gradient graph (saliency and the other input-gradient methods)
//! gets a model without a forward session, and the logits come from that gradient graph
//! (unless metrics score the maps).

use anyhow::Result;
use lantern_runtime::{Model, Runtime};
use std::path::Path;

/// Up to this many images, logits through the gradient graph (a backward pass more per image)
/// cost less than building a forward session: on MobileNetV2 a session costs 4–6 forward
/// passes, a backward pass about 1.5.
const FEW_IMAGES: usize = 2;

/// The model for explaining `images` images with `method`, their maps `scored` by metrics or
/// not: the metrics run forward passes of their own, dozens per map, which want the forward
/// session (each through the gradient graph would add a backward pass).
pub fn load_model_for(
    runtime: &'static Runtime,
    path: &Path,
    method: &dyn lantern_explain::Method,
    images: usize,
    scored: bool,
) -> Result<Model> {
    let few_passes = images <= FEW_IMAGES && !scored;
    let Some(spec) = method.gradient_spec().filter(|_| few_passes) else {
        return crate::pipeline::load_model(runtime, path);
    };
    crate::pipeline::check_model_file(path)?;
    let model = Model::load_deferred(runtime, path)?;
    model.forward_through_gradients(&spec)?;
    Ok(model)
}
