//! A finite-difference case, the setup every rule test shares: a model of a few nodes (most
//! often one, `y = op(inputs…)`) with input `x` (batch dynamic unless [`Fd::fixed_batch`]),
//! the nodes' other inputs from initializers, the last node's first output as the output,
//! checked by [`check_op`].

use super::{Fd, FdResult, check_op, node};
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use ndarray::ArrayD;

/// Builder of a case: [`op_case`] or [`graph_case`], then `.inits(..)`, `.opset(..)`, `.fd(..)`
/// where they differ from none, 13 and [`Fd::default`], then [`OpCase::check`].
pub struct OpCase {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    opset: i64,
    fd: Fd,
}

/// The case `y = op(inputs…)` with these attributes (no initializers, opset 13, default
/// finite-difference options).
pub fn op_case(op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> OpCase {
    graph_case(vec![node(op, inputs, &["y"], attrs)])
}

/// The case of a model of these nodes (no initializers, opset 13, default finite-difference
/// options).
pub fn graph_case(nodes: Vec<NodeProto>) -> OpCase {
    OpCase {
        nodes,
        inits: vec![],
        opset: 13,
        fd: Fd::default(),
    }
}

impl OpCase {
    /// The nodes' inputs other than `x` and each other's outputs.
    pub fn inits(mut self, inits: Vec<TensorProto>) -> Self {
        self.inits = inits;
        self
    }

    pub fn opset(mut self, opset: i64) -> Self {
        self.opset = opset;
        self
    }

    pub fn fd(mut self, fd: &Fd) -> Self {
        self.fd = fd.clone();
        self
    }

    /// Checks at x's batch only, with the batch fixed in the model (see [`Fd::fixed_batch`]).
    pub fn fixed_batch(mut self) -> Self {
        self.fd.fixed_batch = true;
        self
    }

    /// Checks the gradient with respect to `x` at `x` (see [`check_op`]); `what` names the case
    /// in messages.
    pub fn check(self, what: &str, x: &ArrayD<f32>) -> Vec<FdResult> {
        check_op(what, self.nodes, self.inits, x, self.opset, &self.fd)
    }
}
