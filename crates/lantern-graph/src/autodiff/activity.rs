//! Which nodes are differentiated: those whose outputs both depend on where the backward pass
//! stops ("active": the input, or the layers with `layers_only`) and feed the logits
//! ("needed"). Every one of them needs a rule, checked before anything is emitted.

use super::GradientSpec;
use super::forward::{Forward, is_float};
use super::rules;
use crate::GraphError;
use crate::ir::{self, op};
use crate::proto::NodeProto;
use std::collections::{HashMap, HashSet};

/// Ops whose outputs carry no gradient (shapes, comparisons, indices, piecewise constants).
const STOP: &[&str] = &[
    "Shape",
    "Size",
    "Constant",
    "ConstantOfShape",
    "ArgMax",
    "ArgMin",
    "NonZero",
    "Equal",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "Not",
    "And",
    "Or",
    "Xor",
    "IsNaN",
    "IsInf",
    "EyeLike",
    "RandomNormalLike",
    "RandomUniformLike",
    "RandomNormal",
    "RandomUniform",
    "Bernoulli",
    "Multinomial",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "OneHot",
    "Range",
    "BitShift",
];

pub(super) struct Activity {
    /// The backward pass stops at the layers (no `grad_input`).
    pub(super) layers_only: bool,
    /// Float tensors that depend on where the backward pass stops.
    pub(super) active: HashSet<String>,
    /// Element types of the active tensors.
    pub(super) dtypes: HashMap<String, i32>,
    /// Per forward node: whether it is differentiated.
    pub(super) on_path: Vec<bool>,
}

/// Marks the differentiated nodes, failing if the logits or a layer is off the path or a node
/// on it has no rule.
pub(super) fn analyse_activity(
    fwd: &Forward,
    spec: &GradientSpec,
    logits: &str,
) -> Result<Activity, GraphError> {
    let layers_only = spec.layers_only && !spec.layers.is_empty();
    let sources: Vec<String> = if layers_only {
        spec.layers.clone()
    } else {
        vec![fwd.image.name.clone()]
    };
    let (active, dtypes) = mark_active(&fwd.nodes, &sources, fwd.image.dtype);
    let needed = mark_needed(fwd, logits);
    if !active.contains(logits) {
        return Err(GraphError::NotDifferentiable {
            name: logits.to_string(),
            why: if layers_only {
                "the logits do not depend on the requested layers".into()
            } else {
                "the logits do not depend on the input".into()
            },
        });
    }
    for l in &spec.layers {
        if !active.contains(l) || !needed.contains(l) {
            let why = if !needed.contains(l) {
                "the logits do not depend on it"
            } else {
                "it does not depend on the input"
            };
            return Err(GraphError::NotDifferentiable {
                name: l.clone(),
                why: why.into(),
            });
        }
    }
    let on_path: Vec<bool> = fwd
        .nodes
        .iter()
        .map(|n| {
            n.output
                .iter()
                .any(|o| needed.contains(o) && active.contains(o))
        })
        .collect();
    check_rules(&fwd.nodes, &on_path)?;
    Ok(Activity {
        layers_only,
        active,
        dtypes,
        on_path,
    })
}

/// The float tensors that depend on `sources`, with their element types (a Cast sets it,
/// every other op keeps its first active input's).
fn mark_active(
    nodes: &[NodeProto],
    sources: &[String],
    dtype: i32,
) -> (HashSet<String>, HashMap<String, i32>) {
    let mut dtypes: HashMap<String, i32> = sources.iter().map(|t| (t.clone(), dtype)).collect();
    let mut active: HashSet<String> = sources.iter().cloned().collect();
    for n in nodes {
        let o = op(n);
        if STOP.contains(&o) && ir::is_default_domain(n) {
            continue;
        }
        let Some(src) = n.input.iter().find(|i| active.contains(*i)) else {
            continue;
        };
        let out_dt = if o == "Cast" {
            ir::attr_i(n, "to").unwrap_or(0) as i32
        } else {
            dtypes.get(src).copied().unwrap_or(dtype)
        };
        if !is_float(out_dt) {
            continue;
        }
        for (k, out) in n.output.iter().enumerate() {
            if !out.is_empty() && !integer_output(o, k) {
                active.insert(out.clone());
                dtypes.insert(out.clone(), out_dt);
            }
        }
    }
    (active, dtypes)
}

/// Output slots that never carry gradient even when the node is differentiated.
fn integer_output(op_type: &str, k: usize) -> bool {
    k > 0
        && matches!(
            op_type,
            "MaxPool" | "Dropout" | "BatchNormalization" | "TopK"
        )
}

/// Every tensor the logits depend on.
fn mark_needed(fwd: &Forward, logits: &str) -> HashSet<String> {
    let mut needed: HashSet<String> = HashSet::new();
    let mut stack = vec![logits.to_string()];
    while let Some(t) = stack.pop() {
        if !needed.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = fwd.producer.get(&t) {
            stack.extend(ir::node_reads(&fwd.nodes[p]));
        }
    }
    needed
}

/// Fails on the first differentiated node without a rule, before anything is emitted.
fn check_rules(nodes: &[NodeProto], on_path: &[bool]) -> Result<(), GraphError> {
    for (n, _) in nodes.iter().zip(on_path).filter(|(_, on)| **on) {
        if !ir::is_default_domain(n) || rules::lookup(op(n)).is_none() {
            let op_type = match n.domain.as_deref() {
                Some(d) if !d.is_empty() && d != "ai.onnx" => format!("{d}::{}", op(n)),
                _ => op(n).to_string(),
            };
            return Err(GraphError::NoGradientRule {
                op_type,
                node_name: ir::node_label(n),
                supported: rules::supported_ops(),
            });
        }
    }
    Ok(())
}
