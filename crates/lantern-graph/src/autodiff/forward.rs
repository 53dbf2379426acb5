//! The forward graph as the backward pass sees it: raised to [`MIN_OPSET`], its nodes in
//! topological order, and the image input whose element type every gradient takes.

use super::MIN_OPSET;
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::ir;
use crate::proto::tensor_proto::DataType;
use crate::proto::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use std::collections::HashMap;

/// The input the gradient is taken with respect to.
pub(super) struct Image {
    pub(super) info: ValueInfoProto,
    pub(super) name: String,
    /// Its element type (a float type), which the gradients share.
    pub(super) dtype: i32,
    pub(super) dims: Option<Vec<Option<i64>>>,
}

pub(super) struct Forward {
    /// The upgraded model without its graph (the gradient graph goes back in).
    pub(super) model: ModelProto,
    /// The upgraded graph; its inputs, initializers and value infos are reused, its nodes are
    /// superseded by `nodes`.
    pub(super) graph: GraphProto,
    pub(super) image: Image,
    /// The nodes in topological order.
    pub(super) nodes: Vec<NodeProto>,
    /// Index in `nodes` of each tensor's producer.
    pub(super) producer: HashMap<String, usize>,
    /// Static shapes at batch 1: the probe's, then initializers' and constants'.
    pub(super) shapes: HashMap<String, Vec<i64>>,
    pub(super) consts: HashMap<String, TensorProto>,
}

impl Forward {
    /// Whether `t` is the image input or a node's output.
    pub(super) fn has_tensor(&self, t: &str) -> bool {
        self.producer.contains_key(t) || t == self.image.name
    }
}

/// Raises the opset (rules are written against ≥ 17), finds the float image input and orders
/// the nodes so that the sweep can run backwards over them.
pub(super) fn prepare_forward(
    m: &ModelProto,
    shapes: &TensorShapes,
) -> Result<Forward, GraphError> {
    let mut model = m.clone();
    let mut shapes = shapes.0.clone();
    let opset = ir::default_opset(&model).max(MIN_OPSET);
    crate::opset::upgrade(&mut model, &mut shapes, opset)?;
    model.ir_version = Some(model.ir_version.unwrap_or(8).max(8));
    let graph = model
        .graph
        .take()
        .ok_or_else(|| GraphError::InvalidModel("the model has no graph".into()))?;

    let info = ir::image_input(&graph)
        .cloned()
        .ok_or_else(|| GraphError::InvalidModel("the graph has no input".into()))?;
    let name = info.name.clone().unwrap_or_default();
    let (dtype, dims) = ir::value_info_tensor(&info)
        .ok_or_else(|| GraphError::InvalidModel(format!("input {name} is not a tensor")))?;
    if !is_float(dtype) {
        return Err(GraphError::InvalidModel(format!(
            "input {name} has element type {dtype}; gradients need a float input"
        )));
    }

    let consts = ir::constants(&graph);
    for t in &graph.initializer {
        if let Some(n) = &t.name {
            shapes.entry(n.clone()).or_insert_with(|| t.dims.clone());
        }
    }
    for (n, t) in &consts {
        shapes.entry(n.clone()).or_insert_with(|| t.dims.clone());
    }

    let order = ir::topo_order(&graph);
    let nodes: Vec<NodeProto> = order.iter().map(|&i| graph.node[i].clone()).collect();
    let producer = ir::producers_of(&nodes);
    Ok(Forward {
        model,
        graph,
        image: Image {
            info,
            name,
            dtype,
            dims,
        },
        nodes,
        producer,
        shapes,
        consts,
    })
}

pub(super) fn is_float(dt: i32) -> bool {
    [
        DataType::Float,
        DataType::Double,
        DataType::Float16,
        DataType::Bfloat16,
    ]
    .iter()
    .any(|d| *d as i32 == dt)
}
