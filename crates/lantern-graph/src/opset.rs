//! Raising a model's default-domain opset so that forward nodes stay valid next to the backward
//! nodes (which use opset-17 forms). Between opset 7 and 17 most ops only gained types; the ones
//! whose attributes or semantics changed are rewritten here:
//!
//! | op | change | rewrite |
//! |---|---|---|
//! | Unsqueeze, Squeeze, ReduceSum (13) | `axes` attribute → input | int64 initializer input |
//! | Split (13) | `split` attribute → input | int64 initializer input |
//! | Clip (11) | `min`/`max` attributes → inputs | scalar initializers |
//! | Pad (11) | `pads`/`value` attributes → inputs | initializers |
//! | Slice (10) | `starts`/`ends`/`axes` attributes → inputs | initializers |
//! | TopK (10) | `k` attribute → input | initializer |
//! | Dropout (12) | `ratio` attribute → input | dropped (inference: identity) |
//! | BatchNormalization (9) | `spatial` attribute removed | dropped when 1, else refused |
//! | Softmax, LogSoftmax, Hardmax (13) | coerce to 2-D at `axis` → per-axis | kept when `axis` is the last axis, else Flatten → op → Reshape |
//!
//! Upsample (removed), Scatter (removed) and Resize before 11 are refused; so are models
//! older than opset 7 (per-op `broadcast` attributes). Nodes inside subgraphs are not touched.

use crate::GraphError;
use crate::ir::{self, a_int, make_node, op};
use crate::proto::{GraphProto, ModelProto, NodeProto, TensorProto};
use std::collections::{HashMap, HashSet};

struct Upgrader {
    names: HashSet<String>,
    counter: usize,
    inits: Vec<TensorProto>,
    float: i32,
}

impl Upgrader {
    fn fresh(&mut self, hint: &str) -> String {
        loop {
            self.counter += 1;
            let n = format!("lantern/opset/{hint}_{}", self.counter);
            if self.names.insert(n.clone()) {
                return n;
            }
        }
    }

    fn ints(&mut self, hint: &str, v: &[i64]) -> String {
        let name = self.fresh(hint);
        self.inits.push(ir::tensor_i64(&name, &[v.len() as i64], v));
        name
    }

    fn scalar(&mut self, hint: &str, v: f32) -> String {
        let name = self.fresh(hint);
        self.inits
            .push(ir::tensor_float_of(&name, self.float, &[], &[v as f64]));
        name
    }
}

fn refuse(n: &NodeProto, from: i64, why: &str) -> GraphError {
    GraphError::UnsupportedVariant {
        op_type: op(n).to_string(),
        node_name: ir::node_label(n),
        detail: format!("cannot raise opset {from} to the gradient graph's: {why}"),
    }
}

/// Moves an ints attribute to input `idx` (padding skipped optional inputs with "").
fn attr_to_input(u: &mut Upgrader, n: &mut NodeProto, attr: &str, idx: usize) {
    if let Some(a) = ir::remove_attr(n, attr) {
        let name = u.ints(attr, &a.ints);
        set_input(n, idx, &name);
    }
}

fn set_input(n: &mut NodeProto, idx: usize, name: &str) {
    if n.input.len() <= idx {
        n.input.resize(idx + 1, String::new());
    }
    n.input[idx] = name.to_string();
}

/// Rewrites the top-level graph for opset `target` (no-op when the model is already there).
pub(crate) fn upgrade(
    model: &mut ModelProto,
    shapes: &mut HashMap<String, Vec<i64>>,
    target: i64,
) -> Result<(), GraphError> {
    let from = ir::default_opset(model);
    if from >= target {
        return Ok(());
    }
    let g = model
        .graph
        .as_mut()
        .ok_or_else(|| GraphError::InvalidModel("the model has no graph".into()))?;
    if from < 7 {
        return Err(GraphError::InvalidModel(format!(
            "opset {from} is older than 7; convert the model with onnx.version_converter first"
        )));
    }
    let mut u = Upgrader::for_graph(g);
    let mut nodes = Vec::with_capacity(g.node.len());
    for n in std::mem::take(&mut g.node) {
        if ir::is_default_domain(&n) {
            upgrade_node(&mut u, n, from, shapes, &mut nodes)?;
        } else {
            nodes.push(n);
        }
    }
    g.node = nodes;
    g.initializer.append(&mut u.inits);
    ir::set_default_opset(model, target);
    Ok(())
}

impl Upgrader {
    /// An upgrader that avoids every name already in `g`.
    fn for_graph(g: &GraphProto) -> Upgrader {
        let float = ir::image_input(g)
            .and_then(ir::value_info_tensor)
            .map(|(t, _)| t)
            .unwrap_or(crate::proto::tensor_proto::DataType::Float as i32);
        let mut names: HashSet<String> = HashSet::new();
        for n in &g.node {
            names.extend(n.input.iter().cloned());
            names.extend(n.output.iter().cloned());
        }
        names.extend(g.initializer.iter().filter_map(|t| t.name.clone()));
        names.extend(g.input.iter().filter_map(|v| v.name.clone()));
        Upgrader {
            names,
            counter: 0,
            inits: Vec::new(),
            float,
        }
    }
}

/// Node `n` (default domain) rewritten from opset `from`, pushed onto `nodes`.
fn upgrade_node(
    u: &mut Upgrader,
    mut n: NodeProto,
    from: i64,
    shapes: &mut HashMap<String, Vec<i64>>,
    nodes: &mut Vec<NodeProto>,
) -> Result<(), GraphError> {
    match op(&n) {
        "Unsqueeze" | "Squeeze" | "ReduceSum" if from < 13 => attr_to_input(u, &mut n, "axes", 1),
        "Split" if from < 13 => attr_to_input(u, &mut n, "split", 1),
        "Clip" if from < 11 => {
            let min = ir::remove_attr(&mut n, "min").and_then(|a| a.f);
            let max = ir::remove_attr(&mut n, "max").and_then(|a| a.f);
            if let Some(v) = min {
                let s = u.scalar("clip_min", v);
                set_input(&mut n, 1, &s);
            }
            if let Some(v) = max {
                let s = u.scalar("clip_max", v);
                set_input(&mut n, 2, &s);
            }
        }
        "Pad" if from < 11 => {
            let value = ir::remove_attr(&mut n, "value")
                .and_then(|a| a.f)
                .unwrap_or(0.0);
            attr_to_input(u, &mut n, "pads", 1);
            let s = u.scalar("pad_value", value);
            set_input(&mut n, 2, &s);
        }
        "Slice" if from < 10 => {
            attr_to_input(u, &mut n, "starts", 1);
            attr_to_input(u, &mut n, "ends", 2);
            attr_to_input(u, &mut n, "axes", 3);
        }
        "TopK" if from < 10 => {
            if let Some(k) = ir::remove_attr(&mut n, "k").and_then(|a| a.i) {
                let s = u.ints("k", &[k]);
                set_input(&mut n, 1, &s);
            }
        }
        "Dropout" if from < 12 => {
            ir::remove_attr(&mut n, "ratio");
            ir::remove_attr(&mut n, "is_test");
        }
        "BatchNormalization" if from < 9 => {
            if let Some(a) = ir::remove_attr(&mut n, "spatial")
                && a.i.unwrap_or(1) != 1
            {
                return Err(refuse(&n, from, "spatial = 0"));
            }
            ir::remove_attr(&mut n, "is_test");
        }
        "Softmax" | "LogSoftmax" | "Hardmax" if from < 13 => {
            return softmax_axis(u, n, shapes, nodes);
        }
        "Upsample" | "Scatter" => {
            return Err(refuse(&n, from, "the op was removed; re-export the model"));
        }
        "Resize" if from < 11 => {
            return Err(refuse(&n, from, "Resize changed its inputs at opset 11"));
        }
        _ => {}
    }
    nodes.push(n);
    Ok(())
}

/// Softmax-family semantics before opset 13: flatten to `[prod(:axis), prod(axis:)]`, the op
/// over the last axis. The same as the new semantics when `axis` is the last axis; else
/// Flatten → op(axis 1) → Reshape back.
fn softmax_axis(
    u: &mut Upgrader,
    mut n: NodeProto,
    shapes: &mut HashMap<String, Vec<i64>>,
    nodes: &mut Vec<NodeProto>,
) -> Result<(), GraphError> {
    let x = n.input[0].clone();
    let xs = shapes
        .get(&x)
        .cloned()
        .ok_or_else(|| GraphError::MissingShape(x.clone()))?;
    let rank = xs.len() as i64;
    let axis = ir::attr_i(&n, "axis").unwrap_or(1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis == rank - 1 {
        ir::set_attr(&mut n, a_int("axis", axis));
        nodes.push(n);
        return Ok(());
    }
    let flat = u.fresh("flat");
    let inner = u.fresh("inner");
    let shape = u.fresh("shape");
    let y = n.output[0].clone();
    let label = ir::node_label(&n);
    nodes.push(make_node(
        "Flatten",
        &[&x],
        &[&flat],
        &format!("{label}/flatten"),
        vec![a_int("axis", axis)],
    ));
    nodes.push(make_node(
        "Shape",
        &[&x],
        &[&shape],
        &format!("{label}/shape"),
        vec![],
    ));
    let a = axis as usize;
    shapes.insert(
        flat.clone(),
        vec![xs[..a].iter().product(), xs[a..].iter().product()],
    );
    shapes.insert(inner.clone(), shapes[&flat].clone());
    n.input[0] = flat;
    n.output[0] = inner.clone();
    ir::set_attr(&mut n, a_int("axis", 1));
    nodes.push(n);
    nodes.push(make_node(
        "Reshape",
        &[&inner, &shape],
        &[&y],
        &format!("{label}/reshape"),
        vec![],
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{a_float, a_ints};
    use crate::testing::{model, node, probe, run, session, uniform};

    /// The upgraded model computes the same outputs as the original (both run by ORT).
    #[test]
    fn upgraded_models_compute_the_same() {
        let x = uniform(&[1, 4, 3, 5], -2.0, 2.0, 1);
        let nodes = vec![
            node(
                "Clip",
                &["x"],
                &["c"],
                vec![a_float("min", -1.0), a_float("max", 1.5)],
            ),
            node("Unsqueeze", &["c"], &["u"], vec![a_ints("axes", &[0])]),
            node("Squeeze", &["u"], &["s"], vec![a_ints("axes", &[0])]),
            node(
                "Split",
                &["s"],
                &["a", "b"],
                vec![a_int("axis", 1), a_ints("split", &[1, 3])],
            ),
            node(
                "Pad",
                &["b"],
                &["p"],
                vec![a_ints("pads", &[0, 0, 1, 0, 0, 0, 0, 2])],
            ),
            node(
                "Slice",
                &["p"],
                &["sl"],
                vec![
                    a_ints("starts", &[1]),
                    a_ints("ends", &[3]),
                    a_ints("axes", &[2]),
                ],
            ),
            node("ReduceSum", &["sl"], &["r"], vec![a_ints("axes", &[3])]),
            node("Dropout", &["r"], &["d"], vec![a_float("ratio", 0.5)]),
            node("Softmax", &["d"], &["y"], vec![a_int("axis", 1)]),
        ];
        let mut dims: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
        dims[0] = -1;
        let m = model(nodes, vec![], &[("x", &dims)], &["y"], 9);
        let shapes = probe(&m, &[("x", &x)]);
        let mut up = m.clone();
        let mut s = shapes.0.clone();
        upgrade(&mut up, &mut s, 17).expect("upgrade");
        assert_eq!(ir::default_opset(&up), 17);
        let before = run(&mut session(&m), &[("x", &x)]);
        let after = run(&mut session(&up), &[("x", &x)]);
        assert_eq!(before["y"], after["y"]);
    }
}
