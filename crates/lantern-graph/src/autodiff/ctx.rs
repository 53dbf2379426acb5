//! The context every reverse-mode rule writes into: fresh names, node emission, constants,
//! static shapes (from the probe) and dynamic shapes (Shape ops, so the batch stays free).

use super::ReluRule;
use crate::GraphError;
use crate::ir::{self, a_int, a_tensor, make_node, op};
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use lantern_core::hash::Fnv1a;
use std::collections::{HashMap, HashSet};

/// Gradients of a node's inputs, aligned with `node.input` (`None`: no gradient needed/flows).
pub(crate) type Grads = Vec<Option<String>>;

/// What a reverse-mode rule returns: its input gradients, or why it cannot give them.
pub(crate) type RuleResult = Result<Grads, GraphError>;

pub(crate) struct Ctx {
    pub(crate) relu_rule: ReluRule,
    /// Element type of the differentiated activations (that of the image input).
    pub(crate) dtype: i32,
    shapes: HashMap<String, Vec<i64>>,
    consts: HashMap<String, TensorProto>,
    active: HashSet<String>,
    names: HashSet<String>,
    counter: usize,
    /// Label of the node being differentiated (prefix of the names it emits).
    pub(crate) prefix: String,
    /// Forward nodes in topological order; rules may add outputs (MaxPool indices).
    pub(crate) forward: Vec<NodeProto>,
    /// Index in `forward` of the node being differentiated.
    pub(crate) current: usize,
    /// Backward nodes in emission order.
    pub(crate) nodes: Vec<NodeProto>,
    /// New initializers (constants of the backward pass).
    pub(crate) inits: Vec<TensorProto>,
    const_cache: HashMap<String, String>,
    shape_cache: HashMap<String, String>,
    /// For tensors whose batch sits on one axis at every batch size, with their other extents
    /// independent of it, that axis (see [`super::batch_major::batch_axes`]); lets
    /// [`Ctx::unbroadcast`] decide statically.
    pub(crate) batch_axis: HashMap<String, usize>,
    /// Gradients that are zero outside one block of one axis (emitted by [`Ctx::pad_block`]):
    /// the sweep concatenates blocks that tile an axis instead of summing their padded copies.
    pub(crate) blocks: HashMap<String, Block>,
}

/// A gradient `Pad(inner)` that is zero outside `[start, start + len)` of `axis` (static
/// extent `extent`, not the batch).
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub(crate) inner: String,
    pub(crate) axis: usize,
    pub(crate) start: i64,
    pub(crate) len: i64,
    pub(crate) extent: i64,
}

impl Ctx {
    pub(crate) fn new(
        relu_rule: ReluRule,
        dtype: i32,
        shapes: HashMap<String, Vec<i64>>,
        consts: HashMap<String, TensorProto>,
        active: HashSet<String>,
        names: HashSet<String>,
        forward: Vec<NodeProto>,
    ) -> Ctx {
        Ctx {
            relu_rule,
            dtype,
            shapes,
            consts,
            active,
            names,
            counter: 0,
            prefix: String::new(),
            forward,
            current: 0,
            nodes: Vec::new(),
            inits: Vec::new(),
            const_cache: HashMap::new(),
            shape_cache: HashMap::new(),
            batch_axis: HashMap::new(),
            blocks: HashMap::new(),
        }
    }

    // -- names and nodes ------------------------------------------------------------------------

    /// A tensor name not used anywhere in the graph.
    pub(crate) fn fresh(&mut self, hint: &str) -> String {
        loop {
            self.counter += 1;
            let name = format!("{}/grad/{hint}_{}", self.prefix, self.counter);
            if self.names.insert(name.clone()) {
                return name;
            }
        }
    }

    /// Emits a single-output node and returns its output.
    pub(crate) fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(op_type);
        self.nodes
            .push(make_node(op_type, inputs, &[&out], &out, attrs));
        out
    }

    /// Emits a node with `n` outputs.
    pub(crate) fn node_n(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        n: usize,
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        let outs: Vec<String> = (0..n).map(|_| self.fresh(op_type)).collect();
        let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
        let name = outs[0].clone();
        self.nodes
            .push(make_node(op_type, inputs, &refs, &name, attrs));
        outs
    }

    /// Emits a node with a fixed output name.
    pub(crate) fn node_named(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<AttributeProto>,
    ) {
        self.names.insert(output.to_string());
        self.nodes
            .push(make_node(op_type, inputs, &[output], output, attrs));
    }

    // -- graph facts ----------------------------------------------------------------------------

    /// Whether the gradient of this tensor is wanted (it depends on the input).
    pub(crate) fn needs_grad(&self, name: &str) -> bool {
        !name.is_empty() && self.active.contains(name)
    }

    /// Static shape at batch 1 (probe, initializer dims or constants).
    pub(crate) fn shape(&self, name: &str) -> Result<Vec<i64>, GraphError> {
        self.shapes
            .get(name)
            .cloned()
            .ok_or_else(|| GraphError::MissingShape(name.to_string()))
    }

    pub(crate) fn rank(&self, name: &str) -> Result<usize, GraphError> {
        Ok(self.shape(name)?.len())
    }

    pub(crate) fn set_shape(&mut self, name: &str, shape: Vec<i64>) {
        self.shapes.insert(name.to_string(), shape);
    }

    /// Values of a constant tensor (initializer or Constant node).
    pub(crate) fn const_values(&self, name: &str) -> Option<Vec<f64>> {
        self.consts.get(name).and_then(ir::tensor_values_f64)
    }

    /// A constant tensor (initializer or Constant node) as stored.
    pub(crate) fn const_tensor(&self, name: &str) -> Option<&TensorProto> {
        self.consts.get(name)
    }

    /// Every constant tensor (initializers and Constant nodes) by name.
    pub(crate) fn consts(&self) -> &HashMap<String, TensorProto> {
        &self.consts
    }

    pub(crate) fn const_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.consts.get(name).and_then(ir::tensor_values_i64)
    }

    /// Integer attribute-or-constant-input: `attr` when present, else input `idx` if constant.
    pub(crate) fn ints_attr_or_input(
        &self,
        n: &NodeProto,
        attr: &str,
        idx: usize,
    ) -> Result<Option<Vec<i64>>, GraphError> {
        if let Some(v) = ir::attr(n, attr) {
            return Ok(Some(v.ints.clone()));
        }
        match n.input.get(idx).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(name) => self
                .const_ints(name)
                .map(Some)
                .ok_or_else(|| unsupported(n, &format!("input {idx} ({name}) must be a constant"))),
        }
    }

    // -- constants ------------------------------------------------------------------------------

    fn cached_const(&mut self, key: String, make: impl FnOnce(&str) -> TensorProto) -> String {
        if let Some(n) = self.const_cache.get(&key) {
            return n.clone();
        }
        let saved = std::mem::replace(&mut self.prefix, "lantern".into());
        let name = self.fresh("const");
        self.prefix = saved;
        self.inits.push(make(&name));
        self.const_cache.insert(key, name.clone());
        name
    }

    /// An initializer computed at graph-build time (e.g. transformed weights), made once per
    /// `key` (weights shared by several nodes are transformed once); `None` when `make` gives
    /// up. Its name is fresh, whatever `make` named it.
    pub(crate) fn cached_initializer(
        &mut self,
        key: &str,
        hint: &str,
        make: impl FnOnce(&Ctx) -> Option<TensorProto>,
    ) -> Option<String> {
        let key = format!("init:{key}");
        if let Some(n) = self.const_cache.get(&key) {
            return Some(n.clone());
        }
        let mut t = make(self)?;
        let saved = std::mem::replace(&mut self.prefix, "lantern".into());
        let name = self.fresh(hint);
        self.prefix = saved;
        t.name = Some(name.clone());
        self.shapes.insert(name.clone(), t.dims.clone());
        self.consts.insert(name.clone(), t.clone());
        self.inits.push(t);
        self.const_cache.insert(key, name.clone());
        Some(name)
    }

    /// A 1-D int64 constant.
    pub(crate) fn ints(&mut self, v: &[i64]) -> String {
        let v = v.to_vec();
        self.cached_const(format!("i64{v:?}"), |n| {
            ir::tensor_i64(n, &[v.len() as i64], &v)
        })
    }

    /// A 0-D int64 constant (Range bounds).
    pub(crate) fn int_scalar(&mut self, v: i64) -> String {
        self.cached_const(format!("i64 scalar {v}"), |n| ir::tensor_i64(n, &[], &[v]))
    }

    /// A scalar (0-D) of the activation type.
    pub(crate) fn scalar(&mut self, v: f64) -> String {
        let dt = self.dtype;
        self.cached_const(format!("s{dt}:{:x}", v.to_bits()), |n| {
            ir::tensor_float_of(n, dt, &[], &[v])
        })
    }

    /// A tensor of the activation type.
    pub(crate) fn tensor(&mut self, dims: &[i64], v: &[f64]) -> String {
        let dt = self.dtype;
        let dims = dims.to_vec();
        let key = format!(
            "t{dt}:{dims:?}:{:x}",
            v.iter()
                .fold(Fnv1a::new(), |h, x| h.word(x.to_bits()))
                .finish()
        );
        self.cached_const(key, |n| ir::tensor_float_of(n, dt, &dims, v))
    }

    // -- dynamic shapes -------------------------------------------------------------------------

    /// `Shape(x)` (one node per tensor).
    pub(crate) fn shape_of(&mut self, x: &str) -> String {
        if let Some(s) = self.shape_cache.get(x) {
            return s.clone();
        }
        let s = self.node("Shape", &[x], vec![]);
        self.shape_cache.insert(x.to_string(), s.clone());
        s
    }

    /// `Reshape(g, Shape(x))`: gives g the runtime shape of x.
    pub(crate) fn reshape_like(&mut self, g: &str, x: &str) -> String {
        let s = self.shape_of(x);
        self.node("Reshape", &[g, &s], vec![])
    }

    /// Zeros with the runtime shape of x.
    pub(crate) fn zeros_like(&mut self, x: &str) -> String {
        let s = self.shape_of(x);
        let value = ir::tensor_float_of("", self.dtype, &[1], &[0.0]);
        self.node("ConstantOfShape", &[&s], vec![a_tensor("value", value)])
    }

    /// Sums a broadcast gradient `g` (shaped like `out`) back to the shape of operand `x`.
    /// Axes that are certainly broadcast (static size 1 in x, > 1 in the output, or missing in
    /// x) are reduced statically; an axis of size 1 on both sides at batch 1 may be the batch,
    /// so then the axes are found at run time (Equal of the two shapes → NonZero → ReduceSum) —
    /// unless x and out carry the batch on the same (right-aligned) axis: then that axis is N
    /// on both sides and every other extent of 1 stays 1, so nothing is reduced there. That static
    /// answer matters for speed: the run-time route costs seven nodes, a `Shape` of x (on ONNX
    /// Runtime's CPU provider a Shape of a blocked-layout activation costs a full layout copy)
    /// and a ReduceSum that copies the whole gradient — on MobileNetV2, once per operand of
    /// its 10 residual Adds.
    pub(crate) fn unbroadcast(
        &mut self,
        g: &str,
        x: &str,
        out: &str,
    ) -> Result<String, GraphError> {
        let xs = self.shape(x)?;
        let os = self.shape(out)?;
        if xs.len() > os.len() {
            return Err(GraphError::InvalidModel(format!(
                "operand {x} has higher rank than the broadcast result {out}"
            )));
        }
        let pad = os.len() - xs.len();
        let mut axes = Vec::new();
        let mut ambiguous = false;
        for (i, &o) in os.iter().enumerate() {
            if i < pad {
                axes.push(i as i64);
                continue;
            }
            match (xs[i - pad], o) {
                (1, 1) => ambiguous = true,
                (1, _) => axes.push(i as i64),
                _ => {}
            }
        }
        let batch_aligned = match (self.batch_axis.get(x), self.batch_axis.get(out)) {
            (Some(bx), Some(bo)) => bx + pad == *bo,
            _ => false,
        };
        if !ambiguous || batch_aligned {
            if axes.is_empty() {
                return Ok(g.to_string());
            }
            let a = self.ints(&axes);
            let r = self.node("ReduceSum", &[g, &a], vec![a_int("keepdims", 1)]);
            // Same rank: keepdims already gives x's shape (reduced axes are 1 in x).
            return Ok(if pad == 0 {
                r
            } else {
                self.reshape_like(&r, x)
            });
        }
        let sx = self.shape_of(x);
        let sx = if pad > 0 {
            let ones = self.ints(&vec![1; pad]);
            self.node("Concat", &[&ones, &sx], vec![a_int("axis", 0)])
        } else {
            sx
        };
        let sg = self.shape_of(g);
        let eq = self.node("Equal", &[&sx, &sg], vec![]);
        let ne = self.node("Not", &[&eq], vec![]);
        let nz = self.node("NonZero", &[&ne], vec![]);
        let flat = self.ints(&[-1]);
        let axes = self.node("Reshape", &[&nz, &flat], vec![]);
        let r = self.node(
            "ReduceSum",
            &[g, &axes],
            vec![a_int("keepdims", 1), a_int("noop_with_empty_axes", 1)],
        );
        Ok(self.reshape_like(&r, x))
    }

    // -- arithmetic -----------------------------------------------------------------------------

    pub(crate) fn mul(&mut self, a: &str, b: &str) -> String {
        self.node("Mul", &[a, b], vec![])
    }

    pub(crate) fn add(&mut self, a: &str, b: &str) -> String {
        self.node("Add", &[a, b], vec![])
    }

    pub(crate) fn sub(&mut self, a: &str, b: &str) -> String {
        self.node("Sub", &[a, b], vec![])
    }

    pub(crate) fn div(&mut self, a: &str, b: &str) -> String {
        self.node("Div", &[a, b], vec![])
    }

    pub(crate) fn neg(&mut self, a: &str) -> String {
        self.node("Neg", &[a], vec![])
    }

    /// g · c for a scalar constant c.
    pub(crate) fn scale(&mut self, g: &str, c: f64) -> String {
        if c == 1.0 {
            return g.to_string();
        }
        let s = self.scalar(c);
        self.mul(g, &s)
    }

    /// `a · Cast(mask)`: `a` where the boolean mask holds, 0 elsewhere (−0 for negative `a`,
    /// which compares equal; only a non-finite `a` at a masked-off place would differ from
    /// `Where(mask, a, 0)`, as NaN).
    ///
    /// Not `Where`: ONNX Runtime 1.32's CPU `Where` is several times slower than `Cast` + `Mul`
    /// — on [1, 96, 112, 112], one thread: Greater + Where 7–10 ms, Greater + Cast + Mul 2.0 ms
    /// (Where alone is slow with a scalar, a [1] or a full-size zero branch alike); in
    /// MobileNetV2's gradient graph its 35 Where nodes took 29 % of the kernel time.
    pub(crate) fn mask(&mut self, mask: &str, a: &str) -> String {
        let m = self.node("Cast", &[mask], vec![a_int("to", self.dtype as i64)]);
        self.mul(a, &m)
    }

    /// Mask `x > c`.
    pub(crate) fn gt(&mut self, x: &str, c: f64) -> String {
        let s = self.scalar(c);
        self.node("Greater", &[x, &s], vec![])
    }

    /// Normalises a possibly negative axis against a rank.
    pub(crate) fn axis(&self, n: &NodeProto, axis: i64, rank: usize) -> Result<usize, GraphError> {
        let r = rank as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if (0..r).contains(&a) {
            Ok(a as usize)
        } else {
            Err(unsupported(
                n,
                &format!("axis {axis} out of range for rank {rank}"),
            ))
        }
    }

    /// `g` zero-padded along `axis` of a rank-`rank` tensor to `[start, start + len)` of
    /// `extent` (g's extent there is `len`), recorded as a [`Block`] so that blocks tiling the
    /// axis are concatenated rather than summed.
    pub(crate) fn pad_block(
        &mut self,
        g: &str,
        rank: usize,
        axis: usize,
        start: i64,
        len: i64,
        extent: i64,
    ) -> String {
        let mut pads = vec![0i64; 2 * rank];
        pads[axis] = start;
        pads[rank + axis] = extent - start - len;
        let p = self.ints(&pads);
        let out = self.node("Pad", &[g, &p], vec![]);
        self.blocks.insert(
            out.clone(),
            Block {
                inner: g.to_string(),
                axis,
                start,
                len,
                extent,
            },
        );
        out
    }

    /// Names output `k` of the forward node being differentiated (e.g. MaxPool's `Indices`),
    /// keeping its other outputs.
    pub(crate) fn set_forward_output(&mut self, k: usize, hint: &str) -> String {
        let name = self.fresh(hint);
        let fwd = &mut self.forward[self.current];
        if fwd.output.len() <= k {
            fwd.output.resize(k + 1, String::new());
        }
        fwd.output[k] = name.clone();
        name
    }
}

/// An `UnsupportedVariant` error for this node.
pub(crate) fn unsupported(n: &NodeProto, detail: &str) -> GraphError {
    GraphError::UnsupportedVariant {
        op_type: op(n).to_string(),
        node_name: ir::node_label(n),
        detail: detail.to_string(),
    }
}

/// The single upstream gradient of a one-output node.
pub(crate) fn single(n: &NodeProto, gy: &[Option<String>]) -> Result<String, GraphError> {
    gy.first()
        .cloned()
        .flatten()
        .ok_or_else(|| unsupported(n, "no gradient reaches its first output"))
}

/// Error unless every listed input is gradient-free (e.g. weights, shapes, bounds).
pub(crate) fn require_no_grad(
    ctx: &Ctx,
    n: &NodeProto,
    inputs: &[usize],
    what: &str,
) -> Result<(), GraphError> {
    for &i in inputs {
        if let Some(name) = n.input.get(i)
            && ctx.needs_grad(name)
        {
            return Err(unsupported(
                n,
                &format!(
                    "input {i} ({name}, the {what}) depends on the image input; only gradients of activations are implemented"
                ),
            ));
        }
    }
    Ok(())
}

/// A vector of `None` gradients for the node's inputs.
pub(crate) fn no_grads(n: &NodeProto) -> Grads {
    vec![None; n.input.len()]
}

/// The prologue and epilogue of a rule for a node whose input 0 (the data) is its only input
/// that takes a gradient: `grad(ctx, x, g)` maps the upstream gradient `g` of output 0 to x's
/// and is not called when x needs none; every other input gets none.
pub(crate) fn data_grad(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
    grad: impl FnOnce(&mut Ctx, &str, &str) -> Result<String, GraphError>,
) -> RuleResult {
    let mut out = no_grads(n);
    let x = &n.input[0];
    if ctx.needs_grad(x) {
        let g = single(n, gy)?;
        out[0] = Some(grad(ctx, x, &g)?);
    }
    Ok(out)
}

/// [`data_grad`] for a pointwise chain rule, `∂x = g · ∂y/∂x`: `derivative(ctx, x)` gives the
/// local derivative (broadcasting against g), which is then multiplied by g.
pub(crate) fn data_grad_times(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
    derivative: impl FnOnce(&mut Ctx, &str) -> Result<String, GraphError>,
) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let d = derivative(ctx, x)?;
        Ok(ctx.mul(g, &d))
    })
}

/// [`data_grad`] for a node whose other outputs carry no gradient (Dropout's mask, MaxPool's
/// indices): when none reaches output 0, x gets none either.
pub(crate) fn data_grad_if_any(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
    grad: impl FnOnce(&mut Ctx, &str, &str) -> Result<String, GraphError>,
) -> RuleResult {
    match gy.first() {
        Some(Some(_)) => data_grad(ctx, n, gy, grad),
        _ => Ok(no_grads(n)),
    }
}
