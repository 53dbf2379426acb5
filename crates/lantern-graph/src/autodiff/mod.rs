//! Reverse-mode autodiff: one forward ONNX classifier in, one gradient-exporting ONNX graph out.
//!
//! Steps: raise the opset (≥ 17, see the `opset` module); find the logits; mark the tensors that
//! depend on the input ("active") and those the logits depend on ("needed"); every node that is
//! both is differentiated, in reverse topological order, by its rule from
//! [`rules`]; gradients of tensors used several times are added with one `Sum`; finally the
//! forward nodes still needed (by the outputs or by the backward nodes) are kept.

#[cfg(test)]
mod builder_tests;
pub(crate) mod ctx;
#[cfg(test)]
mod light_tests;
pub mod rules;

#[cfg(test)]
mod network_tests;
#[cfg(test)]
mod zoo_tests;

use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::ir::{self, a_int, make_node, op};
use crate::proto::tensor_proto::DataType;
use crate::proto::{ModelProto, NodeProto, ValueInfoProto};
use ctx::Ctx;
use std::collections::{HashMap, HashSet};

/// How Relu (and ReLU-like Clip, min = 0) pass gradients back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReluRule {
    /// The true gradient: `g · [x > 0]`.
    #[default]
    Plain,
    /// Guided backprop: `relu(g) · [x > 0]` (only positive signals through active units).
    Guided,
    /// Deconvnet: `relu(g)`, whatever x was.
    Deconvnet,
}

/// What to differentiate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GradientSpec {
    /// Intermediate tensors whose activation `T` and gradient `grad_T` are exported too.
    pub layers: Vec<String>,
    pub rule: ReluRule,
    /// The tensor whose seed-weighted sum is differentiated; default: the graph output, or the
    /// input of its Softmax/LogSoftmax.
    pub logits: Option<String>,
    /// Differentiate the probabilities (the Softmax output) instead of the logits.
    pub through_softmax: bool,
    /// Stop the backward pass at `layers`: only the ops between them and the logits are
    /// differentiated and the graph has no `grad_input` output. What CAM methods need — for a
    /// last convolutional block that is the head alone, where the full backward pass to the
    /// image would cost more than the forward pass (ResNet18: 2.6× the forward at batch 1).
    pub layers_only: bool,
}

/// Revision of the graphs [`build_gradient_graph`] emits, bumped whenever the same model and
/// spec would give a different graph (a cache of built graphs must key on it). 2: stride-1
/// Conv backward as Conv, masks of activation outputs with Cast + Mul, static broadcast checks.
/// 3: transformer rules (normalisations, Gelu, Einsum, index routing for Gather/Slice, Resize),
/// Pow in both operands.
pub const GRAPH_REVISION: u32 = 3;

/// The lowest default-domain opset of gradient graphs (ScatterElements with `reduction`
/// needs 16; 17 is what the reference exporters write).
pub const MIN_OPSET: i64 = 17;

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

fn is_float(dt: i32) -> bool {
    [
        DataType::Float,
        DataType::Double,
        DataType::Float16,
        DataType::Bfloat16,
    ]
    .iter()
    .any(|d| *d as i32 == dt)
}

/// Output slots that never carry gradient even when the node is differentiated.
fn integer_output(op_type: &str, k: usize) -> bool {
    k > 0
        && matches!(
            op_type,
            "MaxPool" | "Dropout" | "BatchNormalization" | "TopK"
        )
}

/// Builds the gradient-exporting graph of `m`.
///
/// Inputs: `input` (the model's image input, same type; fed to the original input name through
/// an Identity when that differs) and `seed` `[N, K]`, the upstream gradient at the logits.
/// Outputs: `logits` `[N, K]`, `grad_input` (not with [`GradientSpec::layers_only`]), and `T`,
/// `grad_T` for every requested layer. `shapes` are static shapes at batch 1 from one probe run ([`crate::expose_all_tensors`]).
pub fn build_gradient_graph(
    m: &ModelProto,
    shapes: &TensorShapes,
    spec: &GradientSpec,
) -> Result<ModelProto, GraphError> {
    // The default logits are found in the original graph: raising the opset may rewrite a
    // final Softmax (old 2-D coercion → Flatten, Softmax, Reshape) but keeps its input's name.
    let default_logits = match &spec.logits {
        Some(_) => None,
        None => {
            let g0 = ir::graph(m)?;
            let out = g0
                .output
                .first()
                .and_then(|o| o.name.clone())
                .ok_or_else(|| GraphError::InvalidModel("the graph has no output".into()))?;
            let softmax = g0
                .node
                .iter()
                .find(|n| n.output.first() == Some(&out))
                .filter(|n| {
                    !spec.through_softmax
                        && matches!(op(n), "Softmax" | "LogSoftmax")
                        && ir::is_default_domain(n)
                });
            Some(softmax.map_or(out, |n| n.input[0].clone()))
        }
    };
    let mut model = m.clone();
    let mut shapes = shapes.0.clone();
    let opset = ir::default_opset(&model).max(MIN_OPSET);
    crate::opset::upgrade(&mut model, &mut shapes, opset)?;
    model.ir_version = Some(model.ir_version.unwrap_or(8).max(8));
    let mut g = model
        .graph
        .take()
        .ok_or_else(|| GraphError::InvalidModel("the model has no graph".into()))?;

    let input_vi = ir::image_input(&g)
        .cloned()
        .ok_or_else(|| GraphError::InvalidModel("the graph has no input".into()))?;
    let input_name = input_vi.name.clone().unwrap_or_default();
    let (dtype, input_dims) = ir::value_info_tensor(&input_vi)
        .ok_or_else(|| GraphError::InvalidModel(format!("input {input_name} is not a tensor")))?;
    if !is_float(dtype) {
        return Err(GraphError::InvalidModel(format!(
            "input {input_name} has element type {dtype}; gradients need a float input"
        )));
    }

    let mut consts = ir::constants(&g);
    for t in &g.initializer {
        if let Some(n) = &t.name {
            shapes.entry(n.clone()).or_insert_with(|| t.dims.clone());
        }
    }
    for (n, t) in &consts {
        shapes.entry(n.clone()).or_insert_with(|| t.dims.clone());
    }

    // Forward nodes in topological order.
    let order = ir::topo_order(&g);
    let mut forward: Vec<NodeProto> = order.iter().map(|&i| g.node[i].clone()).collect();
    let producer: HashMap<String, usize> = forward
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            n.output
                .iter()
                .filter(|o| !o.is_empty())
                .map(move |o| (o.clone(), i))
        })
        .collect();
    let exists = |t: &str| producer.contains_key(t) || t == input_name;

    // The logits.
    let mut logits = match &spec.logits {
        Some(l) => {
            if !exists(l) {
                return Err(GraphError::UnknownTensor(l.clone()));
            }
            l.clone()
        }
        None => default_logits.unwrap_or_default(),
    };
    for l in &spec.layers {
        if !exists(l) {
            return Err(GraphError::UnknownTensor(l.clone()));
        }
        let renamed_logits =
            l == "logits" && !(logits == "logits" && shapes.get(&logits).map(Vec::len) == Some(2));
        if (matches!(l.as_str(), "input" | "seed" | "grad_input") && *l != input_name)
            || renamed_logits
        {
            return Err(GraphError::InvalidModel(format!(
                "tensor {l:?} cannot be exported: its name is reserved for the gradient graph's inputs/outputs"
            )));
        }
        if *l == input_name {
            return Err(GraphError::NotDifferentiable {
                name: l.clone(),
                why: "it is the image input; its gradient is grad_input".into(),
            });
        }
    }

    let layers_only = spec.layers_only && !spec.layers.is_empty();
    // Element types along the differentiated path, and which tensors depend on where the
    // backward pass stops (the input, or the layers with `layers_only`).
    let sources: Vec<String> = if layers_only {
        spec.layers.clone()
    } else {
        vec![input_name.clone()]
    };
    let mut dtypes: HashMap<String, i32> = sources.iter().map(|t| (t.clone(), dtype)).collect();
    let mut active: HashSet<String> = sources.iter().cloned().collect();
    for n in &forward {
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
    // What the logits depend on.
    let mut needed: HashSet<String> = HashSet::new();
    let mut stack = vec![logits.clone()];
    while let Some(t) = stack.pop() {
        if !needed.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = producer.get(&t) {
            stack.extend(ir::node_reads(&forward[p]));
        }
    }
    if !active.contains(&logits) {
        return Err(GraphError::NotDifferentiable {
            name: logits,
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
    let on_path: Vec<bool> = forward
        .iter()
        .map(|n| {
            n.output
                .iter()
                .any(|o| needed.contains(o) && active.contains(o))
        })
        .collect();
    // Every op on the path needs a rule: fail before emitting anything.
    for (i, n) in forward.iter().enumerate() {
        if on_path[i] && (!ir::is_default_domain(n) || rules::lookup(op(n)).is_none()) {
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

    // Free the reserved output names.
    let logits_rank = shapes.get(&logits).map(Vec::len);
    let mut reserved: Vec<String> = vec!["seed".into(), "grad_input".into()];
    if input_name != "input" {
        reserved.push("input".into());
    }
    if !(logits == "logits" && logits_rank == Some(2)) {
        reserved.push("logits".into());
    }
    reserved.extend(spec.layers.iter().map(|l| format!("grad_{l}")));
    let mut all_names: HashSet<String> = HashSet::new();
    for n in &forward {
        all_names.extend(n.input.iter().cloned());
        all_names.extend(n.output.iter().cloned());
    }
    all_names.extend(g.input.iter().filter_map(|v| v.name.clone()));
    all_names.extend(g.initializer.iter().filter_map(|t| t.name.clone()));
    let mut seen_layers = HashSet::new();
    let wanted_layers: Vec<String> = spec
        .layers
        .iter()
        .filter(|l| seen_layers.insert(l.as_str()))
        .cloned()
        .collect();
    let mut layers = wanted_layers.clone();
    for r in &reserved {
        if all_names.contains(r) && *r != input_name {
            let mut k = 0;
            let new = loop {
                k += 1;
                let c = format!("{r}__{k}");
                if !all_names.contains(&c) {
                    break c;
                }
            };
            rename(&mut forward, &mut g, r, &new);
            for map in [&mut active, &mut needed] {
                if map.remove(r) {
                    map.insert(new.clone());
                }
            }
            if let Some(s) = shapes.remove(r) {
                shapes.insert(new.clone(), s);
            }
            if let Some(c) = consts.remove(r) {
                consts.insert(new.clone(), c);
            }
            if let Some(d) = dtypes.remove(r) {
                dtypes.insert(new.clone(), d);
            }
            if logits == *r {
                logits = new.clone();
            }
            for l in layers.iter_mut() {
                if l == r {
                    *l = new.clone();
                }
            }
            all_names.insert(new);
        }
    }
    for r in &reserved {
        all_names.insert(r.clone());
    }
    all_names.insert("input".into());

    // Backward pass.
    let logits_shape = shapes
        .get(&logits)
        .cloned()
        .ok_or_else(|| GraphError::MissingShape(logits.clone()))?;
    let k: i64 = logits_shape.iter().skip(1).product();
    let batch_major = batch_major(&forward, &active, &input_name, &shapes);
    let mut ctx = Ctx::new(spec.rule, dtype, shapes, consts, active, all_names, forward);
    ctx.batch_major = batch_major;
    ctx.prefix = "seed".into();
    let seed_at_logits = if logits_shape.len() == 2 {
        "seed".to_string()
    } else {
        ctx.reshape_like("seed", &logits)
    };
    let mut contribs: HashMap<String, Vec<String>> = HashMap::new();
    contribs.insert(logits.clone(), vec![seed_at_logits]);
    let mut totals: HashMap<String, String> = HashMap::new();
    for idx in (0..ctx.forward.len()).rev() {
        if !on_path[idx] {
            continue;
        }
        let n = ctx.forward[idx].clone();
        let gy: Vec<Option<String>> = n
            .output
            .iter()
            .map(|o| total_grad(&mut ctx, &mut contribs, &mut totals, o))
            .collect();
        if gy.iter().all(Option::is_none) {
            continue;
        }
        ctx.prefix = ir::node_label(&n);
        ctx.current = idx;
        if let Some(dt) = n.input.iter().find_map(|i| dtypes.get(i)) {
            ctx.dtype = *dt;
        }
        let rule = rules::lookup(op(&n)).ok_or_else(|| GraphError::NoGradientRule {
            op_type: op(&n).to_string(),
            node_name: ir::node_label(&n),
            supported: rules::supported_ops(),
        })?;
        let gx = rule(&mut ctx, &n, &gy)?;
        for (i, gi) in gx.into_iter().enumerate() {
            if let Some(gi) = gi
                && let Some(x) = n.input.get(i)
                && ctx.needs_grad(x)
            {
                contribs.entry(x.clone()).or_default().push(gi);
            }
        }
    }
    ctx.dtype = dtype;

    // Outputs.
    ctx.prefix = "outputs".into();
    let mut outputs: Vec<ValueInfoProto> = Vec::new();
    let typed = |name: &str| ir::value_info(name, dtype, None, "N");
    if logits != "logits" {
        if logits_shape.len() == 2 {
            ctx.node_named("Identity", &[&logits], "logits", vec![]);
        } else {
            ctx.node_named("Flatten", &[&logits], "logits", vec![a_int("axis", 1)]);
        }
    }
    outputs.push(typed("logits"));
    if !layers_only {
        let gin = total_or_zeros(&mut ctx, &mut contribs, &mut totals, &input_name);
        ctx.node_named("Identity", &[&gin], "grad_input", vec![]);
        outputs.push(typed("grad_input"));
    }
    for (l, orig) in layers.iter().zip(&wanted_layers) {
        if l != "logits" {
            outputs.push(typed(l));
        }
        let gl = total_or_zeros(&mut ctx, &mut contribs, &mut totals, l);
        let name = format!("grad_{orig}");
        ctx.node_named("Identity", &[&gl], &name, vec![]);
        outputs.push(typed(&name));
    }

    // Keep the forward nodes that something still reads.
    let mut wanted: HashSet<String> = HashSet::from([logits.clone()]);
    wanted.extend(layers.iter().cloned());
    for n in &ctx.nodes {
        wanted.extend(ir::node_reads(n));
    }
    let forward = std::mem::take(&mut ctx.forward);
    let mut keep = vec![false; forward.len()];
    let mut stack: Vec<String> = wanted.into_iter().collect();
    let mut seen: HashSet<String> = HashSet::new();
    let fwd_producer: HashMap<String, usize> = forward
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            n.output
                .iter()
                .filter(|o| !o.is_empty())
                .map(move |o| (o.clone(), i))
        })
        .collect();
    while let Some(t) = stack.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = fwd_producer.get(&t)
            && !keep[p]
        {
            keep[p] = true;
            stack.extend(ir::node_reads(&forward[p]));
        }
    }
    let mut nodes: Vec<NodeProto> = Vec::new();
    if input_name != "input" {
        nodes.push(make_node(
            "Identity",
            &["input"],
            &[&input_name],
            "lantern/input",
            vec![],
        ));
    }
    nodes.extend(
        forward
            .into_iter()
            .zip(keep)
            .filter_map(|(n, k)| k.then_some(n)),
    );
    nodes.append(&mut ctx.nodes);

    // Inputs: the image as `input`, the seed, and any other non-initializer inputs as they were.
    let inits = ir::initializer_names(&g);
    let mut inputs = Vec::new();
    let mut image = input_vi.clone();
    image.name = Some("input".into());
    inputs.push(image);
    let batch_dim: Option<i64> = input_dims
        .as_ref()
        .and_then(|d| d.first().copied().flatten());
    let batch_sym = first_dim_param(&input_vi).unwrap_or_else(|| "N".into());
    inputs.push(ir::value_info(
        "seed",
        dtype,
        Some(&[batch_dim, Some(k)]),
        &batch_sym,
    ));
    for v in &g.input {
        if let Some(n) = &v.name
            && *n != input_name
            && !inits.contains(n)
        {
            inputs.push(v.clone());
        }
    }

    // Initializers that are still read.
    let mut read: HashSet<String> = HashSet::new();
    for n in &nodes {
        read.extend(ir::node_reads(n));
    }
    let mut initializer: Vec<_> = std::mem::take(&mut g.initializer)
        .into_iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| read.contains(n)))
        .collect();
    initializer.append(&mut ctx.inits);
    let value_info: Vec<ValueInfoProto> = std::mem::take(&mut g.value_info)
        .into_iter()
        .filter(|v| {
            v.name
                .as_ref()
                .is_some_and(|n| read.contains(n) || nodes.iter().any(|x| x.output.contains(n)))
        })
        .collect();

    g.node = nodes;
    g.input = inputs;
    g.output = outputs;
    g.initializer = initializer;
    g.value_info = value_info;
    g.name = Some(format!("{}_gradient", g.name.as_deref().unwrap_or("graph")));
    model.graph = Some(g);
    Ok(model)
}

/// Ops whose output keeps the batch on axis 0 when their image-dependent inputs have it there
/// (with the same rank as the output): elementwise maps and broadcasting arithmetic, and ops
/// that work per image (convolutions, pools, normalisations, softmax over a non-batch axis).
const BATCH_PRESERVING: &[&str] = &[
    "Abs",
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Conv",
    "ConvTranspose",
    "Div",
    "Dropout",
    "Elu",
    "Erf",
    "Exp",
    "Gelu",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GroupNormalization",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "InstanceNormalization",
    "LRN",
    "LeakyRelu",
    "Log",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "PRelu",
    "Pow",
    "Reciprocal",
    "Relu",
    "Selu",
    "Sigmoid",
    "Softplus",
    "Sqrt",
    "Sub",
    "Sum",
    "Tanh",
    "Where",
];

/// Tensors whose axis 0 is the batch at every batch size and whose other extents do not depend
/// on it: the image input, then outputs of [`BATCH_PRESERVING`] ops (plus Flatten with
/// axis ≥ 1, Gemm without transA, Softmax/LogSoftmax/LayerNormalization/Concat off axis 0)
/// whose image-dependent inputs are all batch-major with the output's rank. Inputs that do not depend on the image
/// have the same shape at every batch. Anything else (Reshape, Transpose, …) is left out, so
/// the set errs on the side of the run-time shape checks.
fn batch_major(
    forward: &[NodeProto],
    active: &HashSet<String>,
    input: &str,
    shapes: &HashMap<String, Vec<i64>>,
) -> HashSet<String> {
    let mut set = HashSet::from([input.to_string()]);
    for n in forward {
        let Some(out) = n.output.first().filter(|o| active.contains(*o)) else {
            continue;
        };
        let Some(rank) = shapes.get(out).map(Vec::len) else {
            continue;
        };
        if rank == 0 || !ir::is_default_domain(n) {
            continue;
        }
        let o = op(n);
        let axis_not_batch = |default: i64| {
            let a = ir::attr_i(n, "axis").unwrap_or(default);
            a != 0 && a != -(rank as i64)
        };
        let same_rank = match o {
            "Flatten" => ir::attr_i(n, "axis").unwrap_or(1) >= 1,
            "Gemm" => ir::attr_i(n, "transA").unwrap_or(0) == 0,
            "Softmax" | "LogSoftmax" | "LayerNormalization" => axis_not_batch(-1),
            "Concat" => axis_not_batch(0),
            _ => BATCH_PRESERVING.contains(&o),
        };
        if !same_rank {
            continue;
        }
        let ins: Vec<&String> = n
            .input
            .iter()
            .filter(|i| !i.is_empty() && active.contains(*i))
            .collect();
        let ok = match o {
            // Only the data input may depend on the image.
            "Flatten" | "Gemm" => ins.len() == 1 && *ins[0] == n.input[0] && set.contains(ins[0]),
            _ => {
                !ins.is_empty()
                    && ins
                        .iter()
                        .all(|i| set.contains(*i) && shapes.get(*i).map(Vec::len) == Some(rank))
            }
        };
        if ok {
            set.insert(out.clone());
        }
    }
    set
}

fn first_dim_param(vi: &ValueInfoProto) -> Option<String> {
    use crate::proto::{tensor_shape_proto::dimension::Value, type_proto};
    match vi.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => match t.shape.as_ref()?.dim.first()?.value.as_ref()? {
            Value::DimParam(p) => Some(p.clone()),
            Value::DimValue(_) => None,
        },
        _ => None,
    }
}

/// The summed gradient of a tensor (`None` if nothing flows into it); cached.
fn total_grad(
    ctx: &mut Ctx,
    contribs: &mut HashMap<String, Vec<String>>,
    totals: &mut HashMap<String, String>,
    t: &str,
) -> Option<String> {
    if t.is_empty() {
        return None;
    }
    if let Some(s) = totals.get(t) {
        return Some(s.clone());
    }
    let parts = contribs.remove(t)?;
    let total = if parts.len() == 1 {
        parts[0].clone()
    } else {
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        ctx.node("Sum", &refs, vec![])
    };
    totals.insert(t.to_string(), total.clone());
    Some(total)
}

fn total_or_zeros(
    ctx: &mut Ctx,
    contribs: &mut HashMap<String, Vec<String>>,
    totals: &mut HashMap<String, String>,
    t: &str,
) -> String {
    match total_grad(ctx, contribs, totals, t) {
        Some(g) => g,
        None => ctx.zeros_like(t),
    }
}

/// Renames a tensor everywhere in the forward graph.
fn rename(forward: &mut [NodeProto], g: &mut crate::proto::GraphProto, old: &str, new: &str) {
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
