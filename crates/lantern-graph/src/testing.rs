//! Test support: ONNX Runtime discovery and sessions, the probe run, a `.npy` reader, tiny-model
//! construction and the finite-difference gradient check shared by every rule's tests.

#![allow(dead_code, reason = "each test module uses a different subset")]

use crate::ir::{self, make_node};
use crate::proto::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use crate::{
    GradientSpec, ReluRule, TensorShapes, build_gradient_graph, encode_model, expose_all_tensors,
};
use lantern_core::SplitMix64;
use ndarray::{ArrayD, Axis, IxDyn};
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
    let mut found: Vec<PathBuf> = std::fs::read_dir(&capi)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
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

/// Reads a little-endian float32 C-order `.npy` file.
pub fn read_npy(path: &Path) -> ArrayD<f32> {
    let (shape, data) = read_npy_raw(path, "<f4");
    let v = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), v).expect("npy size")
}

/// Reads a little-endian float64 C-order `.npy` file.
pub fn read_npy_f64(path: &Path) -> ArrayD<f64> {
    let (shape, data) = read_npy_raw(path, "<f8");
    let v = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
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
/// Options of a finite-difference check.
#[derive(Debug, Clone)]
pub struct Fd {
    /// Step. Inputs of piecewise-linear ops are kept further than 2h from every kink.
    pub h: f64,
    /// 5-point stencil (error O(h⁴)) instead of central differences (O(h²)).
    pub five_point: bool,
    /// Pass: max |analytic − fd| ≤ tol · max |analytic| over the whole gradient tensor.
    ///
    /// Default 2e-4, from the error budget of the 5-point stencil in f32: the forward is
    /// exact to a few ulps of |f| (ε = 6e-8, |f| ≲ 10 here, so ≲ 1e-6 per evaluation); the
    /// stencil weights (8 + 1)/12 per side over h = 1e-2 amplify that to ≲ 1.5e-4 in the
    /// derivative, while its truncation error O(h⁴·f⁽⁵⁾) ≈ 1e-8 is negligible (and zero for
    /// piecewise-linear ops whose kinks stay > 2h away). Observed: ≤ 5e-5 on every rule.
    pub tol: f64,
    /// At most this many coordinates per tensor (half the largest |gradient|, half random).
    pub max_coords: usize,
    /// The upstream gradient: one-hot at the top-1 class, else seeded uniform weights.
    pub one_hot_top1: bool,
    pub seed: u64,
    pub rule: ReluRule,
    pub through_softmax: bool,
    /// The test model's batch is fixed at 1 (finite differences run one input at a time).
    pub fixed_batch: bool,
    /// Whole networks: skip coordinates whose one-sided slopes to the stencil points (±h, and
    /// ±2h with the 5-point stencil) disagree by more than `kink_tol` — a ReLU/MaxPool kink or a
    /// MaxPool tie within reach, where central differences average two slopes — and require at
    /// least `min_clean` of the coordinates to be clean.
    pub skip_kinks: bool,
    pub kink_tol: f64,
    pub min_clean: f64,
    /// Check the derivative along the tensor itself (`d/dt f(t·x)` at t = 1, step h): for a
    /// positively homogeneous network this is Euler's identity ⟨∇f(x), x⟩ = f(x), and scaling
    /// never crosses a ReLU kink or changes a MaxPool winner.
    pub ray: bool,
}

impl Default for Fd {
    fn default() -> Self {
        Fd {
            h: 1e-2,
            five_point: true,
            tol: 2e-4,
            max_coords: 400,
            one_hot_top1: false,
            seed: 7,
            rule: ReluRule::Plain,
            through_softmax: false,
            fixed_batch: false,
            skip_kinks: false,
            kink_tol: 1e-3,
            min_clean: 1.0,
            ray: false,
        }
    }
}

/// One checked tensor.
#[derive(Debug, Clone)]
pub struct FdResult {
    pub tensor: String,
    pub coords: usize,
    /// Coordinates skipped as kinks (see [`Fd::skip_kinks`]).
    pub skipped: usize,
    pub max_abs_err: f64,
    pub scale: f64,
}

impl FdResult {
    pub fn rel(&self) -> f64 {
        self.max_abs_err / self.scale.max(1e-30)
    }
}

/// A model with `delta/T` inputs added to each tensor T (T = T_pre + delta), so finite
/// differences can perturb an intermediate tensor.
pub fn inject_deltas(
    m: &ModelProto,
    layers: &[&str],
    shapes: &TensorShapes,
) -> (ModelProto, TensorShapes) {
    let mut m = m.clone();
    let mut shapes = shapes.clone();
    let g = m.graph.as_mut().expect("graph");
    let float = crate::proto::tensor_proto::DataType::Float as i32;
    for &t in layers {
        let pre = format!("{t}/fd_pre");
        let delta = format!("delta/{t}");
        let pos = g
            .node
            .iter()
            .position(|n| n.output.iter().any(|o| o == t))
            .expect("producer");
        for o in g.node[pos].output.iter_mut() {
            if o == t {
                *o = pre.clone();
            }
        }
        g.node.insert(
            pos + 1,
            make_node("Add", &[&pre, &delta], &[t], &format!("fd_add/{t}"), vec![]),
        );
        let s = shapes.0[t].clone();
        let dims: Vec<Option<i64>> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| (i > 0).then_some(d))
            .collect();
        let dims = if ir::image_input(g)
            .and_then(ir::value_info_tensor)
            .and_then(|(_, d)| d)
            .and_then(|d| d.first().copied())
            .flatten()
            .is_some()
        {
            s.iter().map(|&d| Some(d)).collect()
        } else {
            dims
        };
        g.input
            .push(ir::value_info(&delta, float, Some(&dims), "N"));
        shapes.0.insert(pre, s.clone());
        shapes.0.insert(delta, s);
    }
    (m, shapes)
}

fn sample_coords(grad: &ArrayD<f32>, max: usize, seed: u64) -> Vec<usize> {
    let n = grad.len();
    if n <= max {
        return (0..n).collect();
    }
    let flat: Vec<f32> = grad.iter().copied().collect();
    let mut by_mag: Vec<usize> = (0..n).collect();
    by_mag.sort_by(|&a, &b| flat[b].abs().total_cmp(&flat[a].abs()));
    let mut out: Vec<usize> = by_mag[..max / 2].to_vec();
    let mut r = SplitMix64::new(seed);
    while out.len() < max {
        let c = r.below_scaled(n);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Builds the gradient graph of `m` (input `x`, extra layers), and compares `grad_input` and
/// every `grad_T` with finite differences of f = Σ seed · logits, computed by running the
/// same graph's `logits` output on perturbed inputs (batched when the batch is dynamic).
pub fn fd_check(m: &ModelProto, x: &ArrayD<f32>, layers: &[&str], o: &Fd) -> Vec<FdResult> {
    let (input_name, dims, _) = crate::graph_io(m).expect("graph io");
    let base_shapes = probe(m, &[(&input_name, x)]);
    let (mm, shapes) = inject_deltas(m, layers, &base_shapes);
    let spec = GradientSpec {
        layers: layers.iter().map(|s| s.to_string()).collect(),
        rule: o.rule,
        logits: None,
        through_softmax: o.through_softmax,
        layers_only: false,
    };
    let g =
        build_gradient_graph(&mm, &shapes, &spec).unwrap_or_else(|e| panic!("gradient graph: {e}"));
    let mut s = session(&g);
    // Finite differences only need the logits: a pruned copy skips the backward pass.
    let mut fwd = session(&logits_only(&g));
    let deltas: Vec<(String, ArrayD<f32>)> = layers
        .iter()
        .map(|t| {
            let sh: Vec<usize> = base_shapes.0[*t].iter().map(|&d| d as usize).collect();
            (format!("delta/{t}"), ArrayD::zeros(IxDyn(&sh)))
        })
        .collect();
    let feeds = |x: &ArrayD<f32>, d: &[(String, ArrayD<f32>)], seed: &ArrayD<f32>| {
        let mut v: Vec<(String, ArrayD<f32>)> =
            vec![("input".into(), x.clone()), ("seed".into(), seed.clone())];
        v.extend(d.iter().cloned());
        v
    };
    let run_feeds = |s: &mut Session, f: &[(String, ArrayD<f32>)]| {
        let refs: Vec<(&str, &ArrayD<f32>)> = f.iter().map(|(n, a)| (n.as_str(), a)).collect();
        run(s, &refs)
    };
    // Logits width from a first run with a zero seed.
    let logits_shape = {
        let k = g
            .graph
            .as_ref()
            .and_then(|gr| gr.input.iter().find(|i| i.name.as_deref() == Some("seed")))
            .and_then(ir::value_info_tensor)
            .and_then(|(_, d)| d)
            .and_then(|d| d.get(1).copied().flatten())
            .expect("seed width");
        vec![1usize, k as usize]
    };
    let zero_seed = ArrayD::zeros(IxDyn(&logits_shape));
    let first = run_feeds(&mut s, &feeds(x, &deltas, &zero_seed));
    let logits = first["logits"].clone();
    let w: ArrayD<f32> = if o.one_hot_top1 {
        let flat: Vec<f32> = logits.iter().copied().collect();
        let top = (0..flat.len()).fold(0, |b, i| if flat[i] > flat[b] { i } else { b });
        let mut w = ArrayD::zeros(IxDyn(&logits_shape));
        w.as_slice_mut().expect("contiguous")[top] = 1.0;
        w
    } else {
        uniform(&logits_shape, -1.0, 1.0, o.seed ^ 0xA5A5)
    };
    let out = run_feeds(&mut s, &feeds(x, &deltas, &w));
    let batched = dims.first().copied().flatten().is_none();
    if batched {
        // The same graph at batch 3 (x, 2x, x) must give the batch-1 gradients in rows 0 and 2.
        let x2 = x.mapv(|v| 2.0 * v);
        let xs = ndarray::concatenate(Axis(0), &[x.view(), x2.view(), x.view()]).expect("batch");
        let ds: Vec<(String, ArrayD<f32>)> = deltas
            .iter()
            .map(|(n, d)| {
                (
                    n.clone(),
                    ndarray::concatenate(Axis(0), &[d.view(), d.view(), d.view()]).expect("batch"),
                )
            })
            .collect();
        let ws = ndarray::concatenate(Axis(0), &[w.view(), w.view(), w.view()]).expect("batch");
        let b3 = run_feeds(&mut s, &feeds(&xs, &ds, &ws));
        for (name, one) in &out {
            if !name.starts_with("grad_") {
                continue;
            }
            let three = &b3[name];
            for row in [0, 2] {
                let r = three.index_axis(Axis(0), row);
                let diff = r
                    .iter()
                    .zip(one.iter())
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                let scale = one.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(
                    diff <= 1e-5 * scale.max(1e-6),
                    "{name}: row {row} of a batch of 3 differs from batch 1 by {diff}"
                );
            }
        }
    }
    let steps: Vec<(f64, f64)> = if o.five_point {
        vec![
            (2.0, -1.0 / 12.0),
            (1.0, 8.0 / 12.0),
            (-1.0, -8.0 / 12.0),
            (-2.0, 1.0 / 12.0),
        ]
    } else {
        vec![(1.0, 0.5), (-1.0, -0.5)]
    };
    let mut results = Vec::new();
    // which = None: the input; Some(i): delta i.
    let targets: Vec<(String, Option<usize>)> = std::iter::once(("grad_input".to_string(), None))
        .chain(
            layers
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("grad_{t}"), Some(i))),
        )
        .collect();
    for (gname, which) in targets {
        let grad = out
            .get(&gname)
            .unwrap_or_else(|| panic!("no output {gname}"))
            .clone();
        let base: ArrayD<f32> = match which {
            None => x.clone(),
            Some(i) => deltas[i].1.clone(),
        };
        // What is perturbed: coordinates (index, unit step) or whole-tensor directions.
        let values = match which {
            None => x.clone(),
            Some(i) => out[layers[i]].clone(),
        };
        let (coords, dirs, h): (Vec<usize>, Vec<ArrayD<f32>>, f64) = if o.ray {
            (vec![0], vec![values.clone()], o.h)
        } else {
            (sample_coords(&grad, o.max_coords, o.seed), Vec::new(), o.h)
        };
        let analytic: Vec<f64> = if dirs.is_empty() {
            let flat = grad.as_slice().expect("contiguous");
            coords.iter().map(|&c| flat[c] as f64).collect()
        } else {
            dirs.iter()
                .map(|v| {
                    v.iter()
                        .zip(grad.iter())
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum()
                })
                .collect()
        };
        let scale = if dirs.is_empty() {
            grad.iter().fold(0f64, |m, v| m.max(v.abs() as f64))
        } else {
            analytic.iter().fold(0f64, |m, v| m.max(v.abs()))
        };
        let perturbed = |c: usize, k: f64| {
            if dirs.is_empty() {
                let mut p = base.clone();
                let v = &mut p.as_slice_mut().expect("contiguous")[c];
                *v = (*v as f64 + k * h) as f32;
                p
            } else {
                &base + &dirs[c].mapv(|v| (v as f64 * k * h) as f32)
            }
        };
        // f at every stencil point of every coordinate.
        let mut fvals = vec![vec![0f64; steps.len()]; coords.len()];
        let f_of = |l: &ArrayD<f32>, row: usize| -> f64 {
            let k = w.len();
            let flat = l.as_slice().expect("contiguous");
            (0..k)
                .map(|j| flat[row * k + j] as f64 * w.as_slice().expect("w")[j] as f64)
                .sum()
        };
        if batched {
            let mut batch = Vec::new();
            for &c in &coords {
                for &(k, _) in &steps {
                    batch.push(perturbed(c, k));
                }
            }
            let views: Vec<_> = batch.iter().map(|a| a.view()).collect();
            let stacked = ndarray::concatenate(Axis(0), &views).expect("stack");
            let b = stacked.shape()[0];
            let rep = |a: &ArrayD<f32>| {
                let v: Vec<_> = (0..b).map(|_| a.view()).collect();
                ndarray::concatenate(Axis(0), &v).expect("repeat")
            };
            let xs = if which.is_none() {
                stacked.clone()
            } else {
                rep(x)
            };
            let ds: Vec<(String, ArrayD<f32>)> = deltas
                .iter()
                .enumerate()
                .map(|(i, (n, d))| {
                    (
                        n.clone(),
                        if which == Some(i) {
                            stacked.clone()
                        } else {
                            rep(d)
                        },
                    )
                })
                .collect();
            let seeds = rep(&w);
            let r = run_feeds(&mut fwd, &feeds(&xs, &ds, &seeds));
            let l = &r["logits"];
            for (ci, fv) in fvals.iter_mut().enumerate() {
                for (si, v) in fv.iter_mut().enumerate() {
                    *v = f_of(l, ci * steps.len() + si);
                }
            }
        } else {
            for (ci, &c) in coords.iter().enumerate() {
                for (si, &(k, _)) in steps.iter().enumerate() {
                    let p = perturbed(c, k);
                    let (xs, ds): (ArrayD<f32>, Vec<(String, ArrayD<f32>)>) = match which {
                        None => (p, deltas.clone()),
                        Some(i) => {
                            let mut d = deltas.clone();
                            d[i].1 = p;
                            (x.clone(), d)
                        }
                    };
                    let r = run_feeds(&mut fwd, &feeds(&xs, &ds, &w));
                    fvals[ci][si] = f_of(&r["logits"], 0);
                }
            }
        }
        let f0 = f_of(&out["logits"], 0);
        if o.ray {
            eprintln!("{gname}: f(x) = {f0:.6e}, <grad, x> = {:.6e}", analytic[0]);
        }
        let mut max_err = 0f64;
        let mut shown = 0;
        let mut skipped = 0;
        for (ci, &c) in coords.iter().enumerate() {
            let fv = &fvals[ci];
            if o.skip_kinks {
                // One-sided slopes from x to every stencil point.
                let slopes: Vec<f64> = fv
                    .iter()
                    .zip(&steps)
                    .map(|(v, (k, _))| (v - f0) / (k * h))
                    .collect();
                let lo = slopes.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = slopes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if hi - lo > o.kink_tol * scale {
                    skipped += 1;
                    continue;
                }
            }
            let f = fv
                .iter()
                .zip(&steps)
                .map(|(v, (_, wgt))| v * wgt)
                .sum::<f64>()
                / h;
            let err = (analytic[ci] - f).abs();
            if err > max_err {
                max_err = err;
            }
            if err > o.tol * scale && shown < 8 {
                shown += 1;
                eprintln!(
                    "  {gname}[{c}]: analytic {} vs fd {f} (err {err:.3e}, scale {scale:.3e})",
                    analytic[ci]
                );
            }
        }
        let clean = (coords.len() - skipped) as f64 / coords.len() as f64;
        assert!(
            clean >= o.min_clean && skipped < coords.len(),
            "{gname}: only {:.0} % of {} coordinates are free of kinks within 2h",
            100.0 * clean,
            coords.len()
        );
        results.push(FdResult {
            tensor: gname,
            coords: coords.len(),
            skipped,
            max_abs_err: max_err,
            scale,
        });
    }
    results
}

/// Asserts every result is within `o.tol` (relative to the gradient's max magnitude) and that
/// the gradient is not identically zero; prints the numbers.
pub fn assert_fd(what: &str, results: &[FdResult], tol: f64) {
    for r in results {
        eprintln!(
            "{what}: {} over {} coords ({} skipped as kinks): max |err| {:.3e}, max |grad| {:.3e}, rel {:.3e}",
            r.tensor,
            r.coords,
            r.skipped,
            r.max_abs_err,
            r.scale,
            r.rel()
        );
    }
    for r in results {
        assert!(r.scale > 0.0, "{what}: {} is identically zero", r.tensor);
        assert!(
            r.rel() <= tol,
            "{what}: {} rel err {:.3e} > {tol:.1e}",
            r.tensor,
            r.rel()
        );
    }
}

/// One-op model `y = op(x, extra inputs…)` with input x of `shape` (dim 0 dynamic) and a
/// finite-difference check of the input gradient.
pub fn check_op(
    what: &str,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    x: &ArrayD<f32>,
    opset: i64,
    o: &Fd,
) -> Vec<FdResult> {
    let mut dims: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
    if !o.fixed_batch {
        dims[0] = -1;
    }
    let out = nodes
        .last()
        .and_then(|n| n.output.first())
        .cloned()
        .expect("output");
    let m = model(nodes, inits, &[("x", &dims)], &[&out], opset);
    let r = fd_check(&m, x, &[], o);
    assert_fd(what, &r, o.tol);
    r
}

/// `grad_input` of `m` (single input) at x for the given seed and rule.
pub fn grad_of(m: &ModelProto, x: &ArrayD<f32>, seed: &ArrayD<f32>, rule: ReluRule) -> ArrayD<f32> {
    let (input, _, _) = crate::graph_io(m).expect("io");
    let shapes = probe(m, &[(&input, x)]);
    let spec = GradientSpec {
        layers: vec![],
        rule,
        logits: None,
        through_softmax: false,
        layers_only: false,
    };
    let g =
        build_gradient_graph(m, &shapes, &spec).unwrap_or_else(|e| panic!("gradient graph: {e}"));
    let mut s = session(&g);
    run(&mut s, &[("input", x), ("seed", seed)])["grad_input"].clone()
}

/// A copy of a gradient graph that only computes `logits` (inputs unchanged).
pub fn logits_only(g: &ModelProto) -> ModelProto {
    let mut m = g.clone();
    let gr = m.graph.as_mut().expect("graph");
    let producers = ir::producers(gr);
    let mut keep = vec![false; gr.node.len()];
    let mut stack = vec!["logits".to_string()];
    let mut seen = std::collections::HashSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        if let Some(&p) = producers.get(&t)
            && !keep[p]
        {
            keep[p] = true;
            stack.extend(ir::node_reads(&gr.node[p]));
        }
    }
    let nodes = std::mem::take(&mut gr.node);
    gr.node = nodes
        .into_iter()
        .zip(keep)
        .filter_map(|(n, k)| k.then_some(n))
        .collect();
    gr.output.retain(|o| o.name.as_deref() == Some("logits"));
    gr.initializer
        .retain(|t| t.name.as_ref().is_some_and(|n| seen.contains(n)));
    m
}
