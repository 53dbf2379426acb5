//! The fused segmentation ([`Segmentation::Fused`](super::Segmentation::Fused)): the cheapest
//! chain of segments from cut tensor to cut tensor, each recomputing everything between its ends
//! (see [`crate::surgery::fused`]).

use super::Planning;
use super::approximate::threshold;
use super::exits::{choose_exits, finish, suffix_model};
use super::{
    Exit, IncrementalGraph, Segment, SegmentInput, SegmentOutput, Source, box_of, chw, groups,
};
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::proto::ModelProto;
use crate::surgery::cut::{GraphIndex, float_value_info};
use crate::surgery::fused::{Fused, fuse};
use crate::surgery::receptive::{NodeRule, Rect, WindowMap, spatial_shape};
use std::collections::HashMap;

/// Per tensor of the prefix, per window: the region the window's occluder can change.
fn propagate_tensors(
    ix: &GraphIndex,
    shapes: &TensorShapes,
    rules: &HashMap<usize, Result<NodeRule, String>>,
    prefix: &[usize],
    windows: &[Rect],
    input_shape: [i64; 4],
    tau: f64,
    cuts: &[String],
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
        if n.output.iter().any(|o| cuts.contains(o)) {
            for r in &mut r {
                *r = threshold(*r, tau, h, w);
            }
        }
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            regions.insert(o.clone(), r.clone());
        }
    }
    regions
}

/// A priced chain of fused segments (see [`super::fused`]).
pub(super) struct FusedPlan {
    /// The fused segments, in order: image → cut → cut ….
    pub(super) chain: Vec<Fused>,
    /// Per segment of the chain, the cut (index into `cuts`) it ends at.
    pub(super) ends: Vec<usize>,
    /// Per window, its exit (index into `ends`).
    pub(super) choice: Vec<usize>,
    /// Per window, its region at each segment's output.
    pub(super) regions: Vec<Vec<Rect>>,
    pub(super) total: f64,
}

/// The cheapest chain of fused segments from the image through cut tensors, with per-window
/// exits; `None` when no chain fuses.
pub(super) fn plan_fused(p: &Planning) -> Option<FusedPlan> {
    // Fused segments with more boundaries between their ends than this are not tried.
    const SPAN: usize = 16;
    let last = p.cuts.last()?;
    let prefix = p.ix.active_ancestors(last);
    let regions = propagate_tensors(
        p.ix,
        p.shapes,
        p.rules,
        &prefix,
        p.windows,
        p.input_shape,
        p.options.tau,
        p.cuts,
    );
    // Boundaries: 0 = the image, k = cuts[k − 1].
    let names: Vec<&str> = std::iter::once(p.ix.input.as_str())
        .chain(p.cuts.iter().map(String::as_str))
        .collect();
    let before: Vec<std::collections::HashSet<usize>> = names
        .iter()
        .map(|t| p.ix.active_ancestors(t).into_iter().collect())
        .collect();
    let all: Vec<usize> = (0..p.windows.len()).collect();
    let n = p.windows.len();
    // best[j]: cheapest chain to boundary j (total over windows), its last hop and per-window cost.
    let mut best: Vec<Option<(f64, usize, Vec<f64>)>> = vec![None; names.len()];
    best[0] = Some((0.0, 0, vec![0.0; n]));
    let mut hops: HashMap<(usize, usize), Fused> = HashMap::new();
    for j in 1..names.len() {
        for i in j.saturating_sub(SPAN)..j {
            let Some((base, _, base_w)) = best[i].as_ref() else {
                continue;
            };
            let nodes: Vec<usize> =
                p.ix.order
                    .iter()
                    .copied()
                    .filter(|k| before[j].contains(k) && !before[i].contains(k))
                    .collect();
            let Some(f) = fuse(
                p.ix, p.shapes, p.rules, &nodes, names[i], names[j], p.options,
            ) else {
                continue;
            };
            let out = &regions[names[j]];
            let c_in = p.channels(names[i]);
            let c_out = p.channels(names[j]);
            // Slices and masks copy their read (all channels); masks are fed (one channel).
            let extra: Vec<(f64, WindowMap)> = f
                .uses
                .iter()
                .filter(|u| f.sliced(u) || f.masked(u))
                .map(|u| {
                    let copies = f64::from(u8::from(f.sliced(u)) + u8::from(f.masked(u)));
                    (
                        copies * p.channels(&u.tensor) + f64::from(u8::from(f.masked(u))),
                        u.map,
                    )
                })
                .collect();
            let calls =
                p.options.call_cost * groups(out, &all, p.options.batch).len() as f64 / n as f64;
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
                        + p.options.copy_cost * (c_in * crop + c_out * b.area() as f64 + masks)
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
                w.iter().map(|c| c + p.exit_cost[b - 1]).collect()
            })
            .collect();
        let (choice, allowed, total) = choose_exits(&cost, n, p.options.max_exits);
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

pub(super) fn build_fused(
    model: &ModelProto,
    p: &Planning,
    plan: FusedPlan,
) -> Result<IncrementalGraph, GraphError> {
    let shape3 = |t: &str| chw(p.shapes, t);
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
                    feed: crate::surgery::fused::mask_feed(f, u),
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
        let sub = crate::surgery::fused::segment_model(p.ix, model, f, feeds)?;
        let [_, h, w] = shape3(&f.output);
        let (macs, labels) = Segment::macs_and_labels(p.ix, p.shapes, &f.nodes);
        segments.push(Segment {
            model: sub,
            inputs,
            outputs: vec![SegmentOutput {
                tensor: f.output.clone(),
                channels: shape3(&f.output)[0],
            }],
            map: [h, w],
            regions,
            macs,
            nodes: labels,
        });
    }
    let mut exits = Vec::new();
    let mut used: Vec<usize> = plan.choice.clone();
    used.sort_unstable();
    used.dedup();
    for &stop in &used {
        let tensor = &p.cuts[plan.ends[stop]];
        exits.push(Exit {
            tensor: tensor.clone(),
            shape: shape3(tensor),
            segment: stop,
            output: 0,
            suffix: suffix_model(model, p.ix, p.shapes, tensor)?,
            windows: (0..p.windows.len())
                .filter(|&w| plan.choice[w] == stop)
                .collect(),
        });
    }
    finish(model, p.ix, segments, exits, p.windows, p.input_shape)
}
