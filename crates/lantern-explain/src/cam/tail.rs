//! A "tail" session: the part of the model from one layer tensor to the logits, fed with a
//! replacement for that tensor. Ablation-CAM needs it (pytorch-grad-cam replaces the layer's
//! output and re-runs the rest of the network).
//!
//! Built by graph surgery on the model's own ONNX proto: the node producing the layer tensor
//! gets its output renamed away, the tensor becomes a graph input `[N, dims…]`, and only the
//! nodes the logits still need are kept (walking back from the output; a node that also needs
//! the image — e.g. a `Shape` of the input — keeps the image input, fed with the image repeated).
//! So running the tail on the unmodified activations gives the model's own logits.
//!
//! This belongs in `lantern-runtime` next to the tap and gradient sessions; it lives here until
//! the runtime offers one (it only uses the model's proto and `Runtime::session`).

use crate::error::{ExplainError, Result};
use lantern_graph::proto::tensor_shape_proto::{Dimension, dimension};
use lantern_graph::proto::{
    GraphProto, NodeProto, TensorShapeProto, TypeProto, ValueInfoProto, type_proto,
};
use lantern_runtime::{Layout, Model};
use ndarray::{Array2, Array4, ArrayView3, ArrayViewD, Axis, Ix2};
use ort::session::Session;
use ort::value::TensorRef;
use std::collections::HashSet;
use std::sync::Mutex;

pub struct TailSession {
    label: String,
    layer: String,
    image_input: Option<String>,
    layout: Layout,
    /// Run one row per call (a static-batch model run one by one, `lantern_runtime::BatchMode`).
    one_by_one: bool,
    session: Mutex<Session>,
}

fn fail(message: String) -> ExplainError {
    ExplainError::Failed {
        method: "tail session".into(),
        message,
    }
}

/// Every tensor name a node's subgraphs (If/Loop/Scan bodies) read, so their producers are kept.
fn subgraph_inputs(node: &NodeProto, needed: &mut HashSet<String>) {
    fn walk(g: &GraphProto, needed: &mut HashSet<String>) {
        for n in &g.node {
            needed.extend(n.input.iter().filter(|s| !s.is_empty()).cloned());
            subgraph_inputs(n, needed);
        }
    }
    for attr in &node.attribute {
        if let Some(g) = &attr.g {
            walk(g, needed);
        }
        for g in &attr.graphs {
            walk(g, needed);
        }
    }
}

fn float_input(name: &str, dims: &[usize]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        denotation: None,
        value: Some(dimension::Value::DimParam("batch".into())),
    }];
    dim.extend(dims.iter().map(|&d| Dimension {
        denotation: None,
        value: Some(dimension::Value::DimValue(d as i64)),
    }));
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        ..Default::default()
    }
}

impl TailSession {
    /// The tail from `layer` (of per-image shape `dims`, e.g. `[K,h,w]` or `[T,C]`) to the logits.
    pub fn build(model: &Model, layer: &str, dims: &[usize]) -> Result<TailSession> {
        let mut proto = model.proto.clone();
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| fail("the model has no graph".into()))?;
        let producer = graph
            .node
            .iter()
            .position(|n| n.output.iter().any(|o| o == layer))
            .ok_or_else(|| fail(format!("no node produces tensor {layer:?}")))?;
        for o in graph.node[producer]
            .output
            .iter_mut()
            .filter(|o| o.as_str() == layer)
        {
            *o = format!("{layer}__lantern_replaced");
        }
        let output = model.output_name.clone();
        let mut needed: HashSet<String> = HashSet::from([output.clone()]);
        let mut keep = vec![false; graph.node.len()];
        for (i, node) in graph.node.iter().enumerate().rev() {
            if node.output.iter().any(|o| needed.contains(o)) {
                keep[i] = true;
                needed.extend(node.input.iter().filter(|s| !s.is_empty()).cloned());
                subgraph_inputs(node, &mut needed);
            }
        }
        let nodes = std::mem::take(&mut graph.node);
        graph.node = nodes
            .into_iter()
            .zip(keep)
            .filter_map(|(n, k)| k.then_some(n))
            .collect();
        let named = |n: &Option<String>| {
            n.as_deref()
                .is_some_and(|n| needed.contains(n) && n != layer)
        };
        graph
            .output
            .retain(|o| o.name.as_deref() == Some(output.as_str()));
        graph
            .initializer
            .retain(|t| t.name.as_deref().is_some_and(|n| needed.contains(n)));
        graph.input.retain(|i| named(&i.name));
        graph.value_info.retain(|v| named(&v.name));
        graph.input.push(float_input(layer, dims));
        let image_input = needed
            .contains(&model.input_name)
            .then(|| model.input_name.clone());
        let bytes = lantern_graph::encode_model(&proto);
        let label = format!("{} (tail from {layer})", model.label());
        let (session, _) = model.runtime.session(&bytes, &label)?;
        Ok(TailSession {
            label,
            layer: layer.to_string(),
            image_input,
            layout: model.input.layout,
            one_by_one: model.batch_mode.one_by_one(),
            session: Mutex::new(session),
        })
    }

    /// Logits `[N, classes]` for replacement activations `[N, dims…]` of `image` (`[C,H,W]`).
    pub fn run(&self, activations: ArrayViewD<f32>, image: ArrayView3<f32>) -> Result<Array2<f32>> {
        if self.one_by_one && activations.shape()[0] > 1 {
            let rows: Vec<Array2<f32>> = activations
                .axis_chunks_iter(Axis(0), 1)
                .map(|one| self.run_once(one, image))
                .collect::<Result<_>>()?;
            let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
            return Ok(ndarray::concatenate(Axis(0), &views).expect("rows of equal width"));
        }
        self.run_once(activations, image)
    }

    fn run_once(
        &self,
        activations: ArrayViewD<f32>,
        image: ArrayView3<f32>,
    ) -> Result<Array2<f32>> {
        let run_err = |e: ort::Error| fail(format!("{}: {e}", self.label));
        let n = activations.shape()[0];
        let acts = activations.as_standard_layout();
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let acts_ref = TensorRef::from_array_view(acts.view()).map_err(run_err)?;
        let outputs = match &self.image_input {
            None => session
                .run(ort::inputs![self.layer.as_str() => acts_ref])
                .map_err(run_err)?,
            Some(name) => {
                let img = match self.layout {
                    Layout::Nchw => image.to_owned(),
                    Layout::Nhwc => image
                        .permuted_axes([1, 2, 0])
                        .as_standard_layout()
                        .into_owned(),
                };
                let (d0, d1, d2) = img.dim();
                let batch: Array4<f32> = img
                    .insert_axis(Axis(0))
                    .broadcast((n, d0, d1, d2))
                    .expect("broadcast over the batch")
                    .to_owned();
                let img_ref = TensorRef::from_array_view(batch.view()).map_err(run_err)?;
                session
                    .run(ort::inputs![self.layer.as_str() => acts_ref, name.as_str() => img_ref])
                    .map_err(run_err)?
            }
        };
        let logits = outputs[0].try_extract_array::<f32>().map_err(run_err)?;
        let logits = logits
            .to_shape((n, logits.len() / n.max(1)))
            .map_err(|e| fail(format!("{}: unexpected output shape: {e}", self.label)))?
            .into_owned()
            .into_dimensionality::<Ix2>()
            .expect("2-D by construction");
        Ok(logits)
    }
}
