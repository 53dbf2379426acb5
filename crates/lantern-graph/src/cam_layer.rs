//! CAM layers of token models: the standard layer of a vision transformer and the spatial
//! layout of any layer tensor, so that CAMs can lay it out as a `[N,C,h,w]` grid.
//!
//! The standard layer follows pytorch-grad-cam's ViT and Swin examples
//! (`target_layers = [model.blocks[-1].norm1]`, `[model.layers[-1].blocks[-1].norm1]`): the
//! library's forward hook captures that module's OUTPUT, so the layer is the output of the last
//! transformer block's first norm (issue 12 says "input"; the library's convention, the norm's
//! output, is followed for fidelity). In the graph, a block's first norm is a
//! `LayerNormalization` whose input also feeds the block's residual `Add` and whose branch to
//! that `Add` holds the attention `Softmax` (the second norm's branch is the MLP: no Softmax;
//! the final norm feeds no residual).

use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::{GraphProto, ModelProto, NodeProto};
use std::collections::{HashMap, HashSet};

/// How a layer tensor's axes map onto the image grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialLayout {
    /// `[N,C,h,w]`: CNN activations.
    ChannelsFirst,
    /// `[N,H,W,C]`: Swin stages, ConvNeXt NHWC blocks (LayerNorm over the last axis).
    ChannelsLast,
    /// `[N,T,C]`: transformer tokens, possibly led by class/distillation tokens.
    Tokens,
}

/// The output of the last transformer block's first norm (see the module doc), if the graph
/// has attention blocks.
pub fn last_attention_norm(m: &ModelProto) -> Option<String> {
    let g = m.graph.as_ref()?;
    let consumers = consumers(g);
    let order = ir::topo_order(g);
    let position: HashMap<usize, usize> = order.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mut found: Option<(usize, String)> = None;
    for &i in &order {
        let n = &g.node[i];
        if op(n) != "LayerNormalization" {
            continue;
        }
        let (Some(x), Some(y)) = (n.input.first(), n.output.first()) else {
            continue;
        };
        let residuals = consumers
            .get(x.as_str())
            .into_iter()
            .flatten()
            .filter(|&&c| op(&g.node[c]) == "Add");
        let is_attention_block = residuals
            .into_iter()
            .any(|&add| branch_has_softmax(g, &consumers, y, add));
        if is_attention_block && found.as_ref().is_none_or(|(k, _)| position[&i] > *k) {
            found = Some((position[&i], y.clone()));
        }
    }
    found
        .map(|(_, y)| y)
        .or_else(|| last_attention_block_input(g, &consumers, &order))
}

/// Blocks without a norm in front of their attention (LeViT: `x + Attention(x)` with BatchNorm
/// inside the projections): the input of the last such block, the tensor a pre-norm block's
/// norm1 would read. It feeds a residual `Add` both directly and through a branch holding the
/// attention `Softmax`.
fn last_attention_block_input(
    g: &GraphProto,
    consumers: &HashMap<&str, Vec<usize>>,
    order: &[usize],
) -> Option<String> {
    let mut found = None;
    for &i in order {
        let add = &g.node[i];
        if op(add) != "Add" {
            continue;
        }
        for x in add.input.iter().filter(|x| !x.is_empty()) {
            let feeds_more = consumers.get(x.as_str()).is_some_and(|c| c.len() > 1);
            if feeds_more && branch_has_softmax(g, consumers, x, i) {
                found = Some(x.clone());
            }
        }
    }
    found
}

/// Whether a Softmax lies on some path from tensor `from` to node `to`.
fn branch_has_softmax(
    g: &GraphProto,
    consumers: &HashMap<&str, Vec<usize>>,
    from: &str,
    to: usize,
) -> bool {
    // Nodes reachable from `from`, then those among them that reach `to`.
    let mut reach: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = consumers.get(from).cloned().unwrap_or_default();
    while let Some(i) = stack.pop() {
        if i == to || !reach.insert(i) {
            continue;
        }
        for o in &g.node[i].output {
            stack.extend(consumers.get(o.as_str()).into_iter().flatten());
        }
    }
    let producers = ir::producers(g);
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack = vec![to];
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        if i != to && op(&g.node[i]) == "Softmax" {
            return true;
        }
        for x in &g.node[i].input {
            if let Some(&p) = producers.get(x)
                && reach.contains(&p)
            {
                stack.push(p);
            }
        }
    }
    false
}

fn consumers(g: &GraphProto) -> HashMap<&str, Vec<usize>> {
    let mut m: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for x in &n.input {
            if !x.is_empty() {
                m.entry(x.as_str()).or_default().push(i);
            }
        }
    }
    m
}

/// The layout of tensor `name`: rank 3 is tokens; rank 4 is channels-last when the tensor comes
/// (through element-wise ops) from a LayerNormalization over the last axis, a Transpose to
/// `[0,2,3,1]` or a MatMul with a constant matrix (a Linear over the last axis), and
/// channels-first otherwise (CNN activations, and anything undecided — the layout CAMs always
/// assumed). `None` when the shape is unknown or another rank.
pub fn spatial_layout(m: &ModelProto, shapes: &TensorShapes, name: &str) -> Option<SpatialLayout> {
    match shapes.get(name)?.len() {
        3 => Some(SpatialLayout::Tokens),
        4 => {
            let g = m.graph.as_ref()?;
            let producers = ir::producers(g);
            // Names only: copying every initializer (ir::constants) cost ~100 ms a call on
            // ConvNeXt-T, more than a Grad-CAM.
            let consts: HashSet<&str> = g
                .initializer
                .iter()
                .filter_map(|t| t.name.as_deref())
                .chain(
                    g.node
                        .iter()
                        .filter(|n| op(n) == "Constant")
                        .filter_map(|n| n.output.first().map(String::as_str)),
                )
                .collect();
            let last = channels_last(g, &producers, &consts, shapes, name, 0);
            Some(if last == Some(true) {
                SpatialLayout::ChannelsLast
            } else {
                SpatialLayout::ChannelsFirst
            })
        }
        _ => None,
    }
}

/// Whether 4-D tensor `t` is channels-last (`Some(true)`), channels-first (`Some(false)`) or
/// undecided, from the ops that made it.
fn channels_last(
    g: &GraphProto,
    producers: &HashMap<String, usize>,
    consts: &HashSet<&str>,
    shapes: &TensorShapes,
    t: &str,
    depth: usize,
) -> Option<bool> {
    let n: &NodeProto = &g.node[*producers.get(t)?];
    match op(n) {
        "LayerNormalization" => {
            let axis = ir::attr_i(n, "axis").unwrap_or(-1);
            Some(axis == -1 || axis == 3)
        }
        "Transpose" => match ir::attr_ints(n, "perm")?.as_slice() {
            [0, 2, 3, 1] => Some(true),
            [0, 3, 1, 2] => Some(false),
            _ => None,
        },
        "MatMul" => n
            .input
            .get(1)
            .filter(|w| consts.contains(w.as_str()))
            .map(|_| true),
        "Conv"
        | "ConvTranspose"
        | "BatchNormalization"
        | "MaxPool"
        | "AveragePool"
        | "GlobalAveragePool"
        | "GlobalMaxPool"
        | "LpPool"
        | "InstanceNormalization"
        | "GroupNormalization"
        | "LRN"
        | "Resize"
        | "Upsample"
        | "DepthToSpace"
        | "SpaceToDepth" => Some(false),
        "Relu" | "Clip" | "Sigmoid" | "Tanh" | "Gelu" | "Erf" | "LeakyRelu" | "PRelu" | "Elu"
        | "Selu" | "HardSigmoid" | "HardSwish" | "Softplus" | "Identity" | "Dropout" | "Add"
        | "Sub" | "Mul" | "Div" | "Neg" | "Abs" | "Sqrt" | "Pow" | "Max" | "Min" | "Sum"
        | "Where" | "Cast" | "Mish"
            if depth < 64 =>
        {
            n.input
                .iter()
                .filter(|x| !x.is_empty() && !consts.contains(x.as_str()))
                .filter(|x| shapes.get(x).is_some_and(|s| s.len() == 4))
                .find_map(|x| channels_last(g, producers, consts, shapes, x, depth + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::default_cam_layer;
    use crate::io::load_model;
    use crate::testing::{probe_at_zeros, reference_model, static_fixture, workspace_root};

    #[test]
    fn vit_default_layer_is_the_last_blocks_first_norm() {
        // TorchScript export: names follow the modules.
        let m = static_fixture("tiny_vit_dynamic.onnx");
        let shapes = probe_at_zeros(&m);
        let layer = default_cam_layer(&m, &shapes).expect("a layer");
        assert_eq!(layer, "/blocks/blocks.1/norm1/LayerNormalization_output_0");
        assert_eq!(
            spatial_layout(&m, &shapes, &layer),
            Some(SpatialLayout::Tokens)
        );
        // Dynamo export: the third of five LayerNormalizations (block 1's norm1; then norm2 and
        // the final norm).
        let m = static_fixture("tiny_vit_static.onnx");
        let shapes = probe_at_zeros(&m);
        assert_eq!(
            default_cam_layer(&m, &shapes).as_deref(),
            Some("layer_norm_2")
        );
    }

    #[test]
    fn torchvision_vit_default_layer_is_ln_1_not_a_reshape_inside_attention() {
        // torchvision's attention reshapes [T, 1, heads, d] to [T, heads·d]: not a classifier
        // flatten, though it is 4-D → 2-D.
        let m = load_model(
            &workspace_root().join("crates/lantern-graph/tests/zoo/vit-torchscript.onnx"),
        )
        .expect("zoo model (tools/export_zoo.py)");
        let shapes = probe_at_zeros(&m);
        let layer = default_cam_layer(&m, &shapes).expect("a layer");
        assert!(
            layer.ends_with("encoder_layer_1/ln_1/LayerNormalization_output_0"),
            "{layer}"
        );
    }

    #[test]
    fn levit_default_layer_is_the_last_attention_blocks_input() {
        // LeViT has no norm before its attention: the residual stream entering the last block.
        for file in ["levit-torchscript.onnx", "levit-dynamo.onnx"] {
            let m = load_model(
                &workspace_root()
                    .join("crates/lantern-graph/tests/zoo")
                    .join(file),
            )
            .expect("zoo model (tools/export_zoo.py)");
            let shapes = probe_at_zeros(&m);
            let layer = default_cam_layer(&m, &shapes).expect("a layer");
            assert_eq!(
                spatial_layout(&m, &shapes, &layer),
                Some(SpatialLayout::Tokens),
                "{file}: {layer}"
            );
        }
    }

    #[test]
    fn cnn_layers_stay_channels_first() {
        lantern_core::skip_without_reference!();
        let m = reference_model("resnet18");
        let shapes = probe_at_zeros(&m);
        let layer = default_cam_layer(&m, &shapes).expect("a layer");
        assert_eq!(
            spatial_layout(&m, &shapes, &layer),
            Some(SpatialLayout::ChannelsFirst)
        );
        assert_eq!(last_attention_norm(&m), None);
    }

    #[test]
    fn layer_norm_over_the_last_axis_of_a_4d_tensor_is_channels_last() {
        use crate::ir::make_node;
        // x [1,2,3,4] NCHW → Transpose(0,2,3,1) → LayerNorm(axis -1) → Relu
        let mut m = static_fixture("tiny_vit_dynamic.onnx");
        let g = m.graph.as_mut().expect("graph");
        g.node = vec![
            make_node(
                "Transpose",
                &["x"],
                &["t"],
                "t",
                vec![ir::a_ints("perm", &[0, 2, 3, 1])],
            ),
            make_node(
                "LayerNormalization",
                &["t", "s", "b"],
                &["ln"],
                "ln",
                vec![],
            ),
            make_node("Relu", &["ln"], &["r"], "r", vec![]),
            make_node("Relu", &["x"], &["c"], "c", vec![]),
        ];
        let shapes = TensorShapes(HashMap::from([
            ("x".to_string(), vec![1, 2, 3, 4]),
            ("t".to_string(), vec![1, 3, 4, 2]),
            ("ln".to_string(), vec![1, 3, 4, 2]),
            ("r".to_string(), vec![1, 3, 4, 2]),
            ("c".to_string(), vec![1, 2, 3, 4]),
        ]));
        let layout = |t: &str| spatial_layout(&m, &shapes, t);
        assert_eq!(layout("t"), Some(SpatialLayout::ChannelsLast));
        assert_eq!(layout("ln"), Some(SpatialLayout::ChannelsLast));
        assert_eq!(layout("r"), Some(SpatialLayout::ChannelsLast));
        assert_eq!(layout("c"), Some(SpatialLayout::ChannelsFirst));
        assert_eq!(layout("missing"), None);
    }
}
