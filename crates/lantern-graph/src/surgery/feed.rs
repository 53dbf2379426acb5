//! Feeding a tensor: the model with one intermediate tensor turned into a graph input, keeping
//! only the nodes the output still needs (walking back from the output and stopping at the fed
//! tensor). Ablation-CAM feeds its layer with ablated copies this way (pytorch-grad-cam
//! replaces the layer's output and re-runs the rest of the network). Unlike a suffix cut at a
//! dominator, the tensor need not split the graph: where another path (a residual branch of a
//! transformer block, a `Shape` of the input) still reads the image, the image input stays, so
//! fed with the unmodified tensor and the image the result is the model's own output.

use super::cut::{GraphIndex, float_value_info};
use crate::GraphError;
use crate::ir;
use crate::proto::ModelProto;
use std::collections::{HashMap, HashSet};

/// A model with one tensor fed from outside.
pub struct FedModel {
    pub model: ModelProto,
    /// The image input, where the output still reads it besides the fed tensor.
    pub image_input: Option<String>,
}

/// `model` with `tensor` (per-image shape `dims`, any batch) as an input, producing the
/// model's first output.
pub fn feed_tensor(
    model: &ModelProto,
    tensor: &str,
    dims: &[usize],
) -> Result<FedModel, GraphError> {
    let ix = GraphIndex::new(model)?;
    let producer = *ix
        .producers
        .get(tensor)
        .ok_or_else(|| GraphError::InvalidModel(format!("no node produces tensor {tensor:?}")))?;
    let mut keep: Vec<usize> = Vec::new();
    let mut needs_image = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack = vec![ix.output.clone()];
    while let Some(t) = stack.pop() {
        if t == tensor || !seen.insert(t.clone()) {
            continue;
        }
        if t == ix.input {
            needs_image = true;
        } else if let Some(&p) = ix.producers.get(&t)
            && ix.image.contains(&t)
        {
            keep.push(p);
            stack.extend(ir::node_reads(&ix.graph.node[p]));
        }
    }
    keep.sort_unstable();
    keep.dedup();
    // The producer may stay for another of its outputs; its `tensor` output then goes by
    // another name, so the fed input is the only `tensor`.
    let mut replace = HashMap::new();
    if keep.contains(&producer) {
        let mut node = ix.graph.node[producer].clone();
        for o in node.output.iter_mut().filter(|o| o.as_str() == tensor) {
            *o = format!("{tensor}__lantern_replaced");
        }
        replace.insert(producer, node);
    }
    let fed_dims: Vec<Option<i64>> = std::iter::once(None)
        .chain(dims.iter().map(|&d| Some(d as i64)))
        .collect();
    let mut inputs = vec![float_value_info(tensor, Some(&fed_dims))];
    if needs_image {
        let image = ix
            .graph
            .input
            .iter()
            .find(|i| i.name.as_deref() == Some(ix.input.as_str()))
            .cloned()
            .unwrap_or_else(|| float_value_info(&ix.input, None));
        inputs.push(image);
    }
    let model = ix.sub_model(
        model,
        &keep,
        &replace,
        &HashSet::new(),
        inputs,
        std::slice::from_ref(&ix.output),
    )?;
    Ok(FedModel {
        model,
        image_input: needs_image.then(|| ix.input.clone()),
    })
}
