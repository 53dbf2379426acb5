//! Fused segments: every op between two cut tensors run as ONE segment on crops.
//!
//! Cutting at every window op (the per-op segments of [`super::incremental`]) computes nothing
//! twice but copies every window op's input in and out of the segments. Where those inputs are
//! wide and cheap to recompute — MobileNetV2's inverted residuals expand 24 channels to 144
//! before a depthwise convolution — it is cheaper to cut only at the narrow cut tensors (block
//! inputs and outputs) and to recompute the ops between them over the receptive field of the
//! output box.
//!
//! For a segment from cut `A` to cut `B`, each tensor `t` between them gets a [`WindowMap`]
//! from `B`'s box to the region of `t` to compute: `B` itself the identity; going backwards,
//! a window op's input the op's map after its output's, a pointwise op's inputs its output's;
//! a tensor read by several ops the hull. Strides compose, so the maps are affine in the box
//! and one graph serves every box size. The crop of `A` is its map's region. A consumer that
//! needs less than its input's region reads a `Slice` of it (constant offsets); a window op
//! whose input region can reach past the map reads it through `Where(mask, x, pad)`, with a
//! mask of the positions inside the map fed per window — so padding is reproduced exactly,
//! inside the segment as at its crop.

use super::cost::{PlanOptions, node_cost};
use super::cut::GraphIndex;
use super::receptive::{NodeRule, Rect, WindowMap, spatial_shape};
use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::{ModelProto, NodeProto};
use std::collections::HashMap;

/// One read of an image tensor inside a fused segment.
#[derive(Debug, Clone)]
pub(super) struct Use {
    pub node: usize,
    pub slot: usize,
    pub tensor: String,
    /// What the consumer reads of the tensor, from the output box.
    pub map: WindowMap,
    /// The consumer's padding value, when it is a window op.
    pub pad: Option<f32>,
}

/// The ops between two cut tensors, with the regions to compute.
#[derive(Debug, Clone)]
pub(super) struct Fused {
    /// Topological order.
    pub nodes: Vec<usize>,
    /// The cut tensor (or the image) it starts from, and the one it ends at.
    pub input: String,
    pub output: String,
    /// Per tensor (the input included): the region to compute, from the output box.
    pub maps: HashMap<String, WindowMap>,
    pub uses: Vec<Use>,
    /// Per node: its estimated cost per output position, and its output tensor.
    pub per_position: Vec<(f64, String)>,
    /// The value the input crop holds outside its map.
    pub fill: f32,
}

impl Fused {
    /// Whether a read needs a slice of its tensor's region.
    pub fn sliced(&self, u: &Use) -> bool {
        self.maps[&u.tensor] != u.map
    }

    /// Whether a window op's read goes through a mask: every read of a tensor computed inside
    /// the segment, and reads of the input whose padding differs from the crop's fill.
    pub fn masked(&self, u: &Use) -> bool {
        match u.pad {
            None => false,
            Some(pad) => u.tensor != self.input || pad.to_bits() != self.fill.to_bits(),
        }
    }

    /// The estimated cost of the ops for an output box.
    pub fn cost(&self, out: Rect) -> f64 {
        self.per_position
            .iter()
            .map(|(pp, t)| pp * self.maps[t].needed(out).area() as f64)
            .sum()
    }
}

/// The fused segment of `nodes` (topological order) from `input` to `output`, or `None` when
/// two paths reach a tensor at different strides (no single affine region then).
pub(super) fn fuse(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
    nodes: &[usize],
    input: &str,
    output: &str,
    options: &PlanOptions,
) -> Option<Fused> {
    let g = ix.graph;
    let mut maps: HashMap<String, WindowMap> =
        HashMap::from([(output.to_string(), WindowMap::IDENTITY)]);
    let mut uses = Vec::new();
    for &i in nodes.iter().rev() {
        let n = &g.node[i];
        // The hull of what is needed of the node's outputs.
        let mut mo: Option<WindowMap> = None;
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if let Some(m) = maps.get(o) {
                mo = Some(match mo {
                    None => *m,
                    Some(h) => h.hull(m)?,
                });
            }
        }
        let Some(mo) = mo else { continue };
        let (inner, pad) = match rules.get(&i)?.as_ref().ok()? {
            NodeRule::Window { map, pad_value } => (*map, Some(*pad_value)),
            NodeRule::Pointwise => (WindowMap::IDENTITY, None),
        };
        for (slot, x) in n.input.iter().enumerate() {
            if x.is_empty() || !ix.image.contains(x) {
                continue;
            }
            let (m, pad) = if pad.is_some() && slot == 0 {
                (mo.then(&inner), pad)
            } else {
                (mo, None)
            };
            let hull = match maps.get(x) {
                None => m,
                Some(h) => h.hull(&m)?,
            };
            maps.insert(x.clone(), hull);
            uses.push(Use {
                node: i,
                slot,
                tensor: x.clone(),
                map: m,
                pad,
            });
        }
    }
    // Every image tensor read must be computed here or be the input.
    let produced: std::collections::HashSet<&str> = nodes
        .iter()
        .flat_map(|&i| g.node[i].output.iter().map(String::as_str))
        .collect();
    if uses
        .iter()
        .any(|u| u.tensor != input && !produced.contains(u.tensor.as_str()))
    {
        return None;
    }
    if !maps.contains_key(input) {
        return None;
    }
    let per_position = nodes
        .iter()
        .filter_map(|&i| {
            let n = &g.node[i];
            let o = n.output.first()?;
            let s = spatial_shape(shapes, o)?;
            maps.contains_key(o).then(|| {
                (
                    node_cost(n, shapes, &ix.constants, options) / (s[2] * s[3]).max(1) as f64,
                    o.clone(),
                )
            })
        })
        .collect();
    let fill = uses
        .iter()
        .find(|u| u.tensor == input && u.pad.is_some())
        .and_then(|u| u.pad)
        .unwrap_or(0.0);
    Some(Fused {
        nodes: nodes.to_vec(),
        input: input.to_string(),
        output: output.to_string(),
        maps,
        uses,
        per_position,
        fill,
    })
}

/// The feed name of the mask for read `k`.
pub(super) fn mask_feed(f: &Fused, k: usize) -> String {
    format!("{}#mask{k}", f.uses[k].tensor)
}

/// The segment graph: the nodes with window ops unpadded, sliced and masked reads, input `f.input`
/// (a crop of its map's region) and one mask input per masked read; output `f.output`.
pub(super) fn segment_model(
    ix: &GraphIndex,
    model: &ModelProto,
    f: &Fused,
    feeds: Vec<crate::proto::ValueInfoProto>,
) -> Result<ModelProto, crate::GraphError> {
    let g = ix.graph;
    let opset = ir::default_opset(model);
    let mut replace: HashMap<usize, NodeProto> = HashMap::new();
    let mut extra_nodes: Vec<NodeProto> = Vec::new();
    let mut extra_inits = Vec::new();
    for (k, u) in f.uses.iter().enumerate() {
        let mut name = u.tensor.clone();
        if f.sliced(u) {
            let t = f.maps[&u.tensor];
            let starts = [t.rows.pad - u.map.rows.pad, t.cols.pad - u.map.cols.pad];
            let trim = |a: &super::receptive::AxisMap, b: &super::receptive::AxisMap| {
                let cut = (a.extent - a.pad) - (b.extent - b.pad);
                if cut == 0 { i64::MAX } else { -cut }
            };
            let ends = [trim(&t.rows, &u.map.rows), trim(&t.cols, &u.map.cols)];
            let out = format!("{}#slice{k}", u.tensor);
            if opset >= 10 {
                let names = ["starts", "ends", "axes"].map(|p| format!("{out}#{p}"));
                for (n, v) in names.iter().zip([&starts[..], &ends[..], &[2, 3][..]]) {
                    extra_inits.push(ir::tensor_i64(n, &[2], v));
                }
                extra_nodes.push(ir::make_node(
                    "Slice",
                    &[&name, &names[0], &names[1], &names[2]],
                    &[&out],
                    &out,
                    vec![],
                ));
            } else {
                extra_nodes.push(ir::make_node(
                    "Slice",
                    &[&name],
                    &[&out],
                    &out,
                    vec![
                        ir::a_ints("starts", &starts),
                        ir::a_ints("ends", &ends),
                        ir::a_ints("axes", &[2, 3]),
                    ],
                ));
            }
            name = out;
        }
        if f.masked(u) {
            let pad = u.pad.unwrap_or(0.0);
            let mask = mask_feed(f, k);
            let cond = format!("{}#inside{k}", u.tensor);
            let value = format!("{}#pad{k}", u.tensor);
            let out = format!("{}#masked{k}", u.tensor);
            extra_inits.push(ir::tensor_f32(&value, &[], &[pad]));
            let half = format!("{}#half{k}", u.tensor);
            extra_inits.push(ir::tensor_f32(&half, &[], &[0.5]));
            extra_nodes.push(ir::make_node(
                "Greater",
                &[&mask, &half],
                &[&cond],
                &cond,
                vec![],
            ));
            extra_nodes.push(ir::make_node(
                "Where",
                &[&cond, &name, &value],
                &[&out],
                &out,
                vec![],
            ));
            name = out;
        }
        let node = replace
            .entry(u.node)
            .or_insert_with(|| g.node[u.node].clone());
        node.input[u.slot] = name;
    }
    for &i in &f.nodes {
        let n = &g.node[i];
        if matches!(op(n), "Conv" | "MaxPool" | "AveragePool")
            && f.uses.iter().any(|u| u.node == i && u.pad.is_some())
        {
            let node = replace.entry(i).or_insert_with(|| n.clone());
            ir::remove_attr(node, "auto_pad");
            ir::set_attr(node, ir::a_ints("pads", &[0, 0, 0, 0]));
            if op(node) != "Conv" {
                ir::set_attr(node, ir::a_int("ceil_mode", 0));
            }
        }
    }
    // The extra nodes read tensors computed inside, fed masks and their own constants.
    let made: std::collections::HashSet<String> = extra_nodes
        .iter()
        .flat_map(|n| n.output.iter().cloned())
        .collect();
    let mut sub = ix.sub_model(
        model,
        &f.nodes,
        &replace,
        &made,
        feeds,
        std::slice::from_ref(&f.output),
    )?;
    let graph = sub.graph.as_mut().expect("sub-model graph");
    graph.node.extend(extra_nodes);
    graph.initializer.extend(extra_inits);
    let order = ir::topo_order(graph);
    let nodes = std::mem::take(&mut graph.node);
    let mut slots: Vec<Option<NodeProto>> = nodes.into_iter().map(Some).collect();
    graph.node = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(sub)
}
