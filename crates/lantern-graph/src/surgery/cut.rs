//! Cutting a graph: the tensors that every path from the image input to the output passes
//! through (dominators, where a graph can be split into a prefix and a suffix), and sub-models
//! made of some of a graph's nodes with chosen tensors as their inputs and outputs.

use crate::GraphError;
use crate::ir::{self, op};
use crate::proto::{
    GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto, tensor_proto::DataType,
};
use std::collections::{HashMap, HashSet, VecDeque};

/// Lookups over one graph: topological order, producers, consumers, which tensors depend on
/// the image input, and which nodes lie between the input and the (first) output.
pub struct GraphIndex<'a> {
    pub graph: &'a GraphProto,
    /// The image input (first non-initializer graph input).
    pub input: String,
    /// The first graph output.
    pub output: String,
    /// Node indices in topological order.
    pub order: Vec<usize>,
    /// Position of each node in `order`.
    pub position: Vec<usize>,
    pub producers: HashMap<String, usize>,
    pub consumers: HashMap<String, Vec<usize>>,
    /// Tensors that depend on the image input (the input included).
    pub image: HashSet<String>,
    /// Nodes that read an image tensor and feed the output.
    pub active: Vec<bool>,
    /// Initializers and `Constant` outputs.
    pub constants: HashMap<String, TensorProto>,
}

impl<'a> GraphIndex<'a> {
    pub fn new(m: &'a ModelProto) -> Result<GraphIndex<'a>, GraphError> {
        let g = ir::graph(m)?;
        let (input, _, output) = crate::inspect::graph_io(m)?;
        let order = ir::topo_order(g);
        let mut position = vec![0; g.node.len()];
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        let producers = ir::producers(g);
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in g.node.iter().enumerate() {
            let mut reads = ir::node_reads(n);
            reads.sort();
            reads.dedup();
            for r in reads {
                consumers.entry(r).or_default().push(i);
            }
        }
        let mut image: HashSet<String> = HashSet::from([input.clone()]);
        for &i in &order {
            let n = &g.node[i];
            if ir::node_reads(n).iter().any(|r| image.contains(r)) {
                image.extend(n.output.iter().filter(|o| !o.is_empty()).cloned());
            }
        }
        let mut feeds_output = vec![false; g.node.len()];
        let mut stack = vec![output.clone()];
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            if let Some(&p) = producers.get(&t) {
                feeds_output[p] = true;
                stack.extend(ir::node_reads(&g.node[p]));
            }
        }
        let active = (0..g.node.len())
            .map(|i| {
                feeds_output[i] && ir::node_reads(&g.node[i]).iter().any(|r| image.contains(r))
            })
            .collect();
        Ok(GraphIndex {
            graph: g,
            input,
            output,
            order,
            position,
            producers,
            consumers,
            image,
            active,
            constants: ir::constants(g),
        })
    }

    /// The active nodes that `tensor` depends on (its producer included), in topological order.
    pub fn active_ancestors(&self, tensor: &str) -> Vec<usize> {
        let mut keep = vec![false; self.graph.node.len()];
        let mut stack = vec![tensor.to_string()];
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            if let Some(&p) = self.producers.get(&t)
                && self.active[p]
                && !keep[p]
            {
                keep[p] = true;
                stack.extend(ir::node_reads(&self.graph.node[p]));
            }
        }
        self.order.iter().copied().filter(|&i| keep[i]).collect()
    }

    /// Tensors (outputs of active nodes, the output itself excluded) through which every path
    /// from the image input to the output passes, in topological order. Cutting at one splits
    /// the graph into a prefix (input → tensor) and a suffix (tensor → output) that meet only
    /// there.
    pub fn dominators(&self) -> Vec<String> {
        let mut out = Vec::new();
        for &i in &self.order {
            if !self.active[i] {
                continue;
            }
            for t in &self.graph.node[i].output {
                if t.is_empty() || *t == self.output {
                    continue;
                }
                if !self.reaches_output_avoiding(t) {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// Whether the output is reachable from the input without reading `blocked`.
    fn reaches_output_avoiding(&self, blocked: &str) -> bool {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([self.input.as_str()]);
        while let Some(t) = queue.pop_front() {
            if t == blocked || !seen.insert(t) {
                continue;
            }
            if t == self.output {
                return true;
            }
            for &c in self.consumers.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                if self.active[c] {
                    queue.extend(self.graph.node[c].output.iter().map(String::as_str));
                }
            }
        }
        false
    }

    /// A sub-model of `nodes` (any order; emitted topologically; `replace` swaps in edited
    /// copies of some) reading `inputs` and producing `outputs`. Initializers and
    /// constant-only nodes the nodes read come along; an image tensor that is neither produced
    /// by `nodes`, nor among `inputs`, nor in `added` (names the caller adds nodes for
    /// afterwards) is an error.
    pub fn sub_model(
        &self,
        model: &ModelProto,
        nodes: &[usize],
        replace: &HashMap<usize, NodeProto>,
        added: &HashSet<String>,
        inputs: Vec<ValueInfoProto>,
        outputs: &[String],
    ) -> Result<ModelProto, GraphError> {
        let g = self.graph;
        let node = |i: usize| replace.get(&i).unwrap_or(&g.node[i]);
        let mut keep: HashSet<usize> = nodes.iter().copied().collect();
        let fed: HashSet<String> = inputs.iter().filter_map(|v| v.name.clone()).collect();
        let initializers: HashMap<&str, &TensorProto> = g
            .initializer
            .iter()
            .filter_map(|t| Some((t.name.as_deref()?, t)))
            .collect();
        let mut needed_inits: HashSet<String> = HashSet::new();
        let mut stack: Vec<usize> = nodes.to_vec();
        while let Some(i) = stack.pop() {
            for r in ir::node_reads(node(i)) {
                if fed.contains(&r) || added.contains(&r) {
                    continue;
                }
                match self.producers.get(&r) {
                    Some(&p) if keep.contains(&p) => {}
                    Some(&p) if !self.image.contains(&r) => {
                        keep.insert(p);
                        stack.push(p);
                    }
                    Some(_) => {
                        return Err(GraphError::InvalidModel(format!(
                            "sub-model: node {:?} ({}) reads {r:?}, which is neither an input nor computed inside",
                            ir::node_label(&g.node[i]),
                            op(&g.node[i])
                        )));
                    }
                    None if initializers.contains_key(r.as_str()) => {
                        needed_inits.insert(r);
                    }
                    None => {
                        return Err(GraphError::InvalidModel(format!(
                            "sub-model: node {:?} reads {r:?}, which is not defined",
                            ir::node_label(&g.node[i])
                        )));
                    }
                }
            }
        }
        let mut order: Vec<usize> = keep.into_iter().collect();
        order.sort_by_key(|&i| self.position[i]);
        let graph = GraphProto {
            name: g.name.clone(),
            node: order.iter().map(|&i| node(i).clone()).collect(),
            initializer: g
                .initializer
                .iter()
                .filter(|t| t.name.as_ref().is_some_and(|n| needed_inits.contains(n)))
                .cloned()
                .collect(),
            input: inputs,
            output: outputs.iter().map(|o| float_value_info(o, None)).collect(),
            ..Default::default()
        };
        Ok(ModelProto {
            // IR ≥ 4: initializers need not be listed as graph inputs.
            ir_version: Some(model.ir_version.unwrap_or(4).max(4)),
            opset_import: model.opset_import.clone(),
            producer_name: Some("lantern-graph surgery".into()),
            functions: model.functions.clone(),
            graph: Some(graph),
            ..Default::default()
        })
    }
}

/// A float tensor value info; `dims` entries `None` are left unknown (so crops of any size and
/// any batch fit), and `dims = None` leaves the rank unknown too.
pub fn float_value_info(name: &str, dims: Option<&[Option<i64>]>) -> ValueInfoProto {
    ir::value_info(name, DataType::Float as i32, dims, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::reference_model;

    #[test]
    fn resnet18_dominators_are_block_outputs() {
        lantern_core::skip_without_reference!();
        let m = reference_model("resnet18");
        let ix = GraphIndex::new(&m).expect("index");
        let d = ix.dominators();
        // Inside a residual block only the block output dominates: the skip path bypasses the
        // block's convolutions.
        assert!(d.contains(&"/maxpool/MaxPool_output_0".to_string()));
        assert!(d.contains(&"/layer1/layer1.1/relu_1/Relu_output_0".to_string()));
        assert!(d.contains(&"/layer2/layer2.0/relu_1/Relu_output_0".to_string()));
        assert!(!d.contains(&"/layer1/layer1.0/relu/Relu_output_0".to_string()));
        assert!(!d.contains(&"/layer2/layer2.0/conv1/Conv_output_0".to_string()));
        // Stem (conv, bn, relu, maxpool), per block its Add and Relu, then pool and flatten.
        assert_eq!(d.len(), 4 + 8 * 2 + 2, "{d:?}");
    }
}
