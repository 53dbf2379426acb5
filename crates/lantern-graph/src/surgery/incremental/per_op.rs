//! The per-op segmentation ([`Segmentation::PerOp`](super::Segmentation::PerOp)): each window
//! op starts a segment, the pointwise ops after it join it.

use super::Planning;
use super::approximate::threshold;
use super::exits::{choose_exits, finish, suffix_model};
use super::{
    Exit, IncrementalGraph, Segment, SegmentInput, SegmentOutput, Source, box_of, chw, groups,
    largest,
};
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::ModelProto;
use crate::surgery::cost::{PlanOptions, node_cost};
use crate::surgery::cut::{GraphIndex, float_value_info};
use crate::surgery::receptive::{NodeRule, Rect, WindowMap, spatial_shape};
use std::collections::{HashMap, HashSet};

pub(super) struct Draft {
    pub(super) nodes: Vec<usize>,
    pub(super) window: Option<usize>,
    pub(super) inputs: Vec<DraftInput>,
    pub(super) map: [usize; 2],
    pub(super) macs: f64,
}

pub(super) struct DraftInput {
    pub(super) tensor: String,
    /// `None`: the image; else the producing segment.
    pub(super) from: Option<usize>,
    pub(super) map: WindowMap,
    pub(super) pad_value: f32,
    pub(super) window_read: bool,
}

/// The priced per-op segmentation: segments, each window's regions and cheapest exit.
pub(super) struct PerOpPlan {
    drafts: Vec<Draft>,
    seg_of: HashMap<String, usize>,
    regions: Vec<Vec<Rect>>,
    /// `cost[k][w]`: window `w` leaving at cut `k`.
    cost: Vec<Vec<f64>>,
    /// Per window its exit (index into the cuts), and the exits kept.
    choice: Vec<usize>,
    allowed: Vec<usize>,
    pub(super) total: f64,
}

impl PerOpPlan {
    /// Per cut: its tensor, the estimated cost fraction if every window left there (of
    /// `full_total`, full re-inference of every window), and its largest box as a fraction of
    /// its map.
    pub(super) fn candidates(&self, cuts: &[String], full_total: f64) -> Vec<(String, f64, f64)> {
        cuts.iter()
            .enumerate()
            .map(|(k, t)| {
                let s = self.seg_of[t];
                let (h, w) = largest(&self.regions[s]);
                let [mh, mw] = self.drafts[s].map;
                (
                    t.clone(),
                    self.cost[k].iter().sum::<f64>() / full_total,
                    (h * w) as f64 / (mh * mw).max(1) as f64,
                )
            })
            .collect()
    }
}

/// Segments the prefix up to the last cut per op and prices every window at every exit.
pub(super) fn plan_per_op(p: &Planning) -> PerOpPlan {
    let last = p.cuts.last().expect("at least one cut");
    let prefix = p.ix.active_ancestors(last);
    let (drafts, seg_of) = segments(p.ix, p.shapes, p.rules, &prefix, p.options);
    // Truncated at the segments holding cut tensors only (see `approximate`).
    let at_cuts: HashSet<usize> = p.cuts.iter().map(|t| seg_of[t]).collect();
    let regions = propagate(&drafts, p.windows, p.input_shape, p.options.tau, &at_cuts);
    let all: Vec<usize> = (0..p.windows.len()).collect();
    let readers = read_by(&drafts);
    // Per segment and window.
    let seg_cost: Vec<Vec<f64>> = drafts
        .iter()
        .enumerate()
        .map(|(s, d)| {
            let per_position = d.macs / (d.map[0] * d.map[1]).max(1) as f64;
            // Every tensor of a segment read elsewhere is copied out of its boxes.
            let out_channels: f64 = readers[s].iter().map(|t| p.channels(t)).sum();
            let calls = p.options.call_cost
                * groups(&regions[s], &all, p.options.batch).len() as f64
                / p.windows.len() as f64;
            regions[s]
                .iter()
                .map(|r| {
                    let b = box_of(*r);
                    let crops: f64 = d
                        .inputs
                        .iter()
                        .map(|a| p.channels(&a.tensor) * a.map.needed(b).area() as f64)
                        .sum();
                    (per_position + p.options.copy_cost * out_channels) * b.area() as f64
                        + p.options.copy_cost * crops
                        + calls
                })
                .collect()
        })
        .collect();
    let cost: Vec<Vec<f64>> = p
        .cuts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let last = seg_of[t];
            (0..p.windows.len())
                .map(|w| (0..=last).map(|s| seg_cost[s][w]).sum::<f64>() + p.exit_cost[k])
                .collect()
        })
        .collect();
    let (choice, allowed, total) = choose_exits(&cost, p.windows.len(), p.options.max_exits);
    PerOpPlan {
        drafts,
        seg_of,
        regions,
        cost,
        choice,
        allowed,
        total,
    }
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

/// Per segment, per window: the region the window's occluder can change (truncated to
/// `tau` of the map where [`threshold`] says so).
fn propagate(
    drafts: &[Draft],
    windows: &[Rect],
    input_shape: [i64; 4],
    tau: f64,
    truncated: &HashSet<usize>,
) -> Vec<Vec<Rect>> {
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
            let tau = if truncated.contains(&s) { tau } else { 1.0 };
            regions[s].push(threshold(r, tau, h as i64, wd as i64));
        }
    }
    regions
}

pub(super) fn build(
    model: &ModelProto,
    p: &Planning,
    plan: PerOpPlan,
) -> Result<IncrementalGraph, GraphError> {
    let PerOpPlan {
        mut drafts,
        seg_of,
        mut regions,
        allowed: exits,
        choice,
        ..
    } = plan;
    let (exits, choice) = (&exits[..], &choice[..]);
    let g = p.ix.graph;
    let shape3 = |t: &str| chw(p.shapes, t);
    // Only the segments up to the deepest exit run.
    let keep = exits.iter().map(|&k| seg_of[&p.cuts[k]]).max().unwrap_or(0) + 1;
    drafts.truncate(keep);
    regions.truncate(keep);
    let mut exports = read_by(&drafts);
    for &k in exits {
        let s = seg_of[&p.cuts[k]];
        if !exports[s].contains(&p.cuts[k]) {
            exports[s].push(p.cuts[k].clone());
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
        let sub = p.ix.sub_model(
            model,
            &d.nodes,
            &replace,
            &HashSet::new(),
            feeds,
            &exports[s],
        )?;
        let (macs, labels) = Segment::macs_and_labels(p.ix, p.shapes, &d.nodes);
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
            macs,
            nodes: labels,
        });
    }
    let mut exit_list = Vec::with_capacity(exits.len());
    for &k in exits {
        let tensor = &p.cuts[k];
        let s = seg_of[tensor];
        exit_list.push(Exit {
            tensor: tensor.clone(),
            shape: shape3(tensor),
            segment: s,
            output: exports[s]
                .iter()
                .position(|t| t == tensor)
                .expect("exit exported"),
            suffix: suffix_model(model, p.ix, p.shapes, tensor)?,
            windows: (0..p.windows.len()).filter(|&w| choice[w] == k).collect(),
        });
    }
    finish(model, p.ix, segments, exit_list, p.windows, p.input_shape)
}
