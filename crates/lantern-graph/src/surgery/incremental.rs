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

use super::cost::{PlanOptions, Segmentation, node_cost, node_macs};
use super::cut::{GraphIndex, float_value_info};
use super::fused::{Fused, fuse};
use super::receptive::{NodeRule, Rect, RuleContext, WindowMap, node_rule, spatial_shape};
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::ModelProto;
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

struct Draft {
    nodes: Vec<usize>,
    window: Option<usize>,
    inputs: Vec<DraftInput>,
    map: [usize; 2],
    macs: f64,
}

struct DraftInput {
    tensor: String,
    /// `None`: the image; else the producing segment.
    from: Option<usize>,
    map: WindowMap,
    pad_value: f32,
    window_read: bool,
}

/// Plans incremental inference of `model` for inputs changed inside `windows` (rectangles of
/// the image input, in pixels). `shapes` are the static shapes of one probe run at batch 1.
pub fn plan_incremental(
    model: &ModelProto,
    shapes: &TensorShapes,
    windows: &[Rect],
    options: &PlanOptions,
) -> Result<IncrementalPlan, GraphError> {
    let ix = GraphIndex::new(model)?;
    let g = ix.graph;
    let full_macs: f64 = (0..g.node.len())
        .filter(|&i| ix.active[i])
        .map(|i| node_macs(&g.node[i], shapes, &ix.constants))
        .sum();
    let full_cost: f64 = (0..g.node.len())
        .filter(|&i| ix.active[i])
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
    // Dominators whose whole prefix has rules, in order.
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
        .as_ref()
        .map(|n| format!("; incremental inference stops before {n}"))
        .unwrap_or_default();
    let Some(last) = cuts.last() else {
        return Ok(no_plan(
            format!(
                "full re-inference: no cut tensor with a receptive-field rule for every op before it{limit}"
            ),
            Vec::new(),
        ));
    };
    let prefix = ix.active_ancestors(last);
    let (drafts, seg_of) = segments(&ix, shapes, &rules, &prefix, options);
    let regions = propagate(&drafts, windows, input_shape);
    // Price: per segment and window, then per cut and window.
    let channels = |t: &str| spatial_shape(shapes, t).map(|s| s[1] as f64).unwrap_or(0.0);
    let all: Vec<usize> = (0..windows.len()).collect();
    let readers = read_by(&drafts);
    let seg_cost: Vec<Vec<f64>> = drafts
        .iter()
        .enumerate()
        .map(|(s, d)| {
            let per_position = d.macs / (d.map[0] * d.map[1]).max(1) as f64;
            // Every tensor of a segment read elsewhere is copied out of its boxes.
            let out_channels: f64 = readers[s].iter().map(|t| channels(t)).sum();
            let calls = options.call_cost * groups(&regions[s], &all, options.batch).len() as f64
                / windows.len() as f64;
            regions[s]
                .iter()
                .map(|r| {
                    let b = box_of(*r);
                    let crops: f64 = d
                        .inputs
                        .iter()
                        .map(|a| channels(&a.tensor) * a.map.needed(b).area() as f64)
                        .sum();
                    (per_position + options.copy_cost * out_channels) * b.area() as f64
                        + options.copy_cost * crops
                        + calls
                })
                .collect()
        })
        .collect();
    let in_prefix = |t: &str| -> HashSet<usize> { ix.active_ancestors(t).into_iter().collect() };
    let exit_cost: Vec<f64> = cuts
        .iter()
        .map(|t| {
            let before = in_prefix(t);
            let suffix: f64 = (0..g.node.len())
                .filter(|&i| ix.active[i] && !before.contains(&i))
                .map(|i| node_cost(&g.node[i], shapes, &ix.constants, options))
                .sum();
            let s = spatial_shape(shapes, t).unwrap_or([1, 1, 1, 1]);
            suffix + options.copy_cost * (s[1] * s[2] * s[3]) as f64
        })
        .collect();
    // cost[k][w]: window w leaving at cut k.
    let cut_seg: Vec<usize> = cuts.iter().map(|t| seg_of[t]).collect();
    let cost: Vec<Vec<f64>> = cuts
        .iter()
        .enumerate()
        .map(|(k, _)| {
            (0..windows.len())
                .map(|w| (0..=cut_seg[k]).map(|s| seg_cost[s][w]).sum::<f64>() + exit_cost[k])
                .collect()
        })
        .collect();
    let n = windows.len() as f64;
    let candidates: Vec<(String, f64, f64)> = cuts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let s = cut_seg[k];
            let (h, w) = largest(&regions[s]);
            let [mh, mw] = drafts[s].map;
            (
                t.clone(),
                cost[k].iter().sum::<f64>() / n / full_cost,
                (h * w) as f64 / (mh * mw).max(1) as f64,
            )
        })
        .collect();
    let (choice, allowed, total) = choose_exits(&cost, windows.len(), options.max_exits);
    // The fused alternative: segments from cut to cut.
    let fused = plan_fused(
        &ix,
        shapes,
        &rules,
        &cuts,
        &exit_cost,
        windows,
        input_shape,
        options,
    );
    let use_fused = match options.segmentation {
        Segmentation::Auto => fused.as_ref().is_some_and(|f| f.total < total),
        Segmentation::PerOp => false,
        Segmentation::Fused => fused.is_some(),
    };
    let total = match &fused {
        Some(f) if use_fused => f.total,
        _ => total,
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
        Some(f) if use_fused => build_fused(model, &ix, shapes, f, &cuts, windows, input_shape)?,
        _ => build(
            model,
            &ix,
            shapes,
            drafts,
            &seg_of,
            regions,
            &cuts,
            &allowed,
            &choice,
            windows,
            input_shape,
        )?,
    };
    let exits = graph
        .exits
        .iter()
        .map(|e| format!("{} ({} windows)", e.tensor, e.windows.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let note = format!(
        "incremental through {} {} segments, leaving at {exits}, then full re-inference: estimated {:.0}% of the full cost{limit}",
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

/// The largest height and width among regions.
fn largest(regions: &[Rect]) -> (i64, i64) {
    regions
        .iter()
        .fold((0, 0), |(h, w), r| (h.max(r.height()), w.max(r.width())))
}

/// Splits `prefix` (topological order) into segments: each window op starts one; a pointwise
/// op joins the latest segment among its image inputs' (or starts one if it reads only the
/// image). Returns the segments and the segment of every tensor they produce.
fn segments(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
    prefix: &[usize],
    options: &PlanOptions,
) -> (Vec<Draft>, HashMap<String, usize>) {
    let g = ix.graph;
    let mut drafts: Vec<Draft> = Vec::new();
    let mut seg_of: HashMap<String, usize> = HashMap::new();
    let hw = |t: &str| {
        spatial_shape(shapes, t)
            .map(|s| [s[2] as usize, s[3] as usize])
            .unwrap_or([0, 0])
    };
    for &i in prefix {
        let n = &g.node[i];
        let rule = rules[&i].as_ref().expect("checked by the caller");
        let out = &n.output[0];
        let macs = node_cost(n, shapes, &ix.constants, options);
        let target = match rule {
            NodeRule::Window { map, pad_value } => {
                let x = &n.input[0];
                drafts.push(Draft {
                    nodes: vec![i],
                    window: Some(i),
                    inputs: vec![DraftInput {
                        tensor: x.clone(),
                        from: seg_of.get(x).copied(),
                        map: *map,
                        pad_value: *pad_value,
                        window_read: true,
                    }],
                    map: hw(out),
                    macs,
                });
                drafts.len() - 1
            }
            NodeRule::Pointwise => {
                let image_inputs: Vec<&String> = n
                    .input
                    .iter()
                    .filter(|x| !x.is_empty() && ix.image.contains(*x))
                    .collect();
                let target = image_inputs
                    .iter()
                    .filter_map(|x| seg_of.get(*x))
                    .max()
                    .copied();
                let target = match target {
                    Some(t) => {
                        drafts[t].nodes.push(i);
                        drafts[t].macs += macs;
                        t
                    }
                    None => {
                        drafts.push(Draft {
                            nodes: vec![i],
                            window: None,
                            inputs: Vec::new(),
                            map: hw(out),
                            macs,
                        });
                        drafts.len() - 1
                    }
                };
                for x in image_inputs {
                    let from = seg_of.get(x).copied();
                    if from == Some(target) {
                        continue;
                    }
                    let d = &mut drafts[target];
                    if !d.inputs.iter().any(|a| a.tensor == *x && !a.window_read) {
                        d.inputs.push(DraftInput {
                            tensor: x.clone(),
                            from,
                            map: WindowMap::IDENTITY,
                            pad_value: 0.0,
                            window_read: false,
                        });
                    }
                }
                target
            }
        };
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            seg_of.insert(o.clone(), target);
        }
    }
    (drafts, seg_of)
}

/// Per segment, the tensors of it that later segments read.
fn read_by(drafts: &[Draft]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new(); drafts.len()];
    for d in drafts {
        for a in &d.inputs {
            if let Some(s) = a.from
                && !out[s].contains(&a.tensor)
            {
                out[s].push(a.tensor.clone());
            }
        }
    }
    out
}

/// Per segment, per window: the region the window's occluder can change.
fn propagate(drafts: &[Draft], windows: &[Rect], input_shape: [i64; 4]) -> Vec<Vec<Rect>> {
    let (ih, iw) = (input_shape[2], input_shape[3]);
    let mut regions: Vec<Vec<Rect>> = vec![Vec::with_capacity(windows.len()); drafts.len()];
    for w in windows {
        let w = w.clamp(ih, iw);
        for (s, d) in drafts.iter().enumerate() {
            let [h, wd] = d.map;
            let mut r = Rect::new(0, 0, 0, 0);
            for a in &d.inputs {
                let src = match a.from {
                    None => w,
                    Some(f) => regions[f][regions[f].len() - 1],
                };
                r = r.hull(a.map.affected(src, h as i64, wd as i64));
            }
            regions[s].push(r);
        }
    }
    regions
}

#[allow(clippy::too_many_arguments)]
fn build(
    model: &ModelProto,
    ix: &GraphIndex,
    shapes: &TensorShapes,
    mut drafts: Vec<Draft>,
    seg_of: &HashMap<String, usize>,
    mut regions: Vec<Vec<Rect>>,
    cuts: &[String],
    exits: &[usize],
    choice: &[usize],
    windows: &[Rect],
    input_shape: [i64; 4],
) -> Result<IncrementalGraph, GraphError> {
    let g = ix.graph;
    let shape3 = |t: &str| chw(shapes, t);
    // Only the segments up to the deepest exit run.
    let keep = exits.iter().map(|&k| seg_of[&cuts[k]]).max().unwrap_or(0) + 1;
    drafts.truncate(keep);
    regions.truncate(keep);
    let mut exports = read_by(&drafts);
    for &k in exits {
        let s = seg_of[&cuts[k]];
        if !exports[s].contains(&cuts[k]) {
            exports[s].push(cuts[k].clone());
        }
    }
    let mut segments = Vec::with_capacity(drafts.len());
    for (s, (d, regions)) in drafts.iter().zip(regions).enumerate() {
        let inputs: Vec<SegmentInput> = d
            .inputs
            .iter()
            .map(|a| SegmentInput {
                tensor: a.tensor.clone(),
                feed: if a.window_read {
                    format!("{}#window", a.tensor)
                } else {
                    a.tensor.clone()
                },
                source: match a.from {
                    None => Source::Image,
                    Some(f) => Source::Segment {
                        segment: f,
                        output: exports[f]
                            .iter()
                            .position(|e| *e == a.tensor)
                            .expect("exported"),
                    },
                },
                map: a.map,
                pad_value: a.pad_value,
                shape: shape3(&a.tensor),
            })
            .collect();
        let feeds = inputs
            .iter()
            .map(|a| float_value_info(&a.feed, Some(&[None, Some(a.shape[0] as i64), None, None])))
            .collect();
        let mut replace = HashMap::new();
        if let Some(wi) = d.window {
            let mut node = g.node[wi].clone();
            node.input[0] = format!("{}#window", node.input[0]);
            // The crop carries the padding: the op itself pads nothing.
            ir::remove_attr(&mut node, "auto_pad");
            ir::set_attr(&mut node, ir::a_ints("pads", &[0, 0, 0, 0]));
            if op(&node) != "Conv" {
                ir::set_attr(&mut node, ir::a_int("ceil_mode", 0));
            }
            replace.insert(wi, node);
        }
        let sub = ix.sub_model(
            model,
            &d.nodes,
            &replace,
            &HashSet::new(),
            feeds,
            &exports[s],
        )?;
        segments.push(Segment {
            model: sub,
            inputs,
            outputs: exports[s]
                .iter()
                .map(|t| SegmentOutput {
                    tensor: t.clone(),
                    channels: shape3(t)[0],
                })
                .collect(),
            map: d.map,
            regions,
            macs: d
                .nodes
                .iter()
                .map(|&i| node_macs(&g.node[i], shapes, &ix.constants))
                .sum(),
            nodes: d
                .nodes
                .iter()
                .map(|&i| ir::node_label(&g.node[i]))
                .collect(),
        });
    }
    let mut exit_list = Vec::with_capacity(exits.len());
    let mut exit_of = vec![0; windows.len()];
    for (e, &k) in exits.iter().enumerate() {
        let tensor = &cuts[k];
        let s = seg_of[tensor];
        let mine: Vec<usize> = (0..windows.len()).filter(|&w| choice[w] == k).collect();
        for &w in &mine {
            exit_of[w] = e;
        }
        exit_list.push(Exit {
            tensor: tensor.clone(),
            shape: shape3(tensor),
            segment: s,
            output: exports[s]
                .iter()
                .position(|t| t == tensor)
                .expect("exit exported"),
            suffix: suffix_model(model, ix, shapes, tensor)?,
            windows: mine,
        });
    }
    finish(
        model,
        ix,
        segments,
        exit_list,
        exit_of,
        windows,
        input_shape,
    )
}

/// The graph from a cut tensor (its input, `[N, C, H, W]`) to the model's first output.
fn suffix_model(
    model: &ModelProto,
    ix: &GraphIndex,
    shapes: &TensorShapes,
    tensor: &str,
) -> Result<ModelProto, GraphError> {
    let before: HashSet<usize> = ix.active_ancestors(tensor).into_iter().collect();
    let nodes: Vec<usize> = ix
        .order
        .iter()
        .copied()
        .filter(|&i| ix.active[i] && !before.contains(&i))
        .collect();
    let s = spatial_shape(shapes, tensor).unwrap_or([1, 0, 0, 0]);
    ix.sub_model(
        model,
        &nodes,
        &HashMap::new(),
        &HashSet::new(),
        vec![float_value_info(
            tensor,
            Some(&[None, Some(s[1]), Some(s[2]), Some(s[3])]),
        )],
        std::slice::from_ref(&ix.output),
    )
}

/// The clean-activation graph and the assembled plan.
fn finish(
    model: &ModelProto,
    ix: &GraphIndex,
    segments: Vec<Segment>,
    exits: Vec<Exit>,
    exit_of: Vec<usize>,
    windows: &[Rect],
    input_shape: [i64; 4],
) -> Result<IncrementalGraph, GraphError> {
    // Clean activations: every tensor a segment crops from (other than the image), and exits.
    let mut clean_outputs: Vec<String> = Vec::new();
    for seg in &segments {
        for a in &seg.inputs {
            if matches!(a.source, Source::Segment { .. }) && !clean_outputs.contains(&a.tensor) {
                clean_outputs.push(a.tensor.clone());
            }
        }
    }
    for e in &exits {
        if !clean_outputs.contains(&e.tensor) {
            clean_outputs.push(e.tensor.clone());
        }
    }
    let deepest = exits
        .iter()
        .max_by_key(|e| e.segment)
        .map(|e| e.tensor.clone())
        .ok_or_else(|| GraphError::InvalidModel("an incremental plan without exits".into()))?;
    let prefix = ix.active_ancestors(&deepest);
    let [c, h, w] = [input_shape[1], input_shape[2], input_shape[3]];
    let clean = ix.sub_model(
        model,
        &prefix,
        &HashMap::new(),
        &HashSet::new(),
        vec![float_value_info(
            &ix.input,
            Some(&[None, Some(c), Some(h), Some(w)]),
        )],
        &clean_outputs,
    )?;
    Ok(IncrementalGraph {
        input: ix.input.clone(),
        input_shape: [c as usize, h as usize, w as usize],
        clean,
        clean_outputs,
        segments,
        exits,
        windows: windows.to_vec(),
        exit_of,
    })
}

/// Each window its cheapest exit (`cost[exit][window]`), then at most `max_exits` exits (the one
/// whose loss costs least goes first). Returns the choice per window, the exits kept, the total.
fn choose_exits(
    cost: &[Vec<f64>],
    windows: usize,
    max_exits: usize,
) -> (Vec<usize>, Vec<usize>, f64) {
    let choose = |allowed: &[usize]| -> (Vec<usize>, f64) {
        let mut total = 0.0;
        let choice = (0..windows)
            .map(|w| {
                let k = *allowed
                    .iter()
                    .min_by(|&&a, &&b| cost[a][w].total_cmp(&cost[b][w]))
                    .expect("at least one exit");
                total += cost[k][w];
                k
            })
            .collect();
        (choice, total)
    };
    let mut allowed: Vec<usize> = (0..cost.len()).collect();
    let (mut choice, mut total) = choose(&allowed);
    allowed.retain(|k| choice.contains(k));
    while allowed.len() > max_exits.max(1) {
        let (drop, (c, t)) = allowed
            .iter()
            .map(|&k| {
                let rest: Vec<usize> = allowed.iter().copied().filter(|&a| a != k).collect();
                (k, choose(&rest))
            })
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .expect("more than one exit");
        allowed.retain(|&k| k != drop);
        (choice, total) = (c, t);
    }
    (choice, allowed, total)
}

/// Per tensor of the prefix, per window: the region the window's occluder can change.
fn propagate_tensors(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
    prefix: &[usize],
    windows: &[Rect],
    input_shape: [i64; 4],
) -> HashMap<String, Vec<Rect>> {
    let g = ix.graph;
    let (ih, iw) = (input_shape[2], input_shape[3]);
    let mut regions: HashMap<String, Vec<Rect>> = HashMap::new();
    regions.insert(
        ix.input.clone(),
        windows.iter().map(|w| w.clamp(ih, iw)).collect(),
    );
    for &i in prefix {
        let n = &g.node[i];
        let Some(Ok(rule)) = rules.get(&i) else {
            continue;
        };
        let Some(out) = spatial_shape(shapes, &n.output[0]) else {
            continue;
        };
        let (h, w) = (out[2], out[3]);
        let mut r = vec![Rect::new(0, 0, 0, 0); windows.len()];
        for (slot, x) in n.input.iter().enumerate() {
            let Some(src) = regions.get(x) else { continue };
            let map = match rule {
                NodeRule::Window { map, .. } if slot == 0 => *map,
                _ => WindowMap::IDENTITY,
            };
            for (r, s) in r.iter_mut().zip(src) {
                *r = r.hull(map.affected(*s, h, w));
            }
        }
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            regions.insert(o.clone(), r.clone());
        }
    }
    regions
}

/// A priced chain of fused segments (see [`super::fused`]).
struct FusedPlan {
    /// The fused segments, in order: image → cut → cut ….
    chain: Vec<Fused>,
    /// Per segment of the chain, the cut (index into `cuts`) it ends at.
    ends: Vec<usize>,
    /// Per window, its exit (index into `ends`).
    choice: Vec<usize>,
    /// Per window, its region at each segment's output.
    regions: Vec<Vec<Rect>>,
    total: f64,
}

/// The cheapest chain of fused segments from the image through cut tensors, with per-window
/// exits; `None` when no chain fuses.
#[allow(clippy::too_many_arguments)]
fn plan_fused(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
    cuts: &[String],
    exit_cost: &[f64],
    windows: &[Rect],
    input_shape: [i64; 4],
    options: &PlanOptions,
) -> Option<FusedPlan> {
    // Fused segments with more boundaries between their ends than this are not tried.
    const SPAN: usize = 16;
    let last = cuts.last()?;
    let prefix = ix.active_ancestors(last);
    let regions = propagate_tensors(ix, shapes, rules, &prefix, windows, input_shape);
    // Boundaries: 0 = the image, k = cuts[k − 1].
    let names: Vec<&str> = std::iter::once(ix.input.as_str())
        .chain(cuts.iter().map(String::as_str))
        .collect();
    let before: Vec<std::collections::HashSet<usize>> = names
        .iter()
        .map(|t| ix.active_ancestors(t).into_iter().collect())
        .collect();
    let channels = |t: &str| spatial_shape(shapes, t).map(|s| s[1] as f64).unwrap_or(0.0);
    let all: Vec<usize> = (0..windows.len()).collect();
    let n = windows.len();
    // best[j]: cheapest chain to boundary j (total over windows), its last hop and per-window cost.
    let mut best: Vec<Option<(f64, usize, Vec<f64>)>> = vec![None; names.len()];
    best[0] = Some((0.0, 0, vec![0.0; n]));
    let mut hops: HashMap<(usize, usize), Fused> = HashMap::new();
    for j in 1..names.len() {
        for i in j.saturating_sub(SPAN)..j {
            let Some((base, _, base_w)) = best[i].as_ref() else {
                continue;
            };
            let nodes: Vec<usize> = ix
                .order
                .iter()
                .copied()
                .filter(|k| before[j].contains(k) && !before[i].contains(k))
                .collect();
            let Some(f) = fuse(ix, shapes, rules, &nodes, names[i], names[j], options) else {
                continue;
            };
            let out = &regions[names[j]];
            let c_in = channels(names[i]);
            let c_out = channels(names[j]);
            // Slices and masks copy their read (all channels); masks are fed (one channel).
            let extra: Vec<(f64, WindowMap)> = f
                .uses
                .iter()
                .filter(|u| f.sliced(u) || f.masked(u))
                .map(|u| {
                    let copies = f64::from(u8::from(f.sliced(u)) + u8::from(f.masked(u)));
                    (
                        copies * channels(&u.tensor) + f64::from(u8::from(f.masked(u))),
                        u.map,
                    )
                })
                .collect();
            let calls =
                options.call_cost * groups(out, &all, options.batch).len() as f64 / n as f64;
            let per_window: Vec<f64> = out
                .iter()
                .map(|r| {
                    let b = box_of(*r);
                    let crop = f.maps[names[i]].needed(b).area() as f64;
                    let masks: f64 = extra
                        .iter()
                        .map(|(c, m)| c * m.needed(b).area() as f64)
                        .sum();
                    f.cost(b)
                        + options.copy_cost * (c_in * crop + c_out * b.area() as f64 + masks)
                        + calls
                })
                .collect();
            let total = base + per_window.iter().sum::<f64>();
            if best[j].as_ref().is_none_or(|(t, _, _)| total < *t) {
                let w = base_w.iter().zip(&per_window).map(|(a, b)| a + b).collect();
                best[j] = Some((total, i, w));
                hops.insert((i, j), f);
            }
        }
    }
    // For each last boundary, the chain to it and each window's cheapest exit along it.
    // (total, boundaries of the chain, each window's exit along it)
    let mut chosen: Option<(f64, Vec<usize>, Vec<usize>)> = None;
    for end in 1..names.len() {
        if best[end].is_none() {
            continue;
        }
        let mut path = vec![end];
        while *path.last().expect("non-empty") != 0 {
            let j = *path.last().expect("non-empty");
            path.push(best[j].as_ref().expect("on a chain").1);
        }
        path.reverse();
        let stops = &path[1..];
        let cost: Vec<Vec<f64>> = stops
            .iter()
            .map(|&b| {
                let w = &best[b].as_ref().expect("on a chain").2;
                w.iter().map(|c| c + exit_cost[b - 1]).collect()
            })
            .collect();
        let (choice, allowed, total) = choose_exits(&cost, n, options.max_exits);
        let deepest = allowed.iter().copied().max().unwrap_or(0);
        if chosen.as_ref().is_none_or(|c| total < c.0) {
            chosen = Some((total, path[..deepest + 2].to_vec(), choice));
        }
    }
    let (total, path, choice) = chosen?;
    let mut chain = Vec::new();
    let mut ends = Vec::new();
    let mut out_regions = Vec::new();
    for pair in path.windows(2) {
        let f = hops.remove(&(pair[0], pair[1]))?;
        out_regions.push(regions[names[pair[1]]].clone());
        chain.push(f);
        ends.push(pair[1] - 1);
    }
    Some(FusedPlan {
        chain,
        ends,
        choice,
        regions: out_regions,
        total,
    })
}

/// `[C, H, W]` of a 4-D tensor at batch 1 (`[0, 0, 0]` when its shape is unknown).
fn chw(shapes: &TensorShapes, t: &str) -> [usize; 3] {
    spatial_shape(shapes, t)
        .map(|s| [s[1] as usize, s[2] as usize, s[3] as usize])
        .unwrap_or([0, 0, 0])
}

fn build_fused(
    model: &ModelProto,
    ix: &GraphIndex,
    shapes: &TensorShapes,
    plan: FusedPlan,
    cuts: &[String],
    windows: &[Rect],
    input_shape: [i64; 4],
) -> Result<IncrementalGraph, GraphError> {
    let g = ix.graph;
    let shape3 = |t: &str| chw(shapes, t);
    let mut segments = Vec::with_capacity(plan.chain.len());
    for (k, (f, regions)) in plan.chain.iter().zip(plan.regions).enumerate() {
        let mut inputs = vec![SegmentInput {
            tensor: f.input.clone(),
            feed: f.input.clone(),
            source: if k == 0 {
                Source::Image
            } else {
                Source::Segment {
                    segment: k - 1,
                    output: 0,
                }
            },
            map: f.maps[&f.input],
            pad_value: f.fill,
            shape: shape3(&f.input),
        }];
        for (u, use_) in f.uses.iter().enumerate() {
            if f.masked(use_) {
                let [_, h, w] = shape3(&use_.tensor);
                inputs.push(SegmentInput {
                    tensor: use_.tensor.clone(),
                    feed: super::fused::mask_feed(f, u),
                    source: Source::Mask,
                    map: use_.map,
                    pad_value: 0.0,
                    shape: [1, h, w],
                });
            }
        }
        let feeds = inputs
            .iter()
            .map(|a| float_value_info(&a.feed, Some(&[None, Some(a.shape[0] as i64), None, None])))
            .collect();
        let sub = super::fused::segment_model(ix, model, f, feeds)?;
        let [_, h, w] = shape3(&f.output);
        segments.push(Segment {
            model: sub,
            inputs,
            outputs: vec![SegmentOutput {
                tensor: f.output.clone(),
                channels: shape3(&f.output)[0],
            }],
            map: [h, w],
            regions,
            macs: f
                .nodes
                .iter()
                .map(|&i| node_macs(&g.node[i], shapes, &ix.constants))
                .sum(),
            nodes: f
                .nodes
                .iter()
                .map(|&i| ir::node_label(&g.node[i]))
                .collect(),
        });
    }
    let mut exits = Vec::new();
    let mut exit_of = vec![0; windows.len()];
    let mut used: Vec<usize> = plan.choice.clone();
    used.sort_unstable();
    used.dedup();
    for (e, &stop) in used.iter().enumerate() {
        let tensor = &cuts[plan.ends[stop]];
        let mine: Vec<usize> = (0..windows.len())
            .filter(|&w| plan.choice[w] == stop)
            .collect();
        for &w in &mine {
            exit_of[w] = e;
        }
        exits.push(Exit {
            tensor: tensor.clone(),
            shape: shape3(tensor),
            segment: stop,
            output: 0,
            suffix: suffix_model(model, ix, shapes, tensor)?,
            windows: mine,
        });
    }
    finish(model, ix, segments, exits, exit_of, windows, input_shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load_model;
    use crate::testing::{assets_dir, probe, reference_dir};
    use ndarray::{ArrayD, IxDyn};

    /// Captum's occlusion windows (as lantern-explain's `Occlusion::windows`).
    fn windows(size: i64, window: i64, stride: i64) -> Vec<Rect> {
        let n = if size <= window {
            1
        } else {
            (size - window + stride - 1) / stride + 1
        };
        let mut out = Vec::new();
        for i in 0..n {
            for j in 0..n {
                let (t, l) = (i * stride, j * stride);
                out.push(Rect::new(
                    t,
                    l,
                    (t + window).min(size),
                    (l + window).min(size),
                ));
            }
        }
        out
    }

    fn shapes_of(m: &ModelProto) -> TensorShapes {
        let x = ArrayD::<f32>::zeros(IxDyn(&[1, 3, 224, 224]));
        probe(m, &[("input", &x)])
    }

    fn print(plan: &IncrementalPlan) {
        println!("{}", plan.note);
        for (t, f, a) in &plan.candidates {
            println!("  {t}: {f:.3} (largest box {:.0}% of the map)", 100.0 * a);
        }
        for s in plan.graph.iter().flat_map(|g| &g.segments) {
            let all: Vec<usize> = (0..s.regions.len()).collect();
            println!(
                "  segment {:?} map {:?} largest box {:?} in {} calls, inputs {:?}",
                s.nodes,
                s.map,
                largest(&s.regions),
                s.groups(&all, 32).len(),
                s.inputs.iter().map(|a| &a.feed).collect::<Vec<_>>()
            );
        }
    }

    /// Structural checks every plan must pass.
    fn check(plan: &IncrementalPlan, wins: &[Rect], dominators: &[String]) {
        let graph = plan.graph.as_ref().expect("a plan");
        let mut leaving = 0;
        for (e, exit) in graph.exits.iter().enumerate() {
            assert!(
                dominators.contains(&exit.tensor),
                "{} is not a cut",
                exit.tensor
            );
            assert_eq!(
                graph.segments[exit.segment].outputs[exit.output].tensor,
                exit.tensor
            );
            assert!(exit.windows.iter().all(|&w| graph.exit_of[w] == e));
            leaving += exit.windows.len();
        }
        assert_eq!(leaving, wins.len(), "every window leaves exactly once");
        assert_eq!(graph.windows_of(0).len(), wins.len());
        for (i, s) in graph.segments.iter().enumerate() {
            let [h, w] = s.map;
            for r in &s.regions {
                assert!(
                    Rect::new(0, 0, h as i64, w as i64).contains(r),
                    "{r:?} outside {h}×{w}"
                );
            }
            // Window ops pad nothing: crops and masks carry the padding.
            for n in &s.model.graph.as_ref().expect("graph").node {
                if matches!(op(n), "Conv" | "MaxPool" | "AveragePool") {
                    assert!(ir::attr_s(n, "auto_pad").is_none());
                    let pads = ir::attr_ints(n, "pads").unwrap_or_default();
                    assert!(pads.iter().all(|&p| p == 0), "segment {i}: {pads:?}");
                }
            }
            for a in &s.inputs {
                if let Source::Segment { segment, output } = a.source {
                    assert!(segment < i);
                    assert_eq!(graph.segments[segment].outputs[output].tensor, a.tensor);
                }
            }
        }
    }

    #[test]
    fn resnet18_plans_are_consistent() {
        lantern_core::skip_without_reference!();
        let m = load_model(&reference_dir().join("resnet18/model.onnx")).expect("model");
        let shapes = shapes_of(&m);
        let wins = windows(224, 32, 14);
        let dominators = GraphIndex::new(&m).expect("index").dominators();
        for segmentation in [Segmentation::PerOp, Segmentation::Fused] {
            let options = PlanOptions {
                segmentation,
                ..PlanOptions::default()
            };
            let plan = plan_incremental(&m, &shapes, &wins, &options).expect("plan");
            print(&plan);
            assert!(plan.estimated_fraction < 0.7, "{}", plan.note);
            check(&plan, &wins, &dominators);
            let graph = plan.graph.as_ref().expect("a plan");
            // The corner window's field stays smaller than the centre's.
            let last = &graph.segments[graph.segments.len() - 1];
            assert!(last.box_of(0).area() < last.box_of(wins.len() / 2).area());
            let fused = plan.note.contains("fused");
            assert_eq!(fused, segmentation == Segmentation::Fused, "{}", plan.note);
        }
    }

    #[test]
    fn mobilenetv2_plan() {
        lantern_core::skip_without_assets!();
        let m = load_model(&assets_dir().join("models/mobilenetv2-12-float.onnx")).expect("model");
        let shapes = shapes_of(&m);
        let wins = windows(224, 32, 14);
        let dominators = GraphIndex::new(&m).expect("index").dominators();
        let plan = plan_incremental(&m, &shapes, &wins, &PlanOptions::default()).expect("plan");
        print(&plan);
        assert!(plan.estimated_fraction < 0.8, "{}", plan.note);
        check(&plan, &wins, &dominators);
        // Fused: cut only between inverted residuals; the depthwise convolutions inside read
        // their (recomputed, six times wider) inputs through masks.
        let options = PlanOptions {
            segmentation: Segmentation::Fused,
            ..PlanOptions::default()
        };
        let plan = plan_incremental(&m, &shapes, &wins, &options).expect("plan");
        print(&plan);
        check(&plan, &wins, &dominators);
        let graph = plan.graph.as_ref().expect("a plan");
        let masked = graph
            .segments
            .iter()
            .flat_map(|s| &s.inputs)
            .filter(|a| a.source == Source::Mask)
            .count();
        assert!(masked > 0, "{}", plan.note);
        assert!(
            graph.segments.iter().all(|s| s.inputs[0].shape[0] <= 160),
            "fused segments start at narrow tensors"
        );
    }
}
