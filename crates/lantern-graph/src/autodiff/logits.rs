//! The tensor that is differentiated (the logits), the layers exported beside it, and the
//! names the gradient graph reserves for its own inputs and outputs.

use super::GradientSpec;
use super::activity::Activity;
use super::forward::Forward;
use crate::GraphError;
use crate::ir::{self, op};
use crate::proto::{GraphProto, ModelProto, NodeProto};
use std::collections::HashSet;

/// The logits unless the spec names them: the graph output, or the input of a final
/// Softmax/LogSoftmax. Read from the original graph: raising the opset may rewrite a final
/// Softmax (old 2-D coercion → Flatten, Softmax, Reshape) but keeps its input's name.
pub(super) fn default_logits(
    m: &ModelProto,
    spec: &GradientSpec,
) -> Result<Option<String>, GraphError> {
    if spec.logits.is_some() {
        return Ok(None);
    }
    let g0 = ir::graph(m)?;
    let out = ir::first_output(g0)?;
    let softmax = g0
        .node
        .iter()
        .find(|n| n.output.first() == Some(&out))
        .filter(|n| {
            !spec.through_softmax
                && matches!(op(n), "Softmax" | "LogSoftmax")
                && ir::is_default_domain(n)
        });
    Ok(Some(softmax.map_or(out, |n| n.input[0].clone())))
}

/// The logits, after checking that they and every requested layer exist and that no layer
/// takes a name the gradient graph reserves (or is the image itself, whose gradient is
/// `grad_input`).
pub(super) fn checked_logits(
    fwd: &Forward,
    spec: &GradientSpec,
    default_logits: Option<String>,
) -> Result<String, GraphError> {
    let input_name = &fwd.image.name;
    let logits = match &spec.logits {
        Some(l) => {
            if !fwd.has_tensor(l) {
                return Err(GraphError::UnknownTensor(l.clone()));
            }
            l.clone()
        }
        None => default_logits.unwrap_or_default(),
    };
    for l in &spec.layers {
        if !fwd.has_tensor(l) {
            return Err(GraphError::UnknownTensor(l.clone()));
        }
        let renamed_logits = l == "logits"
            && !(logits == "logits" && fwd.shapes.get(&logits).map(Vec::len) == Some(2));
        if (matches!(l.as_str(), "input" | "seed" | "grad_input") && l != input_name)
            || renamed_logits
        {
            return Err(GraphError::InvalidModel(format!(
                "tensor {l:?} cannot be exported: its name is reserved for the gradient graph's inputs/outputs"
            )));
        }
        if l == input_name {
            return Err(GraphError::NotDifferentiable {
                name: l.clone(),
                why: "it is the image input; its gradient is grad_input".into(),
            });
        }
    }
    Ok(logits)
}

/// The differentiated and exported tensors under their final names.
pub(super) struct Names {
    pub(super) logits: String,
    /// The exported layers as the graph now names them.
    pub(super) layers: Vec<String>,
    /// The same layers as the caller named them (deduplicated): `grad_<name>` is their output.
    pub(super) requested: Vec<String>,
    /// Every name in use, so that new tensors get fresh ones.
    pub(super) taken: HashSet<String>,
}

/// Renames forward tensors that hold a reserved name (`seed`, `grad_input`, `input`,
/// `logits`, `grad_<layer>`) to `<name>__<k>`, so that the gradient graph's inputs and
/// outputs can take them.
pub(super) fn free_reserved_names(
    fwd: &mut Forward,
    activity: &mut Activity,
    spec: &GradientSpec,
    mut logits: String,
) -> Names {
    let input_name = fwd.image.name.clone();
    let logits_rank = fwd.shapes.get(&logits).map(Vec::len);
    let mut reserved: Vec<String> = vec!["seed".into(), "grad_input".into()];
    if input_name != "input" {
        reserved.push("input".into());
    }
    if !(logits == "logits" && logits_rank == Some(2)) {
        reserved.push("logits".into());
    }
    reserved.extend(spec.layers.iter().map(|l| format!("grad_{l}")));
    let mut taken: HashSet<String> = HashSet::new();
    for n in &fwd.nodes {
        taken.extend(n.input.iter().cloned());
        taken.extend(n.output.iter().cloned());
    }
    taken.extend(fwd.graph.input.iter().filter_map(|v| v.name.clone()));
    taken.extend(fwd.graph.initializer.iter().filter_map(|t| t.name.clone()));
    let mut seen_layers = HashSet::new();
    let requested: Vec<String> = spec
        .layers
        .iter()
        .filter(|l| seen_layers.insert(l.as_str()))
        .cloned()
        .collect();
    let mut layers = requested.clone();
    for r in &reserved {
        if taken.contains(r) && *r != input_name {
            let mut k = 0;
            let new = loop {
                k += 1;
                let c = format!("{r}__{k}");
                if !taken.contains(&c) {
                    break c;
                }
            };
            rename(&mut fwd.nodes, &mut fwd.graph, r, &new);
            if activity.active.remove(r) {
                activity.active.insert(new.clone());
            }
            if let Some(s) = fwd.shapes.remove(r) {
                fwd.shapes.insert(new.clone(), s);
            }
            if let Some(c) = fwd.consts.remove(r) {
                fwd.consts.insert(new.clone(), c);
            }
            if let Some(d) = activity.dtypes.remove(r) {
                activity.dtypes.insert(new.clone(), d);
            }
            if logits == *r {
                logits = new.clone();
            }
            for l in layers.iter_mut() {
                if l == r {
                    *l = new.clone();
                }
            }
            taken.insert(new);
        }
    }
    for r in &reserved {
        taken.insert(r.clone());
    }
    taken.insert("input".into());
    Names {
        logits,
        layers,
        requested,
        taken,
    }
}

/// Renames a tensor everywhere in the forward graph.
fn rename(forward: &mut [NodeProto], g: &mut GraphProto, old: &str, new: &str) {
    for n in forward.iter_mut() {
        for s in n.input.iter_mut().chain(n.output.iter_mut()) {
            if s == old {
                *s = new.to_string();
            }
        }
    }
    for v in g
        .input
        .iter_mut()
        .chain(g.output.iter_mut())
        .chain(g.value_info.iter_mut())
    {
        if v.name.as_deref() == Some(old) {
            v.name = Some(new.to_string());
        }
    }
    for t in g.initializer.iter_mut() {
        if t.name.as_deref() == Some(old) {
            t.name = Some(new.to_string());
        }
    }
}
