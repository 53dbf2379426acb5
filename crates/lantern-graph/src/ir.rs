//! Small conveniences over the raw prost messages: attribute access and construction, tensor
//! data in and out, node construction, constant lookup and topological order.

use crate::proto::attribute_proto::AttributeType;
use crate::proto::tensor_proto::DataType;
use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, tensor_shape_proto, type_proto,
};
use std::collections::{HashMap, HashSet};

/// `op_type` of a node, `""` when absent.
pub fn op(node: &NodeProto) -> &str {
    node.op_type.as_deref().unwrap_or("")
}

/// A printable name for a node: its name, else its first output.
pub fn node_label(node: &NodeProto) -> String {
    match node.name.as_deref() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => node.output.first().cloned().unwrap_or_default(),
    }
}

/// True for nodes of the default ONNX domain (`""` or `"ai.onnx"`).
pub fn is_default_domain(node: &NodeProto) -> bool {
    matches!(node.domain.as_deref(), None | Some("") | Some("ai.onnx"))
}

/// The version of the default-domain opset the model imports (1 when absent, per the spec).
pub fn default_opset(model: &ModelProto) -> i64 {
    model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
        .and_then(|o| o.version)
        .unwrap_or(1)
}

/// Sets the default-domain opset version (adding the import when missing).
pub fn set_default_opset(model: &mut ModelProto, version: i64) {
    if let Some(o) = model
        .opset_import
        .iter_mut()
        .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
    {
        o.version = Some(version);
    } else {
        model.opset_import.push(crate::proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(version),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Attributes

pub fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
}

pub fn attr_i(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).and_then(|a| a.i)
}

pub fn attr_f(node: &NodeProto, name: &str) -> Option<f32> {
    attr(node, name).and_then(|a| a.f)
}

pub fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

pub fn attr_floats(node: &NodeProto, name: &str) -> Option<Vec<f32>> {
    attr(node, name).map(|a| a.floats.clone())
}

pub fn attr_s(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

pub fn attr_t<'a>(node: &'a NodeProto, name: &str) -> Option<&'a TensorProto> {
    attr(node, name).and_then(|a| a.t.as_ref())
}

pub fn remove_attr(node: &mut NodeProto, name: &str) -> Option<AttributeProto> {
    let i = node
        .attribute
        .iter()
        .position(|a| a.name.as_deref() == Some(name))?;
    Some(node.attribute.remove(i))
}

pub fn set_attr(node: &mut NodeProto, a: AttributeProto) {
    remove_attr(node, a.name.as_deref().unwrap_or(""));
    node.attribute.push(a);
}

fn attr_base(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

pub fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        i: Some(v),
        ..attr_base(name, AttributeType::Int)
    }
}

pub fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: v.to_vec(),
        ..attr_base(name, AttributeType::Ints)
    }
}

pub fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        f: Some(v),
        ..attr_base(name, AttributeType::Float)
    }
}

pub fn a_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        s: Some(v.as_bytes().to_vec()),
        ..attr_base(name, AttributeType::String)
    }
}

pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(t),
        ..attr_base(name, AttributeType::Tensor)
    }
}

// ---------------------------------------------------------------------------------------------
// Nodes and value infos

pub fn make_node(
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    name: &str,
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.to_string()),
        op_type: Some(op_type.to_string()),
        attribute: attrs,
        ..Default::default()
    }
}

/// A tensor value info; `dims` entries `None` become the symbolic dimension `sym`, or stay
/// unknown when `sym` is empty (then any size fits); `dims = None` leaves the rank unknown too.
pub fn value_info(
    name: &str,
    elem_type: i32,
    dims: Option<&[Option<i64>]>,
    sym: &str,
) -> ValueInfoProto {
    let shape = dims.map(|dims| TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| tensor_shape_proto::Dimension {
                value: match d {
                    Some(v) => Some(tensor_shape_proto::dimension::Value::DimValue(*v)),
                    None if sym.is_empty() => None,
                    None => Some(tensor_shape_proto::dimension::Value::DimParam(
                        sym.to_string(),
                    )),
                },
                ..Default::default()
            })
            .collect(),
    });
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Element type and dims (`None` = symbolic/unknown) of a tensor value info.
pub fn value_info_tensor(vi: &ValueInfoProto) -> Option<(i32, Option<Vec<Option<i64>>>)> {
    match vi.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => Some((
            t.elem_type.unwrap_or(0),
            t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(tensor_shape_proto::dimension::Value::DimValue(v)) if v >= 0 => {
                            Some(v)
                        }
                        _ => None,
                    })
                    .collect()
            }),
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Tensors

pub fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, DataType::Float as i32, dims, raw)
}

pub fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, DataType::Int64 as i32, dims, raw)
}

/// A tensor of the given floating element type (float, double or float16) from f64 values.
pub fn tensor_float_of(name: &str, elem_type: i32, dims: &[i64], data: &[f64]) -> TensorProto {
    let raw: Vec<u8> = if elem_type == DataType::Double as i32 {
        data.iter().flat_map(|v| v.to_le_bytes()).collect()
    } else if elem_type == DataType::Float16 as i32 {
        data.iter()
            .flat_map(|v| f32_to_f16_bits(*v as f32).to_le_bytes())
            .collect()
    } else {
        data.iter()
            .flat_map(|v| (*v as f32).to_le_bytes())
            .collect()
    };
    raw_tensor(name, elem_type, dims, raw)
}

/// A tensor of `elem_type` whose little-endian values are `raw`.
fn raw_tensor(name: &str, elem_type: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.to_vec(),
        data_type: Some(elem_type),
        raw_data: Some(raw),
        ..Default::default()
    }
}

fn f32_to_f16_bits(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        sign | 0x7c00
    } else if e <= 0 {
        if e < -10 {
            sign
        } else {
            let m = (mant | 0x80_0000) >> (1 - e);
            sign | ((m + 0x1000) >> 13) as u16
        }
    } else {
        let r = ((e as u32) << 10) | (mant >> 13);
        sign | (r + ((mant >> 12) & 1)) as u16
    }
}

fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if mant == 0 {
            sign
        } else {
            // subnormal
            let mut e = 127 - 15 + 1;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
    } else if exp == 0x1f {
        sign | 0x7f80_0000 | (mant << 13)
    } else {
        sign | ((exp + 127 - 15) << 23) | (mant << 13)
    };
    f32::from_bits(bits)
}

/// Number of elements a tensor declares (product of dims; 1 for a scalar).
pub fn numel(dims: &[i64]) -> usize {
    dims.iter().map(|&d| d.max(0) as usize).product()
}

/// The values of a numeric tensor as f64 (float, double, float16, all integer types, bool).
/// `None` for strings, external data or inconsistent sizes.
pub fn tensor_values_f64(t: &TensorProto) -> Option<Vec<f64>> {
    let dt = t.data_type.unwrap_or(0);
    let n = numel(&t.dims);
    if t.data_location == Some(crate::proto::tensor_proto::DataLocation::External as i32) {
        return None;
    }
    let out: Vec<f64> = if let Some(raw) = t.raw_data.as_ref() {
        let size = match DataType::try_from(dt).ok()? {
            DataType::Float | DataType::Int32 | DataType::Uint32 => 4,
            DataType::Double | DataType::Int64 | DataType::Uint64 => 8,
            DataType::Float16 | DataType::Int16 | DataType::Uint16 | DataType::Bfloat16 => 2,
            DataType::Int8 | DataType::Uint8 | DataType::Bool => 1,
            _ => return None,
        };
        if raw.len() != n.checked_mul(size)? {
            return None;
        }
        raw.chunks_exact(size)
            .map(
                |c| match DataType::try_from(dt).unwrap_or(DataType::Undefined) {
                    DataType::Float => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                    DataType::Int32 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                    DataType::Uint32 => u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                    DataType::Double => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
                    DataType::Int64 => i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64,
                    DataType::Uint64 => u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64,
                    DataType::Float16 => f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64,
                    DataType::Bfloat16 => {
                        f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64
                    }
                    DataType::Int16 => i16::from_le_bytes([c[0], c[1]]) as f64,
                    DataType::Uint16 => u16::from_le_bytes([c[0], c[1]]) as f64,
                    DataType::Int8 => c[0] as i8 as f64,
                    _ => c[0] as f64,
                },
            )
            .collect()
    } else {
        match DataType::try_from(dt).ok()? {
            DataType::Float => t.float_data.iter().map(|&v| v as f64).collect(),
            DataType::Double => t.double_data.clone(),
            DataType::Int64 => t.int64_data.iter().map(|&v| v as f64).collect(),
            DataType::Uint32 | DataType::Uint64 => {
                t.uint64_data.iter().map(|&v| v as f64).collect()
            }
            DataType::Float16 => t
                .int32_data
                .iter()
                .map(|&v| f16_bits_to_f32(v as u16) as f64)
                .collect(),
            DataType::Bfloat16 => t
                .int32_data
                .iter()
                .map(|&v| f32::from_bits((v as u32) << 16) as f64)
                .collect(),
            DataType::Int32
            | DataType::Int16
            | DataType::Int8
            | DataType::Uint16
            | DataType::Uint8
            | DataType::Bool => t.int32_data.iter().map(|&v| v as f64).collect(),
            _ => return None,
        }
    };
    (out.len() == n).then_some(out)
}

/// Integer values of a tensor (exact for int64/int32 tensors).
pub fn tensor_values_i64(t: &TensorProto) -> Option<Vec<i64>> {
    let dt = t.data_type.unwrap_or(0);
    if dt == DataType::Int64 as i32 {
        if let Some(raw) = t.raw_data.as_ref() {
            if raw.len() != numel(&t.dims) * 8 {
                return None;
            }
            return Some(
                raw.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            );
        }
        return (t.int64_data.len() == numel(&t.dims)).then(|| t.int64_data.clone());
    }
    tensor_values_f64(t).map(|v| v.into_iter().map(|x| x as i64).collect())
}

// ---------------------------------------------------------------------------------------------
// Graph-level lookups

/// Names of the initializers of a graph.
pub fn initializer_names(g: &GraphProto) -> HashSet<String> {
    g.initializer
        .iter()
        .filter_map(|t| t.name.clone())
        .collect()
}

/// Every constant tensor visible in the graph: initializers and the outputs of `Constant` nodes
/// (all value forms).
pub fn constants(g: &GraphProto) -> HashMap<String, TensorProto> {
    let mut out: HashMap<String, TensorProto> = g
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.clone()?, t.clone())))
        .collect();
    for n in &g.node {
        if op(n) == "Constant"
            && is_default_domain(n)
            && let Some(t) = constant_node_value(n)
            && let Some(o) = n.output.first()
        {
            out.insert(o.clone(), t);
        }
    }
    out
}

/// The value of a `Constant` node, whichever attribute carries it.
pub fn constant_node_value(n: &NodeProto) -> Option<TensorProto> {
    if let Some(t) = attr_t(n, "value") {
        return Some(t.clone());
    }
    if let Some(v) = attr_f(n, "value_float") {
        return Some(tensor_f32("", &[], &[v]));
    }
    if let Some(v) = attr_i(n, "value_int") {
        return Some(tensor_i64("", &[], &[v]));
    }
    if let Some(v) = attr_floats(n, "value_floats").filter(|_| attr(n, "value_floats").is_some()) {
        return Some(tensor_f32("", &[v.len() as i64], &v));
    }
    if let Some(v) = attr_ints(n, "value_ints").filter(|_| attr(n, "value_ints").is_some()) {
        return Some(tensor_i64("", &[v.len() as i64], &v));
    }
    None
}

/// All tensor names a node reads, including names referenced from inside its subgraphs
/// (`If`/`Loop`/`Scan` bodies read outer-scope tensors implicitly).
pub fn node_reads(n: &NodeProto) -> Vec<String> {
    let mut out: Vec<String> = n.input.iter().filter(|s| !s.is_empty()).cloned().collect();
    for a in &n.attribute {
        for g in a.g.iter().chain(a.graphs.iter()) {
            subgraph_outer_reads(g, &mut out);
        }
    }
    out
}

fn subgraph_outer_reads(g: &GraphProto, out: &mut Vec<String>) {
    let mut local: HashSet<String> = g.input.iter().filter_map(|v| v.name.clone()).collect();
    local.extend(initializer_names(g));
    for n in &g.node {
        for i in node_reads(n) {
            if !local.contains(&i) {
                out.push(i);
            }
        }
        local.extend(n.output.iter().cloned());
    }
    for o in &g.output {
        if let Some(name) = &o.name
            && !local.contains(name)
        {
            out.push(name.clone());
        }
    }
}

/// Node indices in topological order (stable: keeps the file order where it is already valid).
/// Nodes caught in a cycle or reading unknown tensors are appended in file order.
pub fn topo_order(g: &GraphProto) -> Vec<usize> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for o in &n.output {
            if !o.is_empty() {
                producer.insert(o.as_str(), i);
            }
        }
    }
    let reads: Vec<Vec<String>> = g.node.iter().map(node_reads).collect();
    let mut indeg = vec![0usize; g.node.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); g.node.len()];
    for (i, r) in reads.iter().enumerate() {
        let mut deps: Vec<usize> = r
            .iter()
            .filter_map(|name| producer.get(name.as_str()).copied())
            .filter(|&p| p != i)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        indeg[i] = deps.len();
        for p in deps {
            users[p].push(i);
        }
    }
    // Kahn with a min-heap on the original index keeps file order where possible.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..g.node.len())
        .filter(|&i| indeg[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(g.node.len());
    let mut done = vec![false; g.node.len()];
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        done[i] = true;
        for &u in &users[i] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.push(std::cmp::Reverse(u));
            }
        }
    }
    order.extend((0..g.node.len()).filter(|&i| !done[i]));
    order
}

/// The name of the graph's first output (the logits of a classifier).
pub fn first_output(g: &GraphProto) -> Result<String, crate::GraphError> {
    g.output
        .first()
        .and_then(|o| o.name.clone())
        .ok_or_else(|| crate::GraphError::InvalidModel("the graph has no output".into()))
}

/// Map from tensor name to the index of the node producing it.
pub fn producers(g: &GraphProto) -> HashMap<String, usize> {
    producers_of(&g.node)
}

/// Map from tensor name to the index in `nodes` of the node producing it.
pub fn producers_of(nodes: &[NodeProto]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in &n.output {
            if !o.is_empty() {
                m.insert(o.clone(), i);
            }
        }
    }
    m
}

/// Which of `nodes` the tensors `wanted` depend on (walking producers back from them), and
/// every tensor name met on the way (the wanted ones, and everything the kept nodes read).
pub fn needed_nodes(
    nodes: &[NodeProto],
    wanted: impl IntoIterator<Item = String>,
) -> (Vec<bool>, HashSet<String>) {
    let producer = producers_of(nodes);
    let mut keep = vec![false; nodes.len()];
    let mut stack: Vec<String> = wanted.into_iter().collect();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = producer.get(&t)
            && !keep[p]
        {
            keep[p] = true;
            stack.extend(node_reads(&nodes[p]));
        }
    }
    (keep, seen)
}

/// The model's graph or an `InvalidModel` error.
pub fn graph(m: &ModelProto) -> Result<&GraphProto, crate::GraphError> {
    m.graph
        .as_ref()
        .ok_or_else(|| crate::GraphError::InvalidModel("the model has no graph".into()))
}

/// The first graph input that is not an initializer: the image input of a classifier.
pub fn image_input(g: &GraphProto) -> Option<&ValueInfoProto> {
    let inits = initializer_names(g);
    g.input
        .iter()
        .find(|v| v.name.as_ref().is_some_and(|n| !inits.contains(n)))
}
