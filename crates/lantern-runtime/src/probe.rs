//! Static shapes of every tensor from ONE probe run of the forward graph with every tensor
//! exposed, at batch 1 (the gradient rules that need a batch size read it at run time with
//! Shape ops). Cached as JSON under the model's cache folder
//! (a checked file, see `cache_file`).

use crate::cache;
use crate::cache_file;
use crate::error::{Result, RuntimeError};
use crate::model::Model;
use crate::tap::TapSession;
use lantern_graph::TensorShapes;
use ndarray::Array4;
use std::collections::HashMap;

pub(crate) fn probe_shapes(model: &Model) -> Result<TensorShapes> {
    let path = cache::model_dir(&model.cache_key()).join("shapes.json.lc");
    if let Some(map) = cache_file::read_json_or_warn(&path, "tensor shapes") {
        return Ok(TensorShapes(map));
    }
    tracing::debug!(target: "lantern::cache", model = %model.label(), "probe run for tensor shapes");
    let exposed = lantern_graph::expose_all_tensors(&model.proto);
    let names: Vec<String> = exposed
        .graph
        .as_ref()
        .map(|g| g.output.iter().filter_map(|o| o.name.clone()).collect())
        .unwrap_or_default();
    let tap = TapSession::build(model, &names)?;
    let spec = model.input;
    let zeros = Array4::<f32>::zeros((1, spec.channels, spec.height, spec.width));
    let mut map: HashMap<String, Vec<i64>> = tap.output_shapes(zeros.view())?.into_iter().collect();
    map.insert(model.input_name.clone(), {
        let (c, h, w) = (spec.channels as i64, spec.height as i64, spec.width as i64);
        match spec.layout {
            crate::model::Layout::Nchw => vec![1, c, h, w],
            crate::model::Layout::Nhwc => vec![1, h, w, c],
        }
    });
    let json = serde_json::to_string(&map).map_err(|e| RuntimeError::Cache {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // A cache that cannot be written only costs a re-probe next time.
    let _ = cache_file::write(&path, json.as_bytes());
    Ok(TensorShapes(map))
}
