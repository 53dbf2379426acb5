//! ONNX model IO, inspection, surgery and reverse-mode autodiff into gradient-exporting graphs.
//!
//! This crate is the heart of Lantern: it turns any forward ONNX image classifier into ONE ONNX
//! graph that ONNX Runtime runs to produce the logits and the gradients every attribution method
//! needs. It never runs a model itself (lantern-runtime does); it reads, edits and writes them.
//!
//! # Protobuf route
//!
//! [`proto`] holds prost messages for the full ONNX IR, generated once from the `onnx.proto` of
//! the `onnx` 1.23.2 PyPI package and committed (`gen-proto.sh` regenerates them, byte for
//! byte). Every field of the IR round-trips, so a model decoded and re-encoded is unchanged
//! (MobileNetV2 re-encodes to its file's exact bytes), and builds need no `protoc`, no build
//! script and no C++ protobuf. [`decode_model`] never panics on arbitrary bytes.
//!
//! # Gradient-exporting graphs
//!
//! [`build_gradient_graph`] emits a graph with inputs `input` (the model's image input) and
//! `seed` `[N, K]` (the upstream gradient at the logits: a one-hot row per image for a class,
//! or any weighting) and outputs `logits` `[N, K]`, `grad_input` and, per requested tensor `T`,
//! `T` and `grad_T` — so one graph serves saliency, Grad×Input, SmoothGrad, IG (batched noisy or
//! scaled copies) and the CAM family. The batch stays dynamic: where a rule needs the batch it
//! reads it at run time with `Shape`/`Size` ops.
//!
//! Only nodes that both depend on the input and feed the logits are differentiated
//! (shape/constant paths carry no gradient); a tensor read by several nodes (residual `Add`,
//! DenseNet `Concat`) sums its contributions with one `Sum`. The logits are the graph output,
//! or the input of its final Softmax/LogSoftmax unless `through_softmax`.
//!
//! # Rule registry
//!
//! [`autodiff::rules`] holds one reverse-mode rule per op (families share a folder: pools,
//! activations, broadcasting arithmetic, shape ops), each with its own tests against finite
//! differences. A rule emits ordinary ONNX nodes: Conv → a Conv with flipped, group-transposed
//! weights (stride 1, constant weights; precomputed initializers) or ConvTranspose with the same
//! weights, Relu/Clip → the gradient times a mask of the *output* (`Cast(y > 0)`, so the
//! forward keeps its Conv+activation fusion), MaxPool → its `Indices` output +
//! `ScatterElements(add)` over the flattened input, AveragePool → ConvTranspose with a kernel
//! of ones, LRN → two channel-window convolutions, Add/Mul/… → the gradient summed back over
//! broadcast axes (decided statically where both sides carry the batch on axis 0),
//! Layer/Group/InstanceNormalization → the normalisation backward through μ and σ², Einsum →
//! one Einsum per operand, CumSum → a reversed CumSum. The choices
//! follow ONNX Runtime CPU timings, given in each rule's docs. An op on the path
//! without a rule is [`GraphError::NoGradientRule`] naming the op, the node and
//! [`supported_ops`]; an unsupported attribute combination is
//! [`GraphError::UnsupportedVariant`] — never a wrong gradient. Backward nodes use opset-17
//! forms; older models are raised to 17 first, rewriting the few forward ops whose attributes
//! became inputs or whose semantics changed (see the `opset` module in the source).
//!
//! # Shapes
//!
//! Some rules need static extents: ConvTranspose's end pads/output_padding (leftover rows a
//! strided window never reached), pooling divisors, window sizes of global pooling, split sizes.
//! They come from ONE probe run of [`expose_all_tensors`]'s graph at batch 1 ([`TensorShapes`],
//! filled by the caller). Extents other than 1 are taken as batch-independent; an extent of 1
//! at batch 1 may be the batch, so where that matters (broadcast reduction, concat extents,
//! mean counts) the rule decides at run time.
//!
//! # Kinks follow PyTorch
//!
//! Relu passes gradient where `x > 0` (none at 0); Clip strictly inside `(min, max)`, like
//! `nn.ReLU6`/`Hardtanh` (the modules ONNX Clip nodes come from in classifiers); MaxPool ties go
//! to the first maximum in row-major window order (ORT's `Indices`, as torch); LeakyRelu/PRelu
//! use the negative slope at 0; Abs has gradient 0 at 0; HardSigmoid/HardSwish use torch's
//! masks; ReduceMax/ReduceMin split the gradient evenly among tied extrema (torch's `amax`);
//! ReduceL2 of zeros and Pow's masked cases give 0, as torch. With these, gradients match PyTorch autograd on the reference models (≤ 1e-4
//! relative), including images with exact MaxPool ties.
//!
//! # Guided backprop and deconvnet
//!
//! [`ReluRule`] swaps the Relu rule: guided = `relu(g)·[x > 0]` (Captum: the ordinary mask, then
//! clamp ≥ 0), deconvnet = `relu(g)`. The variants also apply to ReLU-like Clip (constant
//! min = 0, e.g. ReLU6: guided = `relu(g)·[0 < x < 6]`). Without that, guided backprop on
//! MobileNetV2 — which has no Relu, only Clip(0, 6) — would be just the gradient.
//!
//! # Weights for architecture-only models
//!
//! [`randomise_initializers`] gives seeded fan-in-scaled weights (placeholder `ConstantOfShape`
//! weights are materialised first); [`parameter_layers`] lists parameterised layers in
//! topological order for cascading randomisation (Adebayo et al.'s sanity checks).

pub mod proto;

pub mod autodiff;
pub mod cam_layer;
mod error;
pub mod inspect;
pub mod io;
pub mod ir;
mod opset;
pub mod randomise;
pub mod surgery;
mod window;

#[cfg(test)]
mod testing;

pub use autodiff::rules::supported_ops;
pub use autodiff::{GradientSpec, MIN_OPSET, ReluRule, build_gradient_graph};
pub use cam_layer::{SpatialLayout, last_attention_norm, spatial_layout};
pub use error::GraphError;
pub use inspect::{
    TensorInfo, TensorShapes, default_cam_layer, expose_all_tensors, graph_io, list_tensors,
};
pub use io::{decode_model, encode_model, load_model, model_hash};
pub use proto::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
pub use randomise::{materialise_constant_weights, parameter_layers, randomise_initializers};
