//! A one-node finite-difference case, the setup most rule tests share: `y = op(inputs…)` with
//! input `x` (batch dynamic unless [`Fd::fixed_batch`]), the node's other inputs from
//! initializers, checked by [`check_op`].

use super::{Fd, FdResult, check_op, node};
use crate::proto::{AttributeProto, TensorProto};
use ndarray::ArrayD;

/// Builder of a one-node case: [`op_case`], then `.inits(..)`, `.opset(..)`, `.fd(..)` where
/// they differ from none, 13 and [`Fd::default`], then [`OpCase::check`].
pub struct OpCase {
    op: String,
    inputs: Vec<String>,
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
    opset: i64,
    fd: Fd,
}

/// The case `y = op(inputs…)` with these attributes (no initializers, opset 13, default
/// finite-difference options).
pub fn op_case(op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> OpCase {
    OpCase {
        op: op.to_string(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        attrs,
        inits: vec![],
        opset: 13,
        fd: Fd::default(),
    }
}

impl OpCase {
    /// The node's non-`x` inputs.
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

    /// Checks the gradient with respect to `x` at `x` (see [`check_op`]); `what` names the case
    /// in messages.
    pub fn check(self, what: &str, x: &ArrayD<f32>) -> Vec<FdResult> {
        let inputs: Vec<&str> = self.inputs.iter().map(String::as_str).collect();
        let n = node(&self.op, &inputs, &["y"], self.attrs);
        check_op(what, vec![n], self.inits, x, self.opset, &self.fd)
    }
}
