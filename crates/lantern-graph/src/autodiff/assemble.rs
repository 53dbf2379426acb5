//! The gradient graph from the sweep's result: the forward nodes something still reads, the
//! backward nodes, the `input`/`seed` inputs, and only the initializers and value infos in use.

use super::sweep::Backward;
use crate::ir::{self, make_node};
use crate::proto::{ModelProto, NodeProto, ValueInfoProto};
use std::collections::HashSet;

/// Puts the gradient graph together; the model keeps the upgraded opset and metadata.
pub(super) fn assemble_model(b: Backward) -> ModelProto {
    let Backward {
        mut ctx,
        outputs,
        mut model,
        mut graph,
        image,
        logits,
        layers,
        classes,
    } = b;
    let forward = std::mem::take(&mut ctx.forward);
    let exported: HashSet<&str> = outputs.iter().filter_map(|o| o.name.as_deref()).collect();
    ctx.nodes = live_backward(std::mem::take(&mut ctx.nodes), &exported);
    let keep = still_read(&forward, &ctx.nodes, &logits, &layers);
    let mut nodes: Vec<NodeProto> = Vec::new();
    // The image enters as `input`; the forward graph reads it under its own name.
    if image.name != "input" {
        nodes.push(make_node(
            "Identity",
            &["input"],
            &[&image.name],
            "lantern/input",
            vec![],
        ));
    }
    nodes.extend(
        forward
            .into_iter()
            .zip(keep)
            .filter_map(|(n, k)| k.then_some(n)),
    );
    nodes.append(&mut ctx.nodes);

    // Inputs: the image as `input`, the seed, and any other non-initializer inputs as they were.
    let inits = ir::initializer_names(&graph);
    let mut inputs = Vec::new();
    let mut input = image.info.clone();
    input.name = Some("input".into());
    inputs.push(input);
    let batch_dim: Option<i64> = image
        .dims
        .as_ref()
        .and_then(|d| d.first().copied().flatten());
    let batch_sym = first_dim_param(&image.info).unwrap_or_else(|| "N".into());
    inputs.push(ir::value_info(
        "seed",
        image.dtype,
        Some(&[batch_dim, Some(classes)]),
        &batch_sym,
    ));
    for v in &graph.input {
        if let Some(n) = &v.name
            && *n != image.name
            && !inits.contains(n)
        {
            inputs.push(v.clone());
        }
    }

    // Initializers that are still read.
    let mut read: HashSet<String> = HashSet::new();
    for n in &nodes {
        read.extend(ir::node_reads(n));
    }
    let mut initializer: Vec<_> = std::mem::take(&mut graph.initializer)
        .into_iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| read.contains(n)))
        .collect();
    initializer.extend(
        std::mem::take(&mut ctx.inits)
            .into_iter()
            .filter(|t| t.name.as_ref().is_some_and(|n| read.contains(n))),
    );
    let value_info: Vec<ValueInfoProto> = std::mem::take(&mut graph.value_info)
        .into_iter()
        .filter(|v| {
            v.name
                .as_ref()
                .is_some_and(|n| read.contains(n) || nodes.iter().any(|x| x.output.contains(n)))
        })
        .collect();

    graph.node = nodes;
    graph.input = inputs;
    graph.output = outputs;
    graph.initializer = initializer;
    graph.value_info = value_info;
    graph.name = Some(format!(
        "{}_gradient",
        graph.name.as_deref().unwrap_or("graph")
    ));
    model.graph = Some(graph);
    model
}

/// The backward nodes an output reads, directly or through other backward nodes (a rule's
/// output can be superseded, e.g. padded blocks the sweep concatenated instead of summing).
/// Backward nodes are emitted after their inputs, so one pass from the end suffices.
fn live_backward(backward: Vec<NodeProto>, exported: &HashSet<&str>) -> Vec<NodeProto> {
    let mut wanted: HashSet<String> = exported.iter().map(|s| s.to_string()).collect();
    let mut live = vec![false; backward.len()];
    for (i, n) in backward.iter().enumerate().rev() {
        if n.output.iter().any(|o| wanted.contains(o)) {
            live[i] = true;
            wanted.extend(ir::node_reads(n));
        }
    }
    backward
        .into_iter()
        .zip(live)
        .filter_map(|(n, l)| l.then_some(n))
        .collect()
}

/// Per forward node: whether the logits, the layers or a backward node read it (directly or
/// through other forward nodes).
fn still_read(
    forward: &[NodeProto],
    backward: &[NodeProto],
    logits: &str,
    layers: &[String],
) -> Vec<bool> {
    let mut wanted: HashSet<String> = HashSet::from([logits.to_string()]);
    wanted.extend(layers.iter().cloned());
    for n in backward {
        wanted.extend(ir::node_reads(n));
    }
    // Rules may have added outputs to forward nodes (MaxPool indices): index them afresh.
    ir::needed_nodes(forward, wanted).0
}

fn first_dim_param(vi: &ValueInfoProto) -> Option<String> {
    use crate::proto::{tensor_shape_proto::dimension::Value, type_proto};
    match vi.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => match t.shape.as_ref()?.dim.first()?.value.as_ref()? {
            Value::DimParam(p) => Some(p.clone()),
            Value::DimValue(_) => None,
        },
        _ => None,
    }
}
