//! Reverse-mode autodiff: one forward ONNX classifier in, one gradient-exporting ONNX graph out.
//!
//! Steps, one module each: raise the opset (≥ 17, see the `opset` module) and order the nodes
//! ([`forward`]); find the logits and free the names the gradient graph reserves ([`logits`]);
//! mark the tensors that depend on the input ("active") and those the logits depend on
//! ("needed") ([`activity`]); every node that is both is differentiated, in reverse topological
//! order, by its rule from [`rules`], gradients of tensors used several times added with one
//! `Sum` ([`sweep`], which knows the batch-major tensors from [`batch_major`] so that it can
//! reduce broadcasts without run-time shape checks); finally the forward nodes still needed (by
//! the outputs or by the backward nodes) are kept ([`assemble`]).

mod activity;
mod assemble;
mod batch_major;
pub(crate) mod ctx;
mod forward;
mod fused;
mod logits;
pub mod rules;
mod sweep;

#[cfg(test)]
mod builder_tests;
#[cfg(test)]
mod light_tests;
#[cfg(test)]
mod network_tests;
#[cfg(test)]
mod zoo_tests;

use crate::GraphError;
use crate::inspect::TensorShapes;
use crate::proto::ModelProto;

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
/// Pow in both operands. 4: the batch axis is tracked through transposes, MatMuls and
/// Reshapes to computed targets, so broadcast gradients of transformers and ConvNeXt are reduced
/// with static axes (or not at all) instead of run-time shape checks. 5: Gathers that are
/// slices pad back as blocks, blocks tiling an axis concatenate; torch's erf-GELU fused.
pub const GRAPH_REVISION: u32 = 5;

/// The lowest default-domain opset of gradient graphs (ScatterElements with `reduction`
/// needs 16; 17 is what the reference exporters write).
pub const MIN_OPSET: i64 = 17;

/// Builds the gradient-exporting graph of `m`.
///
/// Inputs: `input` (the model's image input, same type; fed to the original input name through
/// an Identity when that differs) and `seed` `[N, K]`, the upstream gradient at the logits.
/// Outputs: `logits` `[N, K]`, `grad_input` (not with [`GradientSpec::layers_only`]), and `T`,
/// `grad_T` for every requested layer. `shapes` are static shapes at batch 1 from one probe
/// run ([`crate::expose_all_tensors`]).
pub fn build_gradient_graph(
    m: &ModelProto,
    shapes: &TensorShapes,
    spec: &GradientSpec,
) -> Result<ModelProto, GraphError> {
    let default_logits = logits::default_logits(m, spec)?;
    let mut forward = forward::prepare_forward(m, shapes)?;
    let logits = logits::checked_logits(&forward, spec, default_logits)?;
    let mut activity = activity::analyse_activity(&forward, spec, &logits)?;
    let names = logits::free_reserved_names(&mut forward, &mut activity, spec, logits);
    let backward = sweep::reverse_sweep(spec, forward, activity, names)?;
    Ok(assemble::assemble_model(backward))
}
