//! Inspection: the graph's input and output, every tensor in topological order, the probe
//! graph that exposes them all, and the default CAM layer (token models: [`crate::cam_layer`]).

use crate::GraphError;
use crate::ir::{self, op};
use crate::proto::{ModelProto, NodeProto, ValueInfoProto};
use std::collections::{HashMap, HashSet};

/// Static shapes of tensors at batch 1, from one probe run of [`expose_all_tensors`]'s graph
/// (the caller runs it; lantern-runtime caches it). Keys are tensor names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TensorShapes(pub HashMap<String, Vec<i64>>);

impl TensorShapes {
    pub fn get(&self, name: &str) -> Option<&[i64]> {
        self.0.get(name).map(Vec::as_slice)
    }
}

/// One row of `lantern layers`: a tensor, the node that produces it, its static shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub op_type: String,
    pub node_name: String,
    pub shape: Option<Vec<i64>>,
}

/// The image input (first graph input that is not an initializer), its dims (`None` =
/// symbolic or unknown) and the first graph output.
pub fn graph_io(m: &ModelProto) -> Result<(String, Vec<Option<i64>>, String), GraphError> {
    let g = ir::graph(m)?;
    let input = ir::image_input(g)
        .ok_or_else(|| GraphError::InvalidModel("the graph has no input".into()))?;
    let name = input.name.clone().unwrap_or_default();
    let dims = ir::value_info_tensor(input)
        .and_then(|(_, d)| d)
        .unwrap_or_default();
    let output = ir::first_output(g)?;
    Ok((name, dims, output))
}

/// A copy of the model in which every node output is also a graph output (tensors that are
/// outputs already are not repeated), for the one probe run that yields all static shapes.
/// The added outputs carry only a name: ONNX Runtime infers their types.
pub fn expose_all_tensors(m: &ModelProto) -> ModelProto {
    let mut out = m.clone();
    let Some(g) = out.graph.as_mut() else {
        return out;
    };
    let mut seen: HashSet<String> = g.output.iter().filter_map(|o| o.name.clone()).collect();
    let order = ir::topo_order(g);
    let mut extra = Vec::new();
    for i in order {
        for o in &g.node[i].output {
            if !o.is_empty() && seen.insert(o.clone()) {
                extra.push(ValueInfoProto {
                    name: Some(o.clone()),
                    ..Default::default()
                });
            }
        }
    }
    g.output.extend(extra);
    out
}

/// Every node output in topological order with its producer and static shape.
pub fn list_tensors(m: &ModelProto, shapes: &TensorShapes) -> Vec<TensorInfo> {
    let Some(g) = m.graph.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in ir::topo_order(g) {
        let n = &g.node[i];
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            out.push(TensorInfo {
                name: o.clone(),
                op_type: op(n).to_string(),
                node_name: n.name.clone().unwrap_or_default(),
                shape: shapes.get(o).map(<[i64]>::to_vec),
            });
        }
    }
    out
}

/// The default layer for CAM methods: the last 4-D activation that feeds global pooling
/// (GlobalAveragePool/GlobalMaxPool, ReduceMean/ReduceMax over H and W, or an
/// AveragePool/MaxPool whose window covers the whole map) on the way to the output; without
/// global pooling, the last 4-D tensor flattened into the classifier (Flatten/Reshape to 2-D);
/// without either (vision transformers), the output of the last attention block's first norm
/// ([`crate::cam_layer::last_attention_norm`], pytorch-grad-cam's `blocks[-1].norm1`).
pub fn default_cam_layer(m: &ModelProto, shapes: &TensorShapes) -> Option<String> {
    let g = m.graph.as_ref()?;
    let output = g.output.first()?.name.clone()?;
    let producers = ir::producers(g);
    let consts = ir::constants(g);
    // Ancestors of the output.
    let mut needed: HashSet<String> = HashSet::new();
    let mut stack = vec![output];
    while let Some(t) = stack.pop() {
        if !needed.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = producers.get(&t) {
            stack.extend(ir::node_reads(&g.node[p]));
        }
    }
    let rank4 = |t: &str| shapes.get(t).is_some_and(|s| s.len() == 4);
    let mut pooled: Option<String> = None;
    let mut flattened: Option<String> = None;
    for i in ir::topo_order(g) {
        let n = &g.node[i];
        if !n.output.iter().any(|o| needed.contains(o)) {
            continue;
        }
        let Some(x) = n.input.first().filter(|x| !x.is_empty()) else {
            continue;
        };
        if consts.contains_key(x) {
            continue;
        }
        if is_global_pool(n, shapes, &consts) && (rank4(x) || shapes.get(x).is_none()) {
            pooled = Some(x.clone());
        } else if matches!(op(n), "Flatten" | "Reshape")
            && rank4(x)
            && shapes.get(x).is_some_and(|s| s[0] == 1)
            && n.output
                .first()
                .and_then(|o| shapes.get(o))
                .is_some_and(|s| s.len() == 2 && s[0] == 1)
        {
            // [1, C·h·w] at the probe's batch of 1: the classifier's flatten, not a reshape
            // inside attention (torchvision's ViT reshapes [197, 1, 12, 64] → [197, 768]).
            flattened = Some(x.clone());
        }
    }
    pooled
        .or(flattened)
        .or_else(|| crate::cam_layer::last_attention_norm(m))
}

fn is_global_pool(
    n: &NodeProto,
    shapes: &TensorShapes,
    consts: &HashMap<String, crate::proto::TensorProto>,
) -> bool {
    match op(n) {
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => true,
        "ReduceMean" | "ReduceMax" => {
            let axes = ir::attr_ints(n, "axes").or_else(|| {
                n.input
                    .get(1)
                    .and_then(|a| consts.get(a))
                    .and_then(ir::tensor_values_i64)
            });
            let Some(rank) = n
                .input
                .first()
                .and_then(|x| shapes.get(x))
                .map(|s| s.len() as i64)
            else {
                return false;
            };
            let Some(axes) = axes else {
                return false;
            };
            let mut norm: Vec<i64> = axes
                .iter()
                .map(|&a| if a < 0 { a + rank } else { a })
                .collect();
            norm.sort_unstable();
            rank == 4 && norm == [2, 3]
        }
        "AveragePool" | "MaxPool" | "LpPool" => {
            let Some(xs) = n.input.first().and_then(|x| shapes.get(x)) else {
                return false;
            };
            if let Some(ys) = n.output.first().and_then(|y| shapes.get(y))
                && ys.len() > 2
                && ys[2..].iter().all(|&d| d == 1)
            {
                return true;
            }
            let k = ir::attr_ints(n, "kernel_shape").unwrap_or_default();
            xs.len() > 2 && k.len() == xs.len() - 2 && k.iter().zip(&xs[2..]).all(|(k, d)| k >= d)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load_model;
    use crate::testing::{
        assets_dir, output_names, probe_at_zeros, reference_dir, reference_model,
    };

    #[test]
    fn default_cam_layers_of_reference_models() {
        lantern_core::skip_without_reference!();
        let cases = [
            (assets_dir().join("models/mobilenetv2-12-float.onnx"), "627"),
            (
                reference_dir().join("resnet18/model.onnx"),
                "/layer4/layer4.1/relu_1/Relu_output_0",
            ),
            (
                reference_dir().join("tinycnn/model.onnx"),
                "/features/features.14/Relu_output_0",
            ),
            (
                assets_dir().join("models/mnist-8.onnx"),
                "Pooling160_Output_0",
            ),
        ];
        for (path, want) in cases {
            let m = load_model(&path).expect("model");
            let shapes = probe_at_zeros(&m);
            assert_eq!(
                default_cam_layer(&m, &shapes).as_deref(),
                Some(want),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn graph_io_and_listing() {
        lantern_core::skip_without_assets!();
        let m = load_model(&assets_dir().join("models/mobilenetv2-12-float.onnx")).expect("model");
        let (input, dims, output) = graph_io(&m).expect("io");
        assert_eq!((input.as_str(), output.as_str()), ("input", "output"));
        assert_eq!(dims, vec![None, Some(3), Some(224), Some(224)]);
        let shapes = probe_at_zeros(&m);
        let list = list_tensors(&m, &shapes);
        let n_nodes = m.graph.as_ref().map_or(0, |g| g.node.len());
        assert_eq!(list.len(), n_nodes, "one output per node in MobileNetV2");
        // Topological: every tensor's producer inputs are listed before it.
        let pos: HashMap<&str, usize> = list
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let g = m.graph.as_ref().expect("graph");
        for n in &g.node {
            for i in &n.input {
                if let (Some(&a), Some(&b)) = (pos.get(i.as_str()), pos.get(n.output[0].as_str())) {
                    assert!(a < b, "{i} listed after its consumer");
                }
            }
        }
        let cam = list.iter().find(|t| t.name == "627").expect("627 listed");
        assert_eq!(cam.op_type, "Clip");
        assert_eq!(cam.shape.as_deref(), Some(&[1, 1280, 7, 7][..]));
        assert_eq!(list.last().map(|t| t.name.as_str()), Some("output"));
        assert!(
            list.iter().all(|t| t.shape.is_some()),
            "the probe saw every tensor"
        );
    }

    #[test]
    fn expose_all_tensors_adds_each_once() {
        lantern_core::skip_without_reference!();
        let m = reference_model("tinycnn");
        let outs = output_names(&expose_all_tensors(&m));
        let unique: HashSet<&String> = outs.iter().collect();
        assert_eq!(unique.len(), outs.len(), "duplicate outputs");
        assert_eq!(outs[0], "logits", "existing outputs stay first");
        assert_eq!(outs.len(), m.graph.as_ref().expect("g").node.len());
    }
}
