//! Test support: ONNX Runtime discovery and sessions, the probe run, a `.npy` reader, tiny-model
//! construction; the finite-difference gradient check shared by every rule's tests is in
//! [`fd`].

#![allow(dead_code, reason = "each test module uses a different subset")]

use crate::ir::{self, make_node};
use crate::proto::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use crate::{TensorShapes, encode_model, expose_all_tensors};
use lantern_core::SplitMix64;
use ndarray::{ArrayD, IxDyn};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::{Tensor, ValueType};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// A model of `crates/lantern-graph/tests/fixtures/static` (made by
/// `tools/export_static_fixtures.py`).
pub fn static_fixture(name: &str) -> ModelProto {
    let path = workspace_root()
        .join("crates/lantern-graph/tests/fixtures/static")
        .join(name);
    crate::io::load_model(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {} (tools/export_static_fixtures.py): {e}",
            path.display()
        )
    })
}

/// The shared assets folder: `LANTERN_ASSETS`, else `<workspace>/../shared/assets`.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("LANTERN_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("assets"))
}

/// The reference outputs: `LANTERN_REFERENCE`, else `<workspace>/../shared/reference`.
pub fn reference_dir() -> PathBuf {
    std::env::var_os("LANTERN_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("reference"))
}

/// The ONNX model of a reference network, `<reference>/<name>/model.onnx`.
pub fn reference_model(name: &str) -> ModelProto {
    let path = reference_dir().join(name).join("model.onnx");
    crate::io::load_model(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `onnx` package's architecture-only models: `LANTERN_ONNX_LIGHT`, else
/// `<workspace>/.lantern/py/onnx/backend/test/data/light` (`just setup`), else the Python
/// site-packages of this machine.
pub fn onnx_light_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("LANTERN_ONNX_LIGHT").map(PathBuf::from),
        Some(workspace_root().join(".lantern/py/onnx/backend/test/data/light")),
        Some(PathBuf::from(
            "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/onnx/backend/test/data/light",
        )),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "the onnx package's light models were not found (LANTERN_ONNX_LIGHT, \
                 .lantern/py/onnx/backend/test/data/light): run `just setup`"
            )
        })
}

fn ort_library() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    let capi = workspace_root().join(".lantern/ort/onnxruntime/capi");
    lantern_core::ort_library::library_in_capi(&capi).unwrap_or_else(|| {
        panic!(
            "ONNX Runtime library not found (ORT_DYLIB_PATH unset, nothing at {}/libonnxruntime.so*): run `just setup`",
            capi.display()
        )
    })
}

/// The process-wide ONNX Runtime environment (loaded once).
pub fn env() -> &'static Environment {
    static ENV: OnceLock<Environment> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = ort_library();
        ort::init_from(&path)
            .unwrap_or_else(|e| panic!("cannot load {}: {e} (run `just setup`)", path.display()))
            .with_name("lantern-graph-tests")
            .build()
            .unwrap_or_else(|e| panic!("ONNX Runtime environment: {e}"))
    })
}

/// A CPU session for a model (intra-op threads from `LANTERN_TEST_THREADS`, default 1: the
/// test harness already runs tests in parallel).
pub fn session(m: &ModelProto) -> Session {
    let threads = std::env::var("LANTERN_TEST_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1usize);
    let bytes = encode_model(m);
    Session::builder(env())
        .unwrap_or_else(|e| panic!("session builder: {e}"))
        .with_intra_threads(threads)
        .unwrap_or_else(|e| panic!("threads: {e}"))
        .commit_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("ONNX Runtime rejected the model: {e}"))
}

/// Runs a session; returns every float output by name.
pub fn run(s: &mut Session, inputs: &[(&str, &ArrayD<f32>)]) -> HashMap<String, ArrayD<f32>> {
    let values: Vec<(String, ort::value::DynValue)> = inputs
        .iter()
        .map(|(n, a)| {
            let t = Tensor::from_array((*a).clone()).unwrap_or_else(|e| panic!("tensor {n}: {e}"));
            (n.to_string(), t.into_dyn())
        })
        .collect();
    let names: Vec<String> = s.outputs().iter().map(|o| o.name().to_string()).collect();
    let out = s
        .run(values)
        .unwrap_or_else(|e| panic!("ONNX Runtime run failed: {e}"));
    let mut map = HashMap::new();
    for name in names {
        if let Some(v) = out.get(&name)
            && let Ok(a) = v.try_extract_array::<f32>()
        {
            map.insert(name, a.to_owned());
        }
    }
    map
}

/// The probe: runs [`expose_all_tensors`] once at batch 1 and records every tensor's shape
/// (and the fed inputs' shapes).
pub fn probe(m: &ModelProto, inputs: &[(&str, &ArrayD<f32>)]) -> TensorShapes {
    let exposed = expose_all_tensors(m);
    let mut s = session(&exposed);
    let values: Vec<(String, ort::value::DynValue)> = inputs
        .iter()
        .map(|(n, a)| {
            (
                n.to_string(),
                Tensor::from_array((*a).clone()).expect("tensor").into_dyn(),
            )
        })
        .collect();
    let names: Vec<String> = s.outputs().iter().map(|o| o.name().to_string()).collect();
    let out = s
        .run(values)
        .unwrap_or_else(|e| panic!("probe run failed: {e}"));
    let mut map: HashMap<String, Vec<i64>> = HashMap::new();
    for name in names {
        if let Some(v) = out.get(&name)
            && let ValueType::Tensor { shape, .. } = v.dtype()
        {
            map.insert(name, (0..shape.len()).map(|i| shape[i]).collect());
        }
    }
    for (n, a) in inputs {
        map.insert(n.to_string(), a.shape().iter().map(|&d| d as i64).collect());
    }
    TensorShapes(map)
}

/// [`probe`] at zeros of the model's input shape, its free dimensions (the batch) at 1.
pub fn probe_at_zeros(m: &ModelProto) -> TensorShapes {
    let (input, dims, _) = crate::inspect::graph_io(m).expect("io");
    let dims: Vec<usize> = dims.iter().map(|d| d.unwrap_or(1) as usize).collect();
    probe(m, &[(&input, &ArrayD::<f32>::zeros(IxDyn(&dims)))])
}

/// Reads a little-endian float32 C-order `.npy` file.
pub fn read_npy(path: &Path) -> ArrayD<f32> {
    read_npy_as(path, "<f4", f32::from_le_bytes)
}

/// Reads a little-endian float64 C-order `.npy` file.
pub fn read_npy_f64(path: &Path) -> ArrayD<f64> {
    read_npy_as(path, "<f8", f64::from_le_bytes)
}

/// Reads a C-order `.npy` file of dtype `descr`, whose elements are `W` bytes each.
fn read_npy_as<T, const W: usize>(path: &Path, descr: &str, from: fn([u8; W]) -> T) -> ArrayD<T> {
    let (shape, data) = read_npy_raw(path, descr);
    let v = data
        .chunks_exact(W)
        .map(|c| from(c.try_into().expect("whole elements")))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), v).expect("npy size")
}

/// Writes `a` as a little-endian float32 C-order `.npy` file (version 1.0).
pub fn write_npy(path: &Path, a: &ArrayD<f32>) {
    let shape: Vec<String> = a.shape().iter().map(|d| format!("{d},")).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
        shape.join(" ")
    );
    // Magic (6) + version (2) + length (2) + header + newline: a multiple of 64 bytes.
    let pad = 63 - (10 + header.len()) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(a.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Shape and data bytes of a C-order `.npy` file whose dtype is `descr`.
fn read_npy_raw(path: &Path, descr: &str) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x93NUMPY"),
        "{}: not an .npy file",
        path.display()
    );
    let (len, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + len]).expect("npy header");
    assert!(
        header.contains(&format!("'descr': '{descr}'")),
        "{}: not {descr}: {header}",
        path.display()
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{}: Fortran order",
        path.display()
    );
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("npy shape");
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("npy dim"))
        .collect();
    (shape, bytes[start + len..].to_vec())
}

/// Seeded uniform values in [lo, hi).
pub fn uniform(shape: &[usize], lo: f32, hi: f32, seed: u64) -> ArrayD<f32> {
    let mut r = SplitMix64::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| r.uniform(lo as f64, hi as f64) as f32)
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

/// Seeded values that stay at least `gap` away from every value in `kinks` (so that finite
/// differences of piecewise-smooth ops do not straddle a kink).
pub fn uniform_away_from(
    shape: &[usize],
    lo: f32,
    hi: f32,
    kinks: &[f32],
    gap: f32,
    seed: u64,
) -> ArrayD<f32> {
    let mut r = SplitMix64::new(seed);
    let n: usize = shape.iter().product();
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let x = r.uniform(lo as f64, hi as f64) as f32;
        if kinks.iter().all(|k| (x - k).abs() >= gap) {
            v.push(x);
        }
    }
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

/// A random permutation of `n` values spaced `step` apart starting at `lo` (distinct values, for
/// max-style ops whose finite differences must not swap the winner).
pub fn distinct_values(shape: &[usize], lo: f32, step: f32, seed: u64) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let mut idx: Vec<usize> = (0..n).collect();
    let mut r = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = r.below_scaled(i + 1);
        idx.swap(i, j);
    }
    let v: Vec<f32> = idx.iter().map(|&i| lo + step * i as f32).collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

pub fn init_f32(name: &str, shape: &[i64], seed: u64, lo: f32, hi: f32) -> TensorProto {
    let a = uniform(
        &shape.iter().map(|&d| d as usize).collect::<Vec<_>>(),
        lo,
        hi,
        seed,
    );
    ir::tensor_f32(name, shape, a.as_slice().expect("contiguous"))
}

pub fn node(
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<crate::proto::AttributeProto>,
) -> NodeProto {
    make_node(
        op,
        inputs,
        outputs,
        &format!("{op}_{}", outputs.first().copied().unwrap_or("")),
        attrs,
    )
}

/// Op types of the gradient graph of `nodes` (input `x`, symbolic batch; the last node's
/// first output is the logits), probed at a uniform `x` of `x_shape`.
pub fn gradient_op_types(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    x_shape: &[usize],
) -> Vec<String> {
    let x = uniform(x_shape, -1.0, 1.0, 1);
    let out = nodes.last().expect("a node").output[0].clone();
    let mut dims: Vec<i64> = x_shape.iter().map(|&d| d as i64).collect();
    dims[0] = -1;
    let m = model(nodes, inits, &[("x", &dims)], &[&out], 13);
    let shapes = probe(&m, &[("x", &x)]);
    let g = crate::build_gradient_graph(&m, &shapes, &crate::GradientSpec::default())
        .expect("gradient graph");
    g.graph
        .expect("graph")
        .node
        .iter()
        .map(|n| crate::ir::op(n).to_string())
        .collect()
}

/// The names of the model's outputs, in order.
pub fn output_names(m: &ModelProto) -> Vec<String> {
    let g = m.graph.as_ref().expect("graph");
    g.output.iter().filter_map(|o| o.name.clone()).collect()
}

/// A model from nodes and initializers. Input dims of -1 become the symbolic batch `N`.
pub fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: &[(&str, &[i64])],
    outputs: &[&str],
    opset: i64,
) -> ModelProto {
    let float = crate::proto::tensor_proto::DataType::Float as i32;
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("lantern-graph tests".into()),
        opset_import: vec![crate::proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(crate::proto::GraphProto {
            name: Some("test".into()),
            node: nodes,
            initializer: inits,
            input: inputs
                .iter()
                .map(|(n, d)| {
                    let dims: Vec<Option<i64>> = d.iter().map(|&v| (v >= 0).then_some(v)).collect();
                    ir::value_info(n, float, Some(&dims), "N")
                })
                .collect(),
            output: outputs
                .iter()
                .map(|n| ValueInfoProto {
                    name: Some(n.to_string()),
                    r#type: Some(crate::proto::TypeProto {
                        value: Some(crate::proto::type_proto::Value::TensorType(
                            crate::proto::type_proto::Tensor {
                                elem_type: Some(float),
                                shape: None,
                            },
                        )),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

mod fd;
pub use fd::*;
mod op_case;
pub use op_case::*;
mod attr;
pub use attr::*;
