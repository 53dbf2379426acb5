//! Receptive-field rules: for each spatial op, how an output position reads input positions
//! along each axis; from that, the region of an output that a changed input region affects,
//! and the input region an output region needs.
//!
//! A node of a 4-D (NCHW) image graph is either
//! - **pointwise** in space: output `(y, x)` reads only position `(y, x)` of each image input
//!   (BatchNormalization, Relu, Clip, Add/Mul/… with constants that do not vary over space,
//!   Concat/Split over channels, 1×1 stride-1 unpadded Conv, LRN, …), or
//! - a **window**: output `o` along an axis reads inputs `stride·o − pad + dilation·j`,
//!   `j ∈ [0, kernel)` of its first input (Conv, MaxPool, AveragePool), with positions outside
//!   the input reading the op's padding value,
//!
//! and anything else (global pooling, Flatten/Reshape, Transpose, Resize, spatially varying
//! constants, …) has no rule: incremental inference must stop before it.

use crate::inspect::TensorShapes;
use crate::ir::{self, op};
use crate::proto::{NodeProto, TensorProto};
use crate::window::Window;
use std::collections::HashMap;

/// A half-open interval `[start, end)` on one spatial axis. It may reach outside a tensor
/// (`start < 0` or `end > len`): such positions are the padding an op reads there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub const fn new(start: i64, end: i64) -> Span {
        Span { start, end }
    }

    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The smallest span containing both (an empty span is neutral).
    pub fn hull(&self, other: Span) -> Span {
        if self.is_empty() {
            return other;
        }
        if other.is_empty() {
            return *self;
        }
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The part inside `[0, len)`.
    pub fn clamp(&self, len: i64) -> Span {
        Span::new(self.start.max(0), self.end.min(len))
    }
}

/// A rectangle of a feature map: rows × columns, both half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub rows: Span,
    pub cols: Span,
}

impl Rect {
    /// `(top, left, bottom, right)` with exclusive ends.
    pub const fn new(top: i64, left: i64, bottom: i64, right: i64) -> Rect {
        Rect {
            rows: Span::new(top, bottom),
            cols: Span::new(left, right),
        }
    }

    pub fn height(&self) -> i64 {
        self.rows.len()
    }

    pub fn width(&self) -> i64 {
        self.cols.len()
    }

    pub fn area(&self) -> i64 {
        self.height() * self.width()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() || self.cols.is_empty()
    }

    pub fn hull(&self, other: Rect) -> Rect {
        if self.is_empty() {
            return other;
        }
        if other.is_empty() {
            return *self;
        }
        Rect {
            rows: self.rows.hull(other.rows),
            cols: self.cols.hull(other.cols),
        }
    }

    pub fn clamp(&self, height: i64, width: i64) -> Rect {
        Rect {
            rows: self.rows.clamp(height),
            cols: self.cols.clamp(width),
        }
    }

    pub fn contains(&self, other: &Rect) -> bool {
        other.is_empty()
            || (self.rows.start <= other.rows.start
                && other.rows.end <= self.rows.end
                && self.cols.start <= other.cols.start
                && other.cols.end <= self.cols.end)
    }
}

/// How output positions read input positions along one axis: output `o` reads inputs
/// `stride·o − pad + dilation·j` for `j ∈ [0, kernel)`, i.e. the span
/// `[stride·o − pad, stride·o − pad + extent)` with `extent = dilation·(kernel − 1) + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AxisMap {
    pub stride: i64,
    /// Padding before the first input position.
    pub pad: i64,
    pub extent: i64,
}

impl AxisMap {
    /// Output `o` reads input `o`.
    pub const IDENTITY: AxisMap = AxisMap {
        stride: 1,
        pad: 0,
        extent: 1,
    };

    /// The input span that outputs `out` read (outside `[0, len)` where they read padding).
    pub fn needed(&self, out: Span) -> Span {
        if out.is_empty() {
            return Span::new(0, 0);
        }
        Span::new(
            self.stride * out.start - self.pad,
            self.stride * (out.end - 1) - self.pad + self.extent,
        )
    }

    /// `self` (outputs → the positions they read) followed by `inner` (those positions, as the
    /// outputs of another op → what that op reads): what the first outputs read through both.
    pub fn then(&self, inner: &AxisMap) -> AxisMap {
        AxisMap {
            stride: inner.stride * self.stride,
            pad: inner.stride * self.pad + inner.pad,
            extent: inner.stride * (self.extent - 1) + inner.extent,
        }
    }

    /// The smallest map that reads everything either reads (same stride only).
    pub fn hull(&self, other: &AxisMap) -> Option<AxisMap> {
        (self.stride == other.stride).then(|| {
            let pad = self.pad.max(other.pad);
            AxisMap {
                stride: self.stride,
                pad,
                extent: (self.extent - self.pad).max(other.extent - other.pad) + pad,
            }
        })
    }

    /// The outputs (of an axis of `out_len`) that read any input of `input`.
    pub fn affected(&self, input: Span, out_len: i64) -> Span {
        if input.is_empty() {
            return Span::new(0, 0);
        }
        let first = div_ceil(input.start + self.pad - self.extent + 1, self.stride);
        let last = div_floor(input.end - 1 + self.pad, self.stride);
        Span::new(first, last + 1).clamp(out_len)
    }
}

/// Rows and columns of a window op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowMap {
    pub rows: AxisMap,
    pub cols: AxisMap,
}

impl WindowMap {
    pub const IDENTITY: WindowMap = WindowMap {
        rows: AxisMap::IDENTITY,
        cols: AxisMap::IDENTITY,
    };

    pub fn needed(&self, out: Rect) -> Rect {
        Rect {
            rows: self.rows.needed(out.rows),
            cols: self.cols.needed(out.cols),
        }
    }

    pub fn affected(&self, input: Rect, out_height: i64, out_width: i64) -> Rect {
        Rect {
            rows: self.rows.affected(input.rows, out_height),
            cols: self.cols.affected(input.cols, out_width),
        }
    }

    /// See [`AxisMap::then`].
    pub fn then(&self, inner: &WindowMap) -> WindowMap {
        WindowMap {
            rows: self.rows.then(&inner.rows),
            cols: self.cols.then(&inner.cols),
        }
    }

    /// See [`AxisMap::hull`].
    pub fn hull(&self, other: &WindowMap) -> Option<WindowMap> {
        Some(WindowMap {
            rows: self.rows.hull(&other.rows)?,
            cols: self.cols.hull(&other.cols)?,
        })
    }
}

fn div_floor(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// The receptive-field rule of one node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeRule {
    /// Output `(y, x)` reads position `(y, x)` of every image input (the other inputs are
    /// constants that do not vary over space).
    Pointwise,
    /// A window over the first input; positions outside it read `pad_value`. Run on an
    /// explicitly padded crop, the node computes the same values with its padding set to 0.
    Window { map: WindowMap, pad_value: f32 },
}

/// What the rules need to know about the graph around a node.
pub struct RuleContext<'a> {
    pub shapes: &'a TensorShapes,
    pub constants: &'a HashMap<String, TensorProto>,
    /// Whether a tensor depends on the image input (anything else must be a constant).
    pub is_image: &'a dyn Fn(&str) -> bool,
}

const UNARY: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Celu",
    "ThresholdedRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Softplus",
    "Softsign",
    "Mish",
    "Gelu",
    "Erf",
    "Identity",
    "Neg",
    "Abs",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Sin",
    "Cos",
    "Shrink",
];

const ELEMENTWISE: &[&str] = &[
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow", "PRelu",
];

/// The rule of `node`, or why it has none (a sentence naming the op and node).
pub fn node_rule(node: &NodeProto, cx: &RuleContext) -> Result<NodeRule, String> {
    let why = |detail: &str| format!("{} node {:?}: {detail}", op(node), ir::node_label(node));
    if !ir::is_default_domain(node) {
        return Err(why("custom-domain op"));
    }
    let out = node
        .output
        .first()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| why("no output"))?;
    let out_shape = spatial_shape(cx.shapes, out).ok_or_else(|| why("output is not 4-D"))?;
    let image_inputs: Vec<&String> = node
        .input
        .iter()
        .filter(|i| !i.is_empty() && (cx.is_image)(i))
        .collect();
    if image_inputs.is_empty() {
        return Err(why("reads no image tensor"));
    }
    let same_map = |t: &str| {
        spatial_shape(cx.shapes, t).is_some_and(|s| s[2] == out_shape[2] && s[3] == out_shape[3])
    };
    // Anything that does not depend on the image is a constant for the receptive field.
    let constant = |t: &str| t.is_empty() || !(cx.is_image)(t);
    // Constants broadcast against NCHW must not vary over H or W.
    let flat_constant = |t: &str| {
        t.is_empty()
            || constant(t)
                && constant_dims(cx, t).is_some_and(|d| {
                    // Right-aligned to rank 4, H and W are the last two dims.
                    match d.len() {
                        0 => true,
                        1 => d[0] == 1,
                        2..=4 => d[d.len() - 1] == 1 && d[d.len() - 2] == 1,
                        _ => false,
                    }
                })
    };
    let only_output_used = |n: usize| node.output.iter().skip(n).all(|o| o.is_empty());
    let kind = op(node);
    match kind {
        k if UNARY.contains(&k) => {
            if node.input.len() != 1 || !same_map(&node.input[0]) {
                return Err(why("unexpected inputs"));
            }
            Ok(NodeRule::Pointwise)
        }
        "Clip" | "Dropout" => {
            if !same_map(&node.input[0]) || !node.input[1..].iter().all(|i| constant(i)) {
                return Err(why("non-constant bounds"));
            }
            if !only_output_used(1) {
                return Err(why("the mask output is used"));
            }
            Ok(NodeRule::Pointwise)
        }
        "BatchNormalization" => {
            if ir::attr_i(node, "training_mode").unwrap_or(0) != 0 || !only_output_used(1) {
                return Err(why("training mode"));
            }
            if !same_map(&node.input[0]) || !node.input[1..].iter().all(|i| constant(i)) {
                return Err(why("non-constant statistics"));
            }
            Ok(NodeRule::Pointwise)
        }
        "LRN" => {
            if !same_map(&node.input[0]) {
                return Err(why("unexpected input"));
            }
            Ok(NodeRule::Pointwise)
        }
        k if ELEMENTWISE.contains(&k) => {
            for i in &node.input {
                let ok = if (cx.is_image)(i) {
                    same_map(i)
                } else {
                    flat_constant(i)
                };
                if !ok {
                    return Err(why(&format!(
                        "input {i:?} is neither an image tensor of the output's size nor a constant that is flat over space"
                    )));
                }
            }
            Ok(NodeRule::Pointwise)
        }
        "Concat" | "Split" => {
            let axis = ir::attr_i(node, "axis").unwrap_or(if kind == "Split" { 0 } else { 1 });
            if axis != 1 && axis != -3 {
                return Err(why("not along channels"));
            }
            let data: &[String] = if kind == "Split" {
                if !node.input[1..].iter().all(|i| constant(i)) {
                    return Err(why("non-constant split sizes"));
                }
                &node.input[..1]
            } else {
                &node.input
            };
            if !data.iter().all(|i| (cx.is_image)(i) && same_map(i)) {
                return Err(why("inputs of another spatial size"));
            }
            Ok(NodeRule::Pointwise)
        }
        "Conv" | "MaxPool" | "AveragePool" => window_rule(node, cx, &why),
        _ => Err(why("no receptive-field rule")),
    }
}

fn window_rule(
    node: &NodeProto,
    cx: &RuleContext,
    why: &dyn Fn(&str) -> String,
) -> Result<NodeRule, String> {
    let kind = op(node);
    let x = &node.input[0];
    if !(cx.is_image)(x) {
        return Err(why("the data input is a constant"));
    }
    let in_shape = spatial_shape(cx.shapes, x).ok_or_else(|| why("input is not 4-D"))?;
    if node.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(why("a second output is used"));
    }
    let weight_kernel = if kind == "Conv" {
        if node.input[1..]
            .iter()
            .any(|i| !i.is_empty() && (cx.is_image)(i))
        {
            return Err(why("weights computed from the image"));
        }
        node.input
            .get(1)
            .and_then(|w| constant_dims(cx, w))
            .map(|d| d.into_iter().skip(2).collect())
    } else {
        None
    };
    let win = Window::of(node, &in_shape[2..], weight_kernel).map_err(|d| why(&d))?;
    // SAME counts as padding even where it comes to zero (a 1×1 stride-1 SAME Conv stays a
    // window rather than pointwise).
    let has_pad = win.has_pads()
        || ir::attr_s(node, "auto_pad")
            .is_some_and(|a| matches!(a.as_str(), "SAME_UPPER" | "SAME_LOWER"));
    let pad_value = match kind {
        "MaxPool" => f32::NEG_INFINITY,
        "AveragePool" => {
            if ir::attr_i(node, "ceil_mode").unwrap_or(0) != 0 {
                return Err(why("ceil_mode averages partial windows"));
            }
            if has_pad && ir::attr_i(node, "count_include_pad").unwrap_or(0) == 0 {
                return Err(why("padding excluded from the average"));
            }
            0.0
        }
        _ => 0.0,
    };
    let map = |a: usize| AxisMap {
        stride: win.strides[a],
        pad: win.pads_begin[a],
        extent: win.extent(a),
    };
    let map = WindowMap {
        rows: map(0),
        cols: map(1),
    };
    if kind == "Conv" && map == WindowMap::IDENTITY && !has_pad {
        return Ok(NodeRule::Pointwise);
    }
    Ok(NodeRule::Window { map, pad_value })
}

/// The dims of a tensor that does not depend on the image: an initializer's or `Constant`'s,
/// else the probe's.
fn constant_dims(cx: &RuleContext, t: &str) -> Option<Vec<i64>> {
    cx.constants
        .get(t)
        .map(|c| c.dims.clone())
        .or_else(|| cx.shapes.get(t).map(<[i64]>::to_vec))
}

/// The shape of a 4-D tensor at batch 1 (`[1, C, H, W]`), from the probe.
pub fn spatial_shape(shapes: &TensorShapes, name: &str) -> Option<[i64; 4]> {
    let s = shapes.get(name)?;
    (s.len() == 4 && s.iter().all(|&d| d > 0)).then(|| [s[0], s[1], s[2], s[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over small axes: `affected` is the hull of the outputs whose window meets
    /// the input span (a superset with dilation), and `needed` is the hull of their windows.
    #[test]
    fn axis_maps_match_brute_force() {
        for stride in 1..4 {
            for kernel in 1..6 {
                for dilation in 1..3 {
                    for pad in 0..4 {
                        let m = AxisMap {
                            stride,
                            pad,
                            extent: dilation * (kernel - 1) + 1,
                        };
                        let len = 23i64;
                        let out_len = (len + 2 * pad - m.extent) / stride + 1;
                        if out_len < 1 {
                            continue;
                        }
                        let reads = |o: i64| {
                            (0..kernel)
                                .map(move |j| stride * o - pad + dilation * j)
                                .filter(move |&i| (0..len).contains(&i))
                        };
                        for lo in 0..len {
                            for hi in lo + 1..=len {
                                let got = m.affected(Span::new(lo, hi), out_len);
                                // Hull of the outputs whose (in-range) reads meet [lo, hi).
                                let hit: Vec<i64> = (0..out_len)
                                    .filter(|&o| {
                                        (0..kernel)
                                            .map(|j| stride * o - pad + dilation * j)
                                            .any(|i| (lo..hi).contains(&i))
                                    })
                                    .collect();
                                let want = match (hit.first(), hit.last()) {
                                    (Some(&a), Some(&b)) => Span::new(a, b + 1),
                                    _ => Span::new(0, 0),
                                };
                                // Exact without dilation; with it, the hull of the window's
                                // extent may add outputs whose taps skip the span (safe).
                                let ok = if dilation == 1 {
                                    got == want || (got.is_empty() && want.is_empty())
                                } else {
                                    want.is_empty()
                                        || (got.start <= want.start && want.end <= got.end)
                                };
                                assert!(ok, "{m:?} [{lo},{hi}): got {got:?}, want {want:?}");
                            }
                        }
                        for a in 0..out_len {
                            for b in a + 1..=out_len {
                                let n = m.needed(Span::new(a, b));
                                for o in a..b {
                                    for i in reads(o) {
                                        assert!(n.start <= i && i < n.end);
                                    }
                                }
                                assert_eq!(n.start, stride * a - pad);
                                assert_eq!(n.len(), stride * (b - a - 1) + m.extent);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn composed_and_hulled_maps_read_what_their_parts_read() {
        let conv = AxisMap {
            stride: 2,
            pad: 1,
            extent: 3,
        };
        let pool = AxisMap {
            stride: 2,
            pad: 1,
            extent: 5,
        };
        for a in 0..6 {
            for b in a + 1..9 {
                let out = Span::new(a, b);
                assert_eq!(conv.then(&pool).needed(out), pool.needed(conv.needed(out)));
                let one = AxisMap {
                    stride: 2,
                    pad: 0,
                    extent: 1,
                };
                let h = conv.hull(&one).expect("same stride");
                assert_eq!(
                    h.needed(out),
                    conv.needed(out).hull(one.needed(out)),
                    "{a}..{b}"
                );
            }
        }
        assert!(conv.hull(&AxisMap::IDENTITY).is_none());
    }

    #[test]
    fn hulls_and_unsupported_ops() {
        assert_eq!(
            Rect::new(0, 0, 2, 2).hull(Rect::new(5, 1, 6, 3)),
            Rect::new(0, 0, 6, 3)
        );
        assert_eq!(
            Rect::new(0, 0, 0, 0).hull(Rect::new(1, 1, 2, 2)),
            Rect::new(1, 1, 2, 2)
        );
        use crate::ir::{a_ints, a_string, make_node, tensor_f32};
        let shapes = TensorShapes(HashMap::from([
            ("x".to_string(), vec![1, 4, 9, 9]),
            ("y".to_string(), vec![1, 4, 5, 5]),
            ("z".to_string(), vec![1, 4, 9, 9]),
        ]));
        let constants = HashMap::from([
            ("w".to_string(), tensor_f32("w", &[4, 4, 3, 3], &[0.0; 144])),
            (
                "w1".to_string(),
                tensor_f32("w1", &[4, 4, 1, 1], &[0.0; 16]),
            ),
            ("c".to_string(), tensor_f32("c", &[4, 1, 1], &[0.0; 4])),
            ("grid".to_string(), tensor_f32("grid", &[9, 9], &[0.0; 81])),
        ]);
        let is_image = |t: &str| matches!(t, "x" | "y" | "z");
        let cx = RuleContext {
            shapes: &shapes,
            constants: &constants,
            is_image: &is_image,
        };
        // SAME_UPPER with stride 2 on 9 → 5: total padding 2, one before.
        let same = make_node(
            "Conv",
            &["x", "w"],
            &["y"],
            "same",
            vec![
                a_ints("strides", &[2, 2]),
                a_string("auto_pad", "SAME_UPPER"),
            ],
        );
        let m = AxisMap {
            stride: 2,
            pad: 1,
            extent: 3,
        };
        assert_eq!(
            node_rule(&same, &cx),
            Ok(NodeRule::Window {
                map: WindowMap { rows: m, cols: m },
                pad_value: 0.0
            })
        );
        let one = make_node("Conv", &["x", "w1"], &["z"], "one", vec![]);
        assert_eq!(node_rule(&one, &cx), Ok(NodeRule::Pointwise));
        let per_channel = make_node("Mul", &["x", "c"], &["z"], "scale", vec![]);
        assert_eq!(node_rule(&per_channel, &cx), Ok(NodeRule::Pointwise));
        // A constant that varies over the map is not translation invariant.
        let positional = make_node("Add", &["x", "grid"], &["z"], "pos", vec![]);
        assert!(node_rule(&positional, &cx).is_err());
        let resize = make_node("Resize", &["x"], &["z"], "up", vec![]);
        let e = node_rule(&resize, &cx).expect_err("no rule");
        assert!(
            e.contains("Resize") && e.contains("no receptive-field rule"),
            "{e}"
        );
    }
}
