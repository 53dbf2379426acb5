//! A symbolic batch for static-batch exports. PyTorch's default exporter (`dynamo=True`) writes
//! the batch as the constant 1 — in the graph input and outputs, in every `value_info`, and in
//! the shape constants of `Reshape` (`view(B, …)` becomes `[1, …]`) — so ONNX Runtime refuses
//! any other batch. [`symbolic_batch`] rewrites Lantern's copy of the graph:
//!
//! - the image input's and the outputs' leading 1 becomes the symbol `batch`; `value_info` is
//!   dropped (it only repeats the static shapes; ONNX Runtime infers them again);
//! - a `Reshape`/`Expand` on the image's path whose constant target starts with 1 gets the target
//!   `Concat(batch, target[1:])`: the run-time batch in place of the 1;
//! - a constant concatenated (on an axis other than 0) to image-path tensors whose leading
//!   extent is 1 (a class token folded into an initializer) is `Expand`ed to the batch first.
//!
//! Where `batch` comes from is the [`BatchSource`]: the leading extent of the node's own
//! image-path input where the exporter's `value_info` gives it a leading 1 (`Local`: no new path from the image to the output, so the tensors every
//! path passes through — where incremental occlusion cuts the graph — stay as they were), or of
//! the image (`Image`: also right where a tensor's leading axis is not the batch, e.g.
//! `[batch·heads, T, C]` reshaped to `[batch, heads, T, C]`). Callers try `Local` first.
//!
//! Anything else that hard-codes the batch is not detected here: the caller (lantern-runtime)
//! runs the rewritten graph at batch > 1 against batch-1 runs of the original and falls back to
//! running batch by batch if they differ or the graph is refused.

use crate::error::GraphError;
use crate::inspect::graph_io;
use crate::ir::{self, op};
use crate::proto::tensor_shape_proto::dimension::Value as DimValue;
use crate::proto::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto, type_proto};
use std::collections::{HashMap, HashSet};

/// The symbol the rewritten graph uses for the batch.
pub const BATCH_SYMBOL: &str = "batch";
const BATCH: &str = "__lantern_batch";

/// A graph with a symbolic batch, and what was changed (one line per change).
pub struct SymbolicBatch {
    pub model: ModelProto,
    pub changes: Vec<String>,
}

/// Whether the image input's batch dimension is the constant 1.
pub fn has_static_batch(m: &ModelProto) -> bool {
    graph_io(m).is_ok_and(|(_, dims, _)| dims.first() == Some(&Some(1)))
}

fn leading_one_to_symbol(v: &mut ValueInfoProto) -> bool {
    if let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut())
        && let Some(d) = t.shape.as_mut().and_then(|s| s.dim.first_mut())
        && d.value == Some(DimValue::DimValue(1))
    {
        d.value = Some(DimValue::DimParam(BATCH_SYMBOL.into()));
        return true;
    }
    false
}

/// Where the rewritten graph reads the run-time batch (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSource {
    /// The leading extent of the rewritten node's own image-path input.
    Local,
    /// The leading extent of the image input.
    Image,
}

/// The rewrite described in the module doc; `None` when the batch is not the constant 1.
pub fn symbolic_batch(
    m: &ModelProto,
    source: BatchSource,
) -> Result<Option<SymbolicBatch>, GraphError> {
    if !has_static_batch(m) {
        return Ok(None);
    }
    let (image, _, _) = graph_io(m)?;
    let mut model = m.clone();
    let g = model
        .graph
        .as_mut()
        .ok_or_else(|| GraphError::InvalidModel("the model has no graph".into()))?;
    let mut changes = symbolic_io(g, &image);
    // Leading extents the exporter recorded (at batch 1), read before value_info is dropped.
    let leading = recorded_leading_extents(g);
    if !g.value_info.is_empty() {
        changes.push(format!("dropped {} static value_info", g.value_info.len()));
        g.value_info.clear();
    }
    let mut r = Rewriter {
        source,
        leading,
        on_path: image_path(g, &image),
        consts: ir::constants(g),
        prepend: HashMap::new(),
        inits: Vec::new(),
        changes,
        fresh: 0,
        bounds_needed: false,
        image_batch_needed: false,
    };
    for (i, n) in g.node.iter_mut().enumerate() {
        match op(n) {
            "Reshape" | "Expand" => r.batch_in_target(i, n),
            "Concat" => r.expand_concatenated_constants(i, n),
            _ => {}
        }
    }
    r.finish(g, &image);
    Ok(Some(SymbolicBatch {
        model,
        changes: r.changes,
    }))
}

/// The image input's and the outputs' leading 1 → [`BATCH_SYMBOL`]; the outputs' changes.
fn symbolic_io(g: &mut GraphProto, image: &str) -> Vec<String> {
    for v in g
        .input
        .iter_mut()
        .filter(|v| v.name.as_deref() == Some(image))
    {
        leading_one_to_symbol(v);
    }
    let mut changes = Vec::new();
    for v in &mut g.output {
        if leading_one_to_symbol(v) {
            changes.push(format!(
                "output {:?}: batch 1 → {BATCH_SYMBOL}",
                v.name.as_deref().unwrap_or("")
            ));
        }
    }
    changes
}

/// Per tensor with a `value_info`, its leading extent where static.
fn recorded_leading_extents(g: &GraphProto) -> HashMap<String, i64> {
    g.value_info
        .iter()
        .filter_map(|v| {
            let name = v.name.clone()?;
            match v.r#type.as_ref()?.value.as_ref()? {
                type_proto::Value::TensorType(t) => match t.shape.as_ref()?.dim.first()?.value {
                    Some(DimValue::DimValue(d)) => Some((name, d)),
                    _ => None,
                },
                _ => None,
            }
        })
        .collect()
}

/// Tensors computed from the image.
fn image_path(g: &GraphProto, image: &str) -> HashSet<String> {
    let mut on_path: HashSet<String> = HashSet::from([image.to_string()]);
    for i in ir::topo_order(g) {
        let n = &g.node[i];
        if ir::node_reads(n).iter().any(|x| on_path.contains(x)) {
            on_path.extend(n.output.iter().filter(|o| !o.is_empty()).cloned());
        }
    }
    on_path
}

const SLICE_START: &str = "__lantern_batch_start";
const SLICE_END: &str = "__lantern_batch_end";

/// The rewrite's state: what it adds in front of which node, and what it changed.
struct Rewriter {
    source: BatchSource,
    leading: HashMap<String, i64>,
    on_path: HashSet<String>,
    consts: HashMap<String, TensorProto>,
    /// Nodes to insert before the node of that index.
    prepend: HashMap<usize, Vec<NodeProto>>,
    inits: Vec<TensorProto>,
    changes: Vec<String>,
    fresh: usize,
    bounds_needed: bool,
    image_batch_needed: bool,
}

impl Rewriter {
    fn new_name(&mut self, what: &str) -> String {
        self.fresh += 1;
        format!("__lantern_batch_{what}_{}", self.fresh)
    }

    /// The batch for node `i` whose image-path input is `x`: `Shape(x)[0:1]` made in front of
    /// it (Local, only where the exporter recorded a leading 1 for `x`: elsewhere, e.g.
    /// `[heads, d, T]` with the batch folded in, the image's), or the image's, made once at the
    /// top (Image).
    fn batch_of(&mut self, i: usize, x: &str) -> String {
        self.bounds_needed = true;
        if self.source == BatchSource::Image || self.leading.get(x) != Some(&1) {
            self.image_batch_needed = true;
            return BATCH.to_string();
        }
        let shape = self.new_name("shape_of");
        let batch = self.new_name("batch_of");
        let nodes = self.prepend.entry(i).or_default();
        nodes.push(ir::make_node("Shape", &[x], &[&shape], &shape, vec![]));
        nodes.push(ir::make_node(
            "Slice",
            &[&shape, SLICE_START, SLICE_END],
            &[&batch],
            &batch,
            vec![],
        ));
        batch
    }

    /// `Concat(batch, tail)` in front of node `i` (tail: constant ints); returns its output.
    fn batch_then(&mut self, i: usize, x: &str, tail: &[i64], hint: &str) -> String {
        let rest = self.new_name(hint);
        let shape = self.new_name("shape");
        self.inits
            .push(ir::tensor_i64(&rest, &[tail.len() as i64], tail));
        let batch = self.batch_of(i, x);
        self.prepend.entry(i).or_default().push(ir::make_node(
            "Concat",
            &[&batch, &rest],
            &[&shape],
            &shape,
            vec![ir::a_int("axis", 0)],
        ));
        shape
    }

    /// A Reshape/Expand of an image-path tensor to a constant target `[1, …]`: the target
    /// takes the run-time batch.
    fn batch_in_target(&mut self, i: usize, n: &mut NodeProto) {
        let Some(values) = n
            .input
            .get(1)
            .and_then(|t| self.consts.get(t))
            .and_then(ir::tensor_values_i64)
        else {
            return;
        };
        let data_on_path = n.input.first().is_some_and(|x| self.on_path.contains(x));
        if values.first() != Some(&1) || values.len() < 2 || !data_on_path {
            return;
        }
        let shape = self.batch_then(i, &n.input[0], &values[1..], "rest");
        self.changes.push(format!(
            "{} {:?}: target {values:?} takes the run-time batch",
            op(n),
            n.name.as_deref().unwrap_or("")
        ));
        n.input[1] = shape;
    }

    /// Constants `[1, …]` concatenated (axis ≠ 0) to image-path tensors: expanded to the batch.
    fn expand_concatenated_constants(&mut self, i: usize, n: &mut NodeProto) {
        let axis = ir::attr_i(n, "axis").unwrap_or(0);
        let Some(on_path_input) = n.input.iter().find(|x| self.on_path.contains(*x)).cloned()
        else {
            return;
        };
        if axis == 0 {
            return;
        }
        for k in 0..n.input.len() {
            let x = n.input[k].clone();
            let Some(dims) = self.consts.get(&x).map(|t| t.dims.clone()) else {
                continue;
            };
            if dims.len() < 2 || dims[0] != 1 {
                continue;
            }
            let shape = self.batch_then(i, &on_path_input, &vec![1; dims.len() - 1], "ones");
            let expanded = self.new_name("expanded");
            self.prepend.entry(i).or_default().push(ir::make_node(
                "Expand",
                &[&x, &shape],
                &[&expanded],
                &expanded,
                vec![],
            ));
            self.changes.push(format!(
                "Concat {:?}: constant {x:?} {dims:?} expanded to the batch",
                n.name.as_deref().unwrap_or(""),
            ));
            n.input[k] = expanded;
        }
    }

    /// Inserts the new nodes and initializers into `g`.
    fn finish(&mut self, g: &mut GraphProto, image: &str) {
        let mut head = Vec::new();
        if self.bounds_needed {
            self.inits.push(ir::tensor_i64(SLICE_START, &[1], &[0]));
            self.inits.push(ir::tensor_i64(SLICE_END, &[1], &[1]));
        }
        if self.image_batch_needed {
            let shape = "__lantern_batch_image_shape";
            head.push(ir::make_node("Shape", &[image], &[shape], shape, vec![]));
            head.push(ir::make_node(
                "Slice",
                &[shape, SLICE_START, SLICE_END],
                &[BATCH],
                BATCH,
                vec![],
            ));
        }
        let old = std::mem::take(&mut g.node);
        g.node = head;
        for (i, n) in old.into_iter().enumerate() {
            if let Some(before) = self.prepend.remove(&i) {
                g.node.extend(before);
            }
            g.node.push(n);
        }
        g.initializer.append(&mut self.inits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{reference_model, session, static_fixture, uniform};
    use ndarray::{Array4, ArrayD, Axis};
    use ort::value::Tensor;

    fn logits(m: &ModelProto, x: &Array4<f32>) -> ArrayD<f32> {
        let mut s = session(m);
        let out = s
            .run(vec![(
                "input".to_string(),
                Tensor::from_array(x.clone()).expect("tensor").into_dyn(),
            )])
            .unwrap_or_else(|e| panic!("run: {e}"));
        out[0].try_extract_array::<f32>().expect("f32").to_owned()
    }

    /// Seeded images `[n, c, h, h]` in [-1, 1).
    fn seeded(n: usize, c: usize, h: usize) -> Array4<f32> {
        uniform(&[n, c, h, h], -1.0, 1.0, 12345)
            .into_dimensionality()
            .expect("4-D")
    }

    /// Rewritten at batch 3 = the original image by image, with either batch source.
    fn check_batched(name: &str, size: usize) {
        for source in [BatchSource::Local, BatchSource::Image] {
            check_batched_from(name, size, source);
        }
    }

    fn check_batched_from(name: &str, size: usize, source: BatchSource) {
        let m = static_fixture(name);
        assert!(has_static_batch(&m));
        let rewritten = symbolic_batch(&m, source)
            .expect("rewrite")
            .expect("static batch");
        assert!(!rewritten.changes.is_empty());
        let x = seeded(3, 3, size);
        let batched = logits(&rewritten.model, &x);
        for i in 0..3 {
            let one = x.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned();
            let want = logits(&m, &one);
            let got = batched.index_axis(Axis(0), i);
            let diff = got
                .iter()
                .zip(want.iter())
                .fold(0f32, |d, (a, b)| d.max((a - b).abs()));
            assert!(diff < 1e-5, "{name} ({source:?}) row {i}: {diff}");
        }
    }

    #[test]
    fn static_cnn_runs_batched() {
        check_batched("tiny_cnn_static.onnx", 32);
    }

    #[test]
    fn static_vit_runs_batched() {
        check_batched("tiny_vit_static.onnx", 64);
    }

    #[test]
    fn dynamic_models_are_left_alone() {
        lantern_core::skip_without_reference!();
        let m = reference_model("resnet18");
        assert!(!has_static_batch(&m));
        assert!(
            symbolic_batch(&m, BatchSource::Local)
                .expect("ok")
                .is_none()
        );
    }
}
