//! Seeded weights: for architecture-only models (the `onnx` package's `light_*` models carry
//! placeholder `ConstantOfShape` weights) and for cascading randomisation (Adebayo et al.'s
//! model-parameter sanity check), which randomises layers one by one from the top.

use crate::ir::{self, op};
use crate::proto::tensor_proto::DataType;
use crate::proto::{GraphProto, ModelProto, TensorProto};
use lantern_core::SplitMix64;
use lantern_core::hash::{FNV_OFFSET_BASIS, Fnv1a};
use std::collections::{HashMap, HashSet};

/// Ops whose constant float inputs are parameters.
const PARAM_OPS: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "PRelu",
    "Add",
    "Sub",
    "Mul",
    "Div",
];

/// Ops a parameter may pass through on its way to the layer (exporters reshape weights).
const PASS: &[&str] = &[
    "Identity",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
    "Flatten",
    "Transpose",
    "Cast",
];

/// Replaces every `ConstantOfShape` whose shape is a constant by an initializer holding its
/// value (the `light_*` models generate all weights that way), drops initializers and graph
/// inputs nothing reads any more, and returns how many were materialised. Tensor names stay.
pub fn materialise_constant_weights(m: &mut ModelProto) -> usize {
    let ir_version = m.ir_version.unwrap_or(0);
    let Some(g) = m.graph.as_mut() else {
        return 0;
    };
    let consts = ir::constants(g);
    let mut new_inits = Vec::new();
    let mut kept = Vec::with_capacity(g.node.len());
    for n in std::mem::take(&mut g.node) {
        if op(&n) == "ConstantOfShape"
            && ir::is_default_domain(&n)
            && let Some(shape) = n
                .input
                .first()
                .and_then(|s| consts.get(s))
                .and_then(ir::tensor_values_i64)
            && shape.iter().all(|&d| d >= 0)
            && let Some(out) = n.output.first()
        {
            let value = ir::attr_t(&n, "value").cloned();
            let (dt, v) = match value {
                Some(t) => (
                    t.data_type.unwrap_or(DataType::Float as i32),
                    ir::tensor_values_f64(&t)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0.0),
                ),
                None => (DataType::Float as i32, 0.0),
            };
            if dt == DataType::Float as i32
                || dt == DataType::Double as i32
                || dt == DataType::Float16 as i32
            {
                let data = vec![v; ir::numel(&shape)];
                new_inits.push(ir::tensor_float_of(out, dt, &shape, &data));
                continue;
            }
        }
        kept.push(n);
    }
    g.node = kept;
    let count = new_inits.len();
    if ir_version < 4 {
        // IR < 4: every initializer is also a graph input.
        for t in &new_inits {
            let dims: Vec<Option<i64>> = t.dims.iter().map(|&d| Some(d)).collect();
            g.input.push(ir::value_info(
                t.name.as_deref().unwrap_or(""),
                t.data_type.unwrap_or(1),
                Some(&dims),
                "",
            ));
        }
    }
    g.initializer.extend(new_inits);
    drop_unused(g);
    count
}

fn drop_unused(g: &mut GraphProto) {
    let mut read: HashSet<String> = HashSet::new();
    for n in &g.node {
        read.extend(ir::node_reads(n));
    }
    read.extend(g.output.iter().filter_map(|o| o.name.clone()));
    let unused: HashSet<String> = g
        .initializer
        .iter()
        .filter_map(|t| t.name.clone())
        .filter(|n| !read.contains(n))
        .collect();
    g.initializer
        .retain(|t| t.name.as_ref().is_none_or(|n| !unused.contains(n)));
    g.input
        .retain(|v| v.name.as_ref().is_none_or(|n| !unused.contains(n)));
}

/// Where a parameter input comes from: a float constant (initializer, Constant, or
/// `ConstantOfShape` of a constant shape), possibly through reshapes; `None` for activations.
fn param_source(
    name: &str,
    g: &GraphProto,
    producers: &HashMap<String, usize>,
    consts: &HashMap<String, TensorProto>,
) -> Option<String> {
    let mut t = name.to_string();
    for _ in 0..16 {
        if let Some(c) = consts.get(&t) {
            let dt = c.data_type.unwrap_or(0);
            let float = dt == DataType::Float as i32
                || dt == DataType::Double as i32
                || dt == DataType::Float16 as i32;
            return (float && ir::numel(&c.dims) > 1).then_some(t);
        }
        let n = &g.node[*producers.get(&t)?];
        match op(n) {
            "ConstantOfShape" => {
                let shape = n
                    .input
                    .first()
                    .and_then(|s| consts.get(s))
                    .and_then(ir::tensor_values_i64)?;
                return (ir::numel(&shape) > 1).then_some(t);
            }
            o if PASS.contains(&o) => t = n.input.first()?.clone(),
            _ => return None,
        }
    }
    None
}

/// Parameterised layers in topological order: (node name, or its first output when unnamed;
/// the constant tensors it reads as parameters). A parameter shared by several layers is listed
/// with each. Scalars (Clip bounds, scale factors) are not parameters.
pub fn parameter_layers(m: &ModelProto) -> Vec<(String, Vec<String>)> {
    let Some(g) = m.graph.as_ref() else {
        return Vec::new();
    };
    let producers = ir::producers(g);
    let consts = ir::constants(g);
    let mut out = Vec::new();
    for i in ir::topo_order(g) {
        let n = &g.node[i];
        if !PARAM_OPS.contains(&op(n)) || !ir::is_default_domain(n) {
            continue;
        }
        let mut params: Vec<String> = Vec::new();
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            if let Some(src) = param_source(inp, g, &producers, &consts)
                && !params.contains(&src)
            {
                params.push(src);
            }
        }
        // Elementwise ops between constants only are constant folding, not layers.
        let elementwise = matches!(op(n), "Add" | "Sub" | "Mul" | "Div");
        if params.is_empty() || elementwise && params.len() == n.input.len() {
            continue;
        }
        out.push((ir::node_label(n), params));
    }
    out
}

/// FNV-1a of the name, from the offset basis mixed with the seed.
fn name_seed(seed: u64, name: &str) -> u64 {
    Fnv1a::with_basis(FNV_OFFSET_BASIS ^ seed)
        .bytes(name.as_bytes())
        .finish()
}

/// Replaces float parameters (see [`parameter_layers`]) whose name passes `filter` with seeded
/// random values: Kaiming/He-uniform weights `U(±√(6/fan_in))` (activations keep their scale
/// through ReLU layers), biases `U(±1/√fan_in)`, BatchNormalization scale `U(0.8, 1.2)`,
/// bias and mean `U(±0.1)`, variance `U(0.5, 1.5)` (positive), multiplicative constants
/// `U(0.8, 1.2)`, additive ones `U(±0.1)`. Each tensor's values depend only on `seed` and its
/// name, so randomising a subset reproduces the same values as randomising all. Placeholder
/// `ConstantOfShape` weights are materialised first ([`materialise_constant_weights`]).
pub fn randomise_initializers(m: &mut ModelProto, seed: u64, filter: impl Fn(&str) -> bool) {
    materialise_constant_weights(m);
    let layers = parameter_layers(m);
    let Some(g) = m.graph.as_mut() else {
        return;
    };
    let producers = ir::producers(g);
    // Role of each parameter: (lo, hi) of its uniform distribution.
    let mut ranges: HashMap<String, (f64, f64)> = HashMap::new();
    let inits: HashMap<String, Vec<i64>> = g
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.clone()?, t.dims.clone())))
        .collect();
    let consts = ir::constants(g);
    for i in ir::topo_order(g) {
        let n = &g.node[i];
        if !PARAM_OPS.contains(&op(n)) {
            continue;
        }
        for (k, inp) in n.input.iter().enumerate() {
            let Some(src) = param_source(inp, g, &producers, &consts) else {
                continue;
            };
            if ranges.contains_key(&src) || !layers.iter().any(|(_, p)| p.contains(&src)) {
                continue;
            }
            let Some(dims) = inits.get(&src) else {
                continue;
            };
            let rest = |from: usize| dims.iter().skip(from).product::<i64>().max(1) as f64;
            let weight_fan_in = match op(n) {
                "Conv" | "ConvTranspose" if k == 1 => Some(rest(1)),
                "Gemm" if k == 1 => Some(if ir::attr_i(n, "transB").unwrap_or(0) != 0 {
                    dims.get(1).copied().unwrap_or(1) as f64
                } else {
                    dims.first().copied().unwrap_or(1) as f64
                }),
                "Gemm" if k == 0 => Some(dims.get(1).copied().unwrap_or(1) as f64),
                "MatMul" if k == 1 => {
                    Some(dims.get(dims.len().saturating_sub(2)).copied().unwrap_or(1) as f64)
                }
                "MatMul" => Some(dims.last().copied().unwrap_or(1) as f64),
                _ => None,
            };
            let range = if let Some(f) = weight_fan_in {
                let b = (6.0 / f).sqrt();
                (-b, b)
            } else {
                match (op(n), k) {
                    ("Conv" | "ConvTranspose" | "Gemm", _) => {
                        // Bias: the fan-in of this layer's weight.
                        let w = n
                            .input
                            .get(1)
                            .and_then(|w| param_source(w, g, &producers, &consts));
                        let f = w
                            .and_then(|w| inits.get(&w))
                            .map(|d| {
                                if op(n) == "Gemm" {
                                    if ir::attr_i(n, "transB").unwrap_or(0) != 0 {
                                        d.get(1).copied().unwrap_or(1)
                                    } else {
                                        d.first().copied().unwrap_or(1)
                                    }
                                } else {
                                    d.iter().skip(1).product::<i64>()
                                }
                            })
                            .unwrap_or(1)
                            .max(1) as f64;
                        let b = 1.0 / f.sqrt();
                        (-b, b)
                    }
                    ("BatchNormalization", 1) => (0.8, 1.2),
                    ("BatchNormalization", 4) => (0.5, 1.5),
                    ("BatchNormalization", _) => (-0.1, 0.1),
                    ("InstanceNormalization" | "LayerNormalization", 1) => (0.8, 1.2),
                    ("PRelu", _) => (0.0, 0.3),
                    ("Mul" | "Div", _) => (0.8, 1.2),
                    _ => (-0.1, 0.1),
                }
            };
            ranges.insert(src, range);
        }
    }
    for t in g.initializer.iter_mut() {
        let Some(name) = t.name.clone() else {
            continue;
        };
        let Some(&(lo, hi)) = ranges.get(&name) else {
            continue;
        };
        if !filter(&name) {
            continue;
        }
        let dt = t.data_type.unwrap_or(DataType::Float as i32);
        let mut r = SplitMix64::new(name_seed(seed, &name));
        let v: Vec<f64> = (0..ir::numel(&t.dims)).map(|_| r.uniform(lo, hi)).collect();
        let fresh = ir::tensor_float_of(&name, dt, &t.dims, &v);
        *t = TensorProto {
            doc_string: t.doc_string.take(),
            ..fresh
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::onnx_light_dir;

    #[test]
    fn light_alexnet_gets_seeded_fan_in_scaled_weights() {
        let path = onnx_light_dir().join("light_bvlc_alexnet.onnx");
        let m0 = crate::load_model(&path).expect("model");
        assert!(
            parameter_layers(&m0).len() >= 8,
            "placeholder weights count as parameters"
        );
        let mut a = m0.clone();
        randomise_initializers(&mut a, 1, |_| true);
        let g = a.graph.as_ref().expect("graph");
        assert!(g.node.iter().all(|n| op(n) != "ConstantOfShape"));
        let layers = parameter_layers(&a);
        assert_eq!(layers.len(), 8, "5 conv + 3 fc: {layers:?}");
        assert_eq!(layers[0].1, ["conv1_w_0", "conv1_b_0"]);
        assert_eq!(layers[7].1, ["fc8_w_0", "fc8_b_0"]);
        let conv1 = g
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some("conv1_w_0"))
            .expect("conv1");
        let v = ir::tensor_values_f64(conv1).expect("values");
        let bound = (6.0f64 / (3.0 * 11.0 * 11.0)).sqrt();
        assert!(v.iter().all(|x| x.abs() <= bound));
        assert!(v.iter().any(|x| x.abs() > 0.9 * bound));
        // Same seed, same values; a filter only skips, never shifts, the others.
        let mut b = m0.clone();
        randomise_initializers(&mut b, 1, |n| n != "conv2_w_0");
        let gb = b.graph.as_ref().expect("graph");
        let find = |g: &GraphProto, n: &str| {
            g.initializer
                .iter()
                .find(|t| t.name.as_deref() == Some(n))
                .cloned()
        };
        assert_eq!(find(g, "conv1_w_0"), find(gb, "conv1_w_0"));
        assert_ne!(find(g, "conv2_w_0"), find(gb, "conv2_w_0"));
        let mut c = m0;
        randomise_initializers(&mut c, 2, |_| true);
        assert_ne!(
            find(g, "conv1_w_0"),
            find(c.graph.as_ref().expect("g"), "conv1_w_0")
        );
    }
}
