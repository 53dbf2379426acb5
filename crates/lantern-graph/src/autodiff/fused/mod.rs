//! Fused backward rules: a forward subgraph whose intermediate tensors nothing else reads,
//! differentiated as one function. The exporters spell some activations as chains of
//! elementwise ops (torch's exact GELU is Div → Erf → Add → Mul → Mul under the TorchScript
//! exporter); chaining the ops' own rules computes every intermediate derivative on full-size
//! tensors, while the function's derivative needs a few. The sweep runs the fused rule at the
//! subgraph's last node; the interior nodes then receive no gradient and are skipped.

mod erf_gelu;

use super::ctx::Ctx;
use crate::GraphError;
use crate::proto::NodeProto;
use std::collections::{HashMap, HashSet};

/// A recognised subgraph, keyed in [`find`]'s map by the index of its last node.
pub(super) enum Fused {
    ErfGelu(erf_gelu::ErfGelu),
}

impl Fused {
    /// Gradient contributions `(tensor, gradient)` to the subgraph's inputs, given the gradient
    /// `g` of its output.
    pub(super) fn backward(
        &self,
        ctx: &mut Ctx,
        g: &str,
    ) -> Result<Vec<(String, String)>, GraphError> {
        match self {
            Fused::ErfGelu(p) => Ok(p.backward(ctx, g)),
        }
    }
}

/// Every fusable subgraph of `forward` (topological order) whose interior tensors are read by
/// nothing outside it and are not `exported` (logits, requested layers).
pub(super) fn find(
    forward: &[NodeProto],
    consts: &HashMap<String, crate::proto::TensorProto>,
    exported: &HashSet<String>,
) -> HashMap<usize, Fused> {
    let graph = Graph::new(forward, consts, exported);
    let mut found = HashMap::new();
    for (idx, n) in forward.iter().enumerate() {
        if let Some((last, p)) = erf_gelu::ErfGelu::at(&graph, idx, n) {
            found.insert(last, Fused::ErfGelu(p));
        }
    }
    found
}

/// The forward graph as pattern matching reads it.
pub(super) struct Graph<'a> {
    nodes: &'a [NodeProto],
    consts: &'a HashMap<String, crate::proto::TensorProto>,
    producer: HashMap<&'a str, usize>,
    /// Per tensor, the nodes reading it (once per node).
    readers: HashMap<&'a str, Vec<usize>>,
    exported: &'a HashSet<String>,
}

impl<'a> Graph<'a> {
    fn new(
        nodes: &'a [NodeProto],
        consts: &'a HashMap<String, crate::proto::TensorProto>,
        exported: &'a HashSet<String>,
    ) -> Graph<'a> {
        let mut producer = HashMap::new();
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for o in &n.output {
                producer.insert(o.as_str(), i);
            }
            let mut seen = HashSet::new();
            for x in &n.input {
                if seen.insert(x.as_str()) {
                    readers.entry(x.as_str()).or_default().push(i);
                }
            }
        }
        Graph {
            nodes,
            consts,
            producer,
            readers,
            exported,
        }
    }

    fn node(&self, i: usize) -> &'a NodeProto {
        &self.nodes[i]
    }

    /// The one node reading `t`, if exactly one does and `t` is not exported.
    fn sole_reader(&self, t: &str) -> Option<usize> {
        if self.exported.contains(t) {
            return None;
        }
        match self.readers.get(t).map(Vec::as_slice) {
            Some([r]) => Some(*r),
            _ => None,
        }
    }

    fn producer(&self, t: &str) -> Option<usize> {
        self.producer.get(t).copied()
    }

    /// The value of a constant scalar (or one-element) tensor.
    fn scalar(&self, t: &str) -> Option<f64> {
        match crate::ir::tensor_values_f64(self.consts.get(t)?)?.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }

    /// For a binary node with one constant-scalar operand: (the other operand, the constant).
    fn with_scalar(&self, n: &'a NodeProto) -> Option<(&'a str, f64)> {
        match (self.scalar(&n.input[0]), self.scalar(&n.input[1])) {
            (None, Some(c)) => Some((&n.input[0], c)),
            (Some(c), None) => Some((&n.input[1], c)),
            _ => None,
        }
    }
}
