//! What the transformer methods ([`crate::attention_rollout`], [`crate::transformer_attribution`])
//! share: finding the attention probabilities in the ONNX graph, splitting captured tensors into
//! one `[heads, T, T]` stack per image, and turning the class-token row of a token relevance
//! matrix into a patch grid (with [`crate::tokens`], as the CAMs lay out token layers).
//!
//! An attention probability tensor is the output of a `Softmax` over the last axis of a
//! `[N, heads, T, T]` (or `[N·heads, T, T]`) tensor that is the first operand of a `MatMul` —
//! `softmax(QKᵀ/√d) · V` — possibly through `Identity`/`Dropout` (inference forms). That is what
//! both PyTorch exporters write for timm's and torchvision's attention, fused
//! (`scaled_dot_product_attention`) or not. Blocks are in topological order of the graph.

use crate::error::{ExplainError, Result};
use crate::params::Params;
use crate::tokens::{token_split, token_vector_to_grid};
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

/// `R[cls, patches]` of a `[T,T]` token relevance matrix on the patch grid `[g,g]`: row 0 (the
/// class token), without the `extra` leading non-spatial tokens (`tokens` parameter; `None`:
/// `T − g²`, i.e. the class token, and DeiT's distillation token), laid out as
/// [`crate::tokens`] lays out CAM layers.
pub fn class_row_grid(
    method: &str,
    relevance: ArrayView2<f64>,
    extra: Option<usize>,
) -> Result<Array2<f32>> {
    let row = relevance.row(0).mapv(|v| v as f32);
    let (leading, _) = token_split(row.len(), extra).map_err(|e| failed(method, e.0))?;
    if leading == 0 {
        return Err(failed(
            method,
            format!(
                "{} attention tokens form a square grid with no class token; the map is the \
                 class token's row, so give the number of leading tokens with `tokens=`",
                row.len()
            ),
        ));
    }
    token_vector_to_grid(row.view(), Some(leading)).map_err(|e| failed(method, e.0))
}

/// The `tokens` parameter both attention methods take (leading non-spatial tokens).
pub fn tokens_param(p: &Params) -> Result<Option<usize>> {
    p.usize_opt("tokens")
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
    fn class_row_drops_leading_tokens() {
        // 1 class token + 2×2 patches: R[0, 1..].
        let r = Array2::from_shape_fn((5, 5), |(i, j)| (10 * i + j) as f64);
        let g = class_row_grid("t", r.view(), None).unwrap();
        assert_eq!(g, ndarray::array![[1.0f32, 2.0], [3.0, 4.0]]);
        // A square token count has no class token: an error unless `tokens` says otherwise.
        let r = Array2::<f64>::zeros((4, 4));
        assert!(class_row_grid("t", r.view(), None).is_err());
        assert!(class_row_grid("t", r.view(), Some(0)).is_err());
        let r = Array2::<f64>::zeros((6, 6));
        assert_eq!(
            class_row_grid("t", r.view(), Some(2)).unwrap().dim(),
            (2, 2)
        );
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
