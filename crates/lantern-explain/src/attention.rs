//! What the transformer methods ([`crate::attention_rollout`], [`crate::transformer_attribution`])
//! share: finding the attention probabilities in the ONNX graph, splitting captured tensors into
//! one `[heads, T, T]` stack per image, and turning the class-token row of a token relevance
//! matrix into a map.
//!
//! An attention probability tensor is the output of a `Softmax` over the last axis of a
//! `[N, heads, T, T]` (or `[N·heads, T, T]`) tensor that is the first operand of a `MatMul` —
//! `softmax(QKᵀ/√d) · V` — possibly through `Identity`/`Dropout` (inference forms). That is what
//! both PyTorch exporters write for timm's and torchvision's attention, fused
//! (`scaled_dot_product_attention`) or not. Blocks are in topological order of the graph.

use crate::error::{ExplainError, Result};
use lantern_graph::ir;
use lantern_runtime::Model;
use ndarray::{Array2, Array3, ArrayD, ArrayView2, Axis, Ix3, Ix4};
use std::collections::HashMap;

/// The attention Softmax outputs of the model, in block order; an error when there are none.
pub fn attention_tensors(method: &str, model: &Model) -> Result<Vec<String>> {
    let shapes = model.shapes()?;
    let graph = ir::graph(&model.proto).map_err(|e| failed(method, e.to_string()))?;
    let opset = ir::default_opset(&model.proto);
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in &n.input {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    // Whether `tensor` reaches a MatMul as its first operand, through inference no-ops.
    let feeds_values_matmul = |tensor: &str| {
        let mut frontier = vec![tensor.to_string()];
        while let Some(t) = frontier.pop() {
            for &c in consumers.get(t.as_str()).into_iter().flatten() {
                let n = &graph.node[c];
                match ir::op(n) {
                    "MatMul" if n.input.first().is_some_and(|a| *a == t) => return true,
                    "Identity" | "Dropout" if n.input.first().is_some_and(|a| *a == t) => {
                        frontier.extend(n.output.first().cloned())
                    }
                    _ => {}
                }
            }
        }
        false
    };
    let mut found = Vec::new();
    for i in ir::topo_order(graph) {
        let n = &graph.node[i];
        if ir::op(n) != "Softmax" || !ir::is_default_domain(n) {
            continue;
        }
        let Some(out) = n.output.first() else {
            continue;
        };
        let Some(dims) = shapes.get(out) else {
            continue;
        };
        let rank = dims.len() as i64;
        // Opset < 13 defaults to axis 1 and flattens from it; only the last axis is a row-wise
        // softmax under both definitions.
        let axis = ir::attr_i(n, "axis").unwrap_or(if opset < 13 { 1 } else { -1 });
        let last_axis = axis == -1 || axis == rank - 1;
        let square = (rank == 3 || rank == 4) && dims[dims.len() - 1] == dims[dims.len() - 2];
        if last_axis && square && feeds_values_matmul(out) {
            found.push(out.clone());
        }
    }
    if found.is_empty() {
        return Err(failed(
            method,
            "no attention found: the graph has no Softmax over the last axis of a [N,heads,T,T] \
             tensor feeding a MatMul with the values (is this a transformer?)"
                .into(),
        ));
    }
    Ok(found)
}

/// A captured attention tensor of `images` images → one `[heads, T, T]` per image.
/// `[N, heads, T, T]` splits on the batch axis; `[N·heads, T, T]` is batch-major (PyTorch's
/// `nn.MultiheadAttention` layout).
pub fn per_image(
    method: &str,
    tensor: &str,
    t: ArrayD<f32>,
    images: usize,
) -> Result<Vec<Array3<f32>>> {
    let shape = t.shape().to_vec();
    let bad = || {
        failed(
            method,
            format!("attention {tensor:?} has shape {shape:?} for {images} image(s)"),
        )
    };
    match t.ndim() {
        4 => {
            let t = t.into_dimensionality::<Ix4>().map_err(|_| bad())?;
            if t.len_of(Axis(0)) != images {
                return Err(bad());
            }
            Ok(t.outer_iter().map(|v| v.to_owned()).collect())
        }
        3 => {
            let t = t.into_dimensionality::<Ix3>().map_err(|_| bad())?;
            let rows = t.len_of(Axis(0));
            if images == 0 || rows % images != 0 {
                return Err(bad());
            }
            let heads = rows / images;
            Ok(t.axis_chunks_iter(Axis(0), heads)
                .map(|v| v.to_owned())
                .collect())
        }
        _ => Err(bad()),
    }
}

/// `R[0, prefix..]` of a `[T,T]` token relevance matrix as a patch grid (row-major), at token
/// resolution. The prefix tokens (class, distillation) are the first `T − gh·gw`, where the grid
/// `gh × gw` has the input's aspect ratio.
pub fn class_row_grid(
    method: &str,
    relevance: ArrayView2<f64>,
    height: usize,
    width: usize,
) -> Result<Array2<f32>> {
    let tokens = relevance.nrows();
    let (gh, gw) = patch_grid(tokens, height, width).ok_or_else(|| {
        failed(
            method,
            format!(
                "{tokens} tokens do not form a patch grid of the input's aspect ratio \
                 {height}×{width} after one or two leading class tokens"
            ),
        )
    })?;
    let prefix = tokens - gh * gw;
    let row = relevance.row(0);
    Ok(Array2::from_shape_fn((gh, gw), |(r, c)| {
        row[prefix + r * gw + c] as f32
    }))
}

/// The patch grid of `tokens` tokens: one (class) or two (class + distillation) leading tokens,
/// then `gh·gw` patches with `gh/gw = height/width`.
fn patch_grid(tokens: usize, height: usize, width: usize) -> Option<(usize, usize)> {
    (1..=2).find_map(|prefix| {
        let patches = tokens.checked_sub(prefix)?;
        let gh = ((patches * height) as f64 / width as f64).sqrt().round() as usize;
        (gh > 0 && patches % gh == 0 && (patches / gh) * height == gh * width)
            .then(|| (gh, patches / gh))
    })
}

fn failed(method: &str, message: String) -> ExplainError {
    ExplainError::Failed {
        method: method.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_skip_class_and_distillation_tokens() {
        assert_eq!(patch_grid(197, 224, 224), Some((14, 14)));
        assert_eq!(patch_grid(198, 224, 224), Some((14, 14)));
        assert_eq!(patch_grid(65, 64, 64), Some((8, 8)));
        assert_eq!(patch_grid(1 + 8 * 16, 64, 128), Some((8, 16)));
        assert_eq!(patch_grid(50, 224, 224), Some((7, 7)));
        assert_eq!(patch_grid(53, 224, 224), None);
    }

    #[test]
    fn head_stacks_split_batch_major() {
        let t = ArrayD::from_shape_fn(vec![6, 2, 2], |i| i[0] as f32);
        let stacks = per_image("t", "a", t, 2).unwrap();
        assert_eq!(stacks.len(), 2);
        assert_eq!(stacks[1][[0, 0, 0]], 3.0);
        let t = ArrayD::<f32>::zeros(vec![2, 3, 2, 2]);
        assert_eq!(per_image("t", "a", t, 2).unwrap()[0].dim(), (3, 2, 2));
    }
}
