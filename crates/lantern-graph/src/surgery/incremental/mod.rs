//! Planning exact incremental inference for a set of changed input rectangles (occlusion
//! windows), in the spirit of Krypton (Nakandala, Kumar & Papakonstantinou, SIGMOD 2019).
//!
//! A window changes only the activations inside its projective field, layer by layer. The plan:
//!
//! 1. **Segments.** The graph up to the last tensor through which every input→output path
//!    passes (a dominator) and before which every op has a receptive-field rule is split into
//!    segments, one of two ways ([`Segmentation`]):
//!    - *per op*: each window op (Conv, MaxPool, AveragePool) starts a segment, followed by the
//!      pointwise ops after it (BatchNormalization, Relu, Clip, the residual Add, 1×1
//!      convolutions, …); its other inputs are read at the same positions. Nothing is computed
//!      twice, but every window op's input is copied in and out of segments;
//!    - *fused*: a segment runs everything between two cut tensors (see [`super::fused`]),
//!      recomputing the ops in between over the receptive field of its output box; only cut
//!      tensors are copied. This suits inverted residuals, whose depthwise convolutions read
//!      tensors six times wider than the block's input and output.
//! 2. **Regions.** For each window, the affected region of every segment's output is propagated
//!    from the window forward ([`WindowMap::affected`]); a segment computes exactly that box per
//!    window. Windows whose boxes have the same size run together ([`Segment::groups`]).
//! 3. **Crops.** A segment runs on crops: the exact receptive field of its box
//!    ([`WindowMap::needed`]), filled with the op's padding value where it reaches outside the
//!    map, while the ops themselves pad nothing — so every computed value equals full
//!    inference's, at the border and inside alike. Crops are cut from the window's version of
//!    each input: the clean activation with the window's box pasted over it.
//! 4. **Exits.** Each window leaves the incremental part at a dominator `T` (an [`Exit`]; a
//!    residual block is left at its output, never inside): the suffix `T → logits` runs in full
//!    on the clean `T` with the window's box pasted in. Windows choose their exits by estimated
//!    cost: a window near the border, whose field stays small, goes deep; one in the middle,
//!    whose field soon covers the map, leaves early.
//! 5. **Price.** Costs are estimated per window ([`PlanOptions`]): multiply-accumulates, floats
//!    written by ops that ONNX Runtime does not fuse away, floats copied into crops, through
//!    slices and masks and out of boxes, and session calls. Both segmentations are priced and
//!    the cheaper is used; when the plan is not clearly cheaper than full re-inference, or an
//!    op without a receptive-field rule comes first, the plan says so and has no graph.
//!
//! The plan holds ONNX sub-models only; lantern-explain runs them.

pub mod approximate;
mod exits;
mod fused_plan;
mod per_op;

use super::cost::{PlanOptions, Segmentation, node_cost, node_macs};
use super::cut::GraphIndex;
use super::receptive::{NodeRule, Rect, RuleContext, WindowMap, node_rule, spatial_shape};
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::proto::ModelProto;
use fused_plan::{build_fused, plan_fused};
use per_op::{build, plan_per_op};
use std::collections::{HashMap, HashSet};

/// Where a segment input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The (occluded) image.
    Image,
    /// Output `output` of segment `segment` (an earlier one).
    Segment { segment: usize, output: usize },
    /// A mask of the positions inside a `[H, W]` map (1 inside, 0 outside; see
    /// [`super::fused`]): the input's `shape` is `[1, H, W]`.
    Mask,
}

/// One input of a segment's graph.
#[derive(Debug, Clone)]
pub struct SegmentInput {
    /// The tensor of the original graph.
    pub tensor: String,
    /// The name of the segment graph's input it is fed through.
    pub feed: String,
    pub source: Source,
    /// How the segment's outputs read it (identity for pointwise reads).
    pub map: WindowMap,
    /// The value of crop positions outside the tensor.
    pub pad_value: f32,
    /// `[C, H, W]` of the tensor.
    pub shape: [usize; 3],
}

impl SegmentInput {
    /// The crop (in the tensor's coordinates, possibly reaching outside it) for an output box.
    pub fn crop_rect(&self, out: Rect) -> Rect {
        self.map.needed(out)
    }
}

/// One output of a segment: a tensor read by later segments, or an exit.
#[derive(Debug, Clone)]
pub struct SegmentOutput {
    pub tensor: String,
    pub channels: usize,
}

/// A part of the prefix run on crops, one box per window.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Inputs: [`SegmentInput::feed`]s, `[N, C, crop_h, crop_w]`; outputs `[N, C, h, w]` for
    /// boxes of `[h, w]`.
    pub model: ModelProto,
    pub inputs: Vec<SegmentInput>,
    pub outputs: Vec<SegmentOutput>,
    /// `[H, W]` of the segment's tensors.
    pub map: [usize; 2],
    /// Per window: the region of the map its occluder can change (empty if none).
    pub regions: Vec<Rect>,
    /// Multiply-accumulates of the segment's nodes over the whole map (batch 1).
    pub macs: f64,
    /// The original nodes it runs (labels), for reports.
    pub nodes: Vec<String>,
}

impl Segment {
    /// The multiply-accumulates (over the whole map, batch 1) and the labels of the original
    /// nodes `nodes`, for a segment that runs them.
    fn macs_and_labels(
        ix: &GraphIndex,
        shapes: &TensorShapes,
        nodes: &[usize],
    ) -> (f64, Vec<String>) {
        let node = |i: usize| &ix.graph.node[i];
        let macs = nodes
            .iter()
            .map(|&i| node_macs(node(i), shapes, &ix.constants))
            .sum();
        (
            macs,
            nodes
                .iter()
                .map(|&i| crate::ir::node_label(node(i)))
                .collect(),
        )
    }

    /// Window `window`'s box: its region (a 1×1 box at the origin when the window changes
    /// nothing here, as a stride can skip the last rows).
    pub fn box_of(&self, window: usize) -> Rect {
        box_of(self.regions[window])
    }

    /// `windows` in session calls: windows whose boxes have the same size together, at most
    /// `batch` per call; groups and windows within them in first-seen order.
    pub fn groups(&self, windows: &[usize], batch: usize) -> Vec<Vec<usize>> {
        groups(&self.regions, windows, batch)
    }
}

fn box_of(region: Rect) -> Rect {
    if region.is_empty() {
        Rect::new(0, 0, 1, 1)
    } else {
        region
    }
}

fn groups(regions: &[Rect], windows: &[usize], batch: usize) -> Vec<Vec<usize>> {
    let mut by_size: Vec<((i64, i64), Vec<usize>)> = Vec::new();
    for &w in windows {
        let b = box_of(regions[w]);
        let key = (b.height(), b.width());
        match by_size.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(w),
            None => by_size.push((key, vec![w])),
        }
    }
    by_size
        .into_iter()
        .flat_map(|(_, v)| {
            v.chunks(batch.max(1))
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Where windows leave the incremental part: a cut tensor and the suffix run in full from it.
#[derive(Debug, Clone)]
pub struct Exit {
    /// The cut tensor `T` (a dominator).
    pub tensor: String,
    /// `[C, H, W]` of `T`.
    pub shape: [usize; 3],
    /// The segment, and its output, holding `T`'s boxes.
    pub segment: usize,
    pub output: usize,
    /// `T` (input named like the tensor, `[N, C, H, W]`) → the model's first output.
    pub suffix: ModelProto,
    /// The windows that leave here, in window order.
    pub windows: Vec<usize>,
}

/// Everything needed to run the plan.
#[derive(Debug, Clone)]
pub struct IncrementalGraph {
    /// The image input's name and `[C, H, W]`.
    pub input: String,
    pub input_shape: [usize; 3],
    /// Image → the clean activations of [`IncrementalGraph::clean_outputs`] (every tensor a
    /// segment crops from, and every exit's tensor), run once per image.
    pub clean: ModelProto,
    pub clean_outputs: Vec<String>,
    pub segments: Vec<Segment>,
    pub exits: Vec<Exit>,
    /// The windows the regions were planned for.
    pub windows: Vec<Rect>,
    /// Per window, the index of its exit.
    pub exit_of: Vec<usize>,
}

impl IncrementalGraph {
    /// The windows that run segment `segment` (those leaving at it or later), in window order.
    pub fn windows_of(&self, segment: usize) -> Vec<usize> {
        (0..self.windows.len())
            .filter(|&w| self.exits[self.exit_of[w]].segment >= segment)
            .collect()
    }
}

/// What both planners ([`plan_per_op`], [`plan_fused`]) read: the graph's index, its shapes, each
/// active node's receptive-field rule, the cut tensors with each one's exit cost, the windows,
/// the input shape and the options.
struct Planning<'a> {
    ix: &'a GraphIndex<'a>,
    shapes: &'a TensorShapes,
    rules: &'a HashMap<usize, Result<NodeRule, String>>,
    cuts: &'a [String],
    exit_cost: &'a [f64],
    windows: &'a [Rect],
    input_shape: [i64; 4],
    options: &'a PlanOptions,
}

impl Planning<'_> {
    /// The channels of tensor `t` (0 when it is not an image-like map): the values one of its
    /// positions holds.
    fn channels(&self, t: &str) -> f64 {
        spatial_shape(self.shapes, t)
            .map(|s| s[1] as f64)
            .unwrap_or(0.0)
    }
}

/// The outcome of planning.
#[derive(Debug, Clone)]
pub struct IncrementalPlan {
    pub graph: Option<IncrementalGraph>,
    /// One sentence: what was chosen and why (or why nothing was).
    pub note: String,
    /// Multiply-accumulates of one full inference (batch 1).
    pub full_macs: f64,
    /// Estimated cost per window of the plan over full re-inference (1 without a plan).
    pub estimated_fraction: f64,
    /// Every dominator with a supported prefix: its tensor, the estimated cost fraction if every
    /// window left there, and its largest box as a fraction of its map.
    pub candidates: Vec<(String, f64, f64)>,
}

/// Plans incremental inference of `model` for inputs changed inside `windows` (rectangles of
/// the image input, in pixels). `shapes` are the static shapes of one probe run at batch 1.
/// With `options.tau < 1` the plan is approximate (see [`approximate`]).
pub fn plan_incremental(
    model: &ModelProto,
    shapes: &TensorShapes,
    windows: &[Rect],
    options: &PlanOptions,
) -> Result<IncrementalPlan, GraphError> {
    let ix = GraphIndex::new(model)?;
    let g = ix.graph;
    let active = || (0..g.node.len()).filter(|&i| ix.active[i]);
    let full_macs: f64 = active()
        .map(|i| node_macs(&g.node[i], shapes, &ix.constants))
        .sum();
    let full_cost: f64 = active()
        .map(|i| node_cost(&g.node[i], shapes, &ix.constants, options))
        .sum();
    let no_plan = |note: String, candidates| IncrementalPlan {
        graph: None,
        note,
        full_macs,
        estimated_fraction: 1.0,
        candidates,
    };
    let Some(input_shape) = spatial_shape(shapes, &ix.input) else {
        return Ok(no_plan(
            format!(
                "full re-inference: the input {:?} is not a 4-D NCHW tensor with a known shape",
                ix.input
            ),
            Vec::new(),
        ));
    };
    if windows.is_empty() {
        return Ok(no_plan("full re-inference: no windows".into(), Vec::new()));
    }
    let is_image = |t: &str| ix.image.contains(t);
    let cx = RuleContext {
        shapes,
        constants: &ix.constants,
        is_image: &is_image,
    };
    let rules: HashMap<usize, Result<NodeRule, String>> = ix
        .order
        .iter()
        .filter(|&&i| ix.active[i])
        .map(|&i| (i, node_rule(&g.node[i], &cx)))
        .collect();
    let (cuts, limit) = cut_tensors(&ix, shapes, &rules);
    if cuts.is_empty() {
        return Ok(no_plan(
            format!(
                "full re-inference: no cut tensor with a receptive-field rule for every op before it{limit}"
            ),
            Vec::new(),
        ));
    }
    let exit_cost = exit_costs(&ix, shapes, &cuts, options);
    let planning = Planning {
        ix: &ix,
        shapes,
        rules: &rules,
        cuts: &cuts,
        exit_cost: &exit_cost,
        windows,
        input_shape,
        options,
    };
    let per_op = plan_per_op(&planning);
    let n = windows.len() as f64;
    let candidates = per_op.candidates(&cuts, n * full_cost);
    let fused = plan_fused(&planning);
    let use_fused = match options.segmentation {
        Segmentation::Auto => fused.as_ref().is_some_and(|f| f.total < per_op.total),
        Segmentation::PerOp => false,
        Segmentation::Fused => fused.is_some(),
    };
    let total = match &fused {
        Some(f) if use_fused => f.total,
        _ => per_op.total,
    };
    let fraction = total / n / full_cost;
    if fraction >= options.max_fraction {
        return Ok(no_plan(
            format!(
                "full re-inference: incremental inference would cost {:.0}% of it{limit}",
                100.0 * fraction
            ),
            candidates,
        ));
    }
    let graph = match fused {
        Some(f) if use_fused => build_fused(model, &planning, f)?,
        _ => build(model, &planning, per_op)?,
    };
    let exits = graph
        .exits
        .iter()
        .map(|e| format!("{} ({} windows)", e.tensor, e.windows.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let note = format!(
        "{} through {} {} segments, leaving at {exits}, then full re-inference: estimated {:.0}% of the full cost{limit}",
        if options.tau < 1.0 {
            format!(
                "approximate incremental (projective fields truncated at tau = {})",
                options.tau
            )
        } else {
            "incremental".to_string()
        },
        graph.segments.len(),
        if use_fused { "fused" } else { "per-op" },
        100.0 * fraction
    );
    Ok(IncrementalPlan {
        graph: Some(graph),
        note,
        full_macs,
        estimated_fraction: fraction,
        candidates,
    })
}

/// The dominators whose whole prefix has receptive-field rules, in order, and (as a clause for
/// notes) the first rule that is missing after them.
fn cut_tensors(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
) -> (Vec<String>, String) {
    let mut cuts: Vec<String> = Vec::new();
    let mut stop_note = None;
    for t in ix.dominators() {
        if spatial_shape(shapes, &t).is_none() {
            continue;
        }
        if let Some(bad) = ix
            .active_ancestors(&t)
            .iter()
            .find_map(|i| rules[i].as_ref().err())
        {
            stop_note = Some(bad.clone());
            break;
        }
        cuts.push(t);
    }
    let limit = stop_note
        .map(|n| format!("; incremental inference stops before {n}"))
        .unwrap_or_default();
    (cuts, limit)
}

/// Per cut: the cost of leaving there (copying the window's box into the clean tensor and
/// running the suffix in full).
fn exit_costs(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    cuts: &[String],
    options: &PlanOptions,
) -> Vec<f64> {
    let g = ix.graph;
    cuts.iter()
        .map(|t| {
            let before: HashSet<usize> = ix.active_ancestors(t).into_iter().collect();
            let suffix: f64 = (0..g.node.len())
                .filter(|&i| ix.active[i] && !before.contains(&i))
                .map(|i| node_cost(&g.node[i], shapes, &ix.constants, options))
                .sum();
            let s = spatial_shape(shapes, t).unwrap_or([1, 1, 1, 1]);
            suffix + options.copy_cost * (s[1] * s[2] * s[3]) as f64
        })
        .collect()
}

/// The largest height and width among regions.
fn largest(regions: &[Rect]) -> (i64, i64) {
    regions
        .iter()
        .fold((0, 0), |(h, w), r| (h.max(r.height()), w.max(r.width())))
}

/// `[C, H, W]` of a 4-D tensor at batch 1 (`[0, 0, 0]` when its shape is unknown).
fn chw(shapes: &TensorShapes, t: &str) -> [usize; 3] {
    spatial_shape(shapes, t)
        .map(|s| [s[1] as usize, s[2] as usize, s[3] as usize])
        .unwrap_or([0, 0, 0])
}

#[cfg(test)]
mod tests;
