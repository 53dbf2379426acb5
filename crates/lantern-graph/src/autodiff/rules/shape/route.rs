//! Index routing: the gradient of a pure selection op (Gather, GatherElements, GatherND, Slice:
//! every output element is a copy of one input element), whatever its indices or bounds —
//! constant or computed at run time, negative, any step, repeated.
//!
//! The forward node is run a second time on the input's flat positions
//! (`iota = Reshape(Range(0, Size(x)), Shape(x))`, int64) with its own index/bound inputs and
//! attributes, so ONNX Runtime itself says where each output element came from (negative
//! indices, clamping and steps resolved exactly as in the forward pass). `ScatterElements` with
//! `reduction = "add"` then sends every output gradient to its source; repeated sources add up.
//! Every extent is a run-time one, so the graph works at any batch size.

use crate::autodiff::ctx::Ctx;
use crate::ir::{a_int, a_string, op};
use crate::proto::NodeProto;

/// Gradient of input 0 of the selection node `n`, given the gradient `g` of its output.
pub(crate) fn route_back(ctx: &mut Ctx, n: &NodeProto, g: &str) -> String {
    let x = &n.input[0];
    let size = ctx.node("Size", &[x], vec![]);
    let zero = ctx.int_scalar(0);
    let one = ctx.int_scalar(1);
    let positions = ctx.node("Range", &[&zero, &size, &one], vec![]);
    let shape = ctx.shape_of(x);
    let iota = ctx.node("Reshape", &[&positions, &shape], vec![]);
    let mut inputs: Vec<&str> = n.input.iter().map(String::as_str).collect();
    inputs[0] = &iota;
    let sources = ctx.node(op(n), &inputs, n.attribute.clone());
    let flat = ctx.ints(&[-1]);
    let sources = ctx.node("Reshape", &[&sources, &flat], vec![]);
    let updates = ctx.node("Reshape", &[g, &flat], vec![]);
    let zeros = ctx.zeros_like(x);
    let zeros = ctx.node("Reshape", &[&zeros, &flat], vec![]);
    let summed = ctx.node(
        "ScatterElements",
        &[&zeros, &sources, &updates],
        vec![a_int("axis", 0), a_string("reduction", "add")],
    );
    ctx.node("Reshape", &[&summed, &shape], vec![])
}
