//! Where windows leave the incremental part: each window's exit ([`choose_exits`]), the suffix
//! model from a cut tensor, and the clean-activation graph that completes a plan.

use super::{Exit, IncrementalGraph, Segment, Source};
use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::proto::ModelProto;
use crate::surgery::cut::{GraphIndex, float_value_info};
use crate::surgery::receptive::{Rect, spatial_shape};
use std::collections::{HashMap, HashSet};

/// The graph from a cut tensor (its input, `[N, C, H, W]`) to the model's first output.
pub(super) fn suffix_model(
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

/// The clean-activation graph and the assembled plan (with each window's exit, from `exits`).
pub(super) fn finish(
    model: &ModelProto,
    ix: &GraphIndex,
    segments: Vec<Segment>,
    exits: Vec<Exit>,
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
    // Every window leaves at exactly one exit.
    let mut exit_of = vec![0; windows.len()];
    for (e, exit) in exits.iter().enumerate() {
        for &w in &exit.windows {
            exit_of[w] = e;
        }
    }
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
pub(super) fn choose_exits(
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
