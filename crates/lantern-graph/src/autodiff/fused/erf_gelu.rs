//! Exact GELU as the TorchScript exporter writes it: `u = x / c` (or `x·c`), `A = erf(u) + b`,
//! `y = s·x·A` (two Muls, either grouping). With `u = x/c`,
//! `∂y/∂x = s·A + s·x·(2/√π)·exp(−u²)/c = s·(A + (2/√π)·u·exp(−u²))` — the same for `x·c`,
//! and whatever the constants (torch's are c = √2, b = 1, s = ½) — PyTorch's `gelu_backward`
//! with the forward pass's own `u` and `A` reused: seven backward nodes instead of the ops'
//! rules chained (ten).

use super::Graph;
use crate::autodiff::ctx::Ctx;
use crate::autodiff::rules::activation::gelu::erf_gelu_slope;
use crate::ir::op;
use crate::proto::NodeProto;

pub(in crate::autodiff) struct ErfGelu {
    x: String,
    u: String,
    a: String,
    s: f64,
}

impl ErfGelu {
    /// The pattern around the Erf node `idx`: (index of its last node, the pattern).
    pub(super) fn at(g: &Graph, idx: usize, erf: &NodeProto) -> Option<(usize, ErfGelu)> {
        if op(erf) != "Erf" {
            return None;
        }
        let u = erf.input[0].as_str();
        let scaling = g.node(g.producer(u)?);
        if !matches!(op(scaling), "Div" | "Mul") || g.sole_reader(u)? != idx {
            return None;
        }
        let (x, _) = g.with_scalar(scaling)?;
        if op(scaling) == "Div" && scaling.input[0] != x {
            return None; // c / x is not a scaling
        }
        let add = g.sole_reader(&erf.output[0])?;
        let add_node = g.node(add);
        if op(add_node) != "Add" {
            return None;
        }
        g.with_scalar(add_node)?;
        let a = add_node.output[0].as_str();
        let m1 = g.sole_reader(a)?;
        let m1_node = g.node(m1);
        if op(m1_node) != "Mul" {
            return None;
        }
        let m1_out = m1_node.output[0].as_str();
        let m2 = g.sole_reader(m1_out)?;
        let m2_node = g.node(m2);
        if op(m2_node) != "Mul" {
            return None;
        }
        let other = |n: &NodeProto, t: &str| -> Option<String> {
            match (&n.input[0], &n.input[1]) {
                (p, q) if p == t && q != t => Some(q.clone()),
                (p, q) if q == t && p != t => Some(p.clone()),
                _ => None,
            }
        };
        let s = if other(m1_node, a)? == x {
            // y = (x·A)·s
            g.scalar(&other(m2_node, m1_out)?)?
        } else {
            // y = x·(A·s)
            let s = g.scalar(&other(m1_node, a)?)?;
            if other(m2_node, m1_out)? != x {
                return None;
            }
            s
        };
        Some((
            m2,
            ErfGelu {
                x: x.to_string(),
                u: u.to_string(),
                a: a.to_string(),
                s,
            },
        ))
    }

    pub(super) fn backward(&self, ctx: &mut Ctx, g: &str) -> Vec<(String, String)> {
        if !ctx.needs_grad(&self.x) {
            return Vec::new();
        }
        let slope = erf_gelu_slope(ctx, &self.u, &self.a);
        let gs = ctx.mul(g, &slope);
        vec![(self.x.clone(), ctx.scale(&gs, self.s))]
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::tensor_f32;
    use crate::proto::NodeProto;
    use crate::testing::{gradient_op_types, graph_case, node, uniform};

    fn constants(c: f32, b: f32, s: f32) -> Vec<crate::proto::TensorProto> {
        vec![
            tensor_f32("c", &[], &[c]),
            tensor_f32("b", &[], &[b]),
            tensor_f32("s", &[], &[s]),
        ]
    }

    /// torch's exact GELU as the TorchScript exporter writes it, then a Tanh so the seed is
    /// not uniform; `x_s_grouping` puts the ½ on A first.
    fn gelu_nodes(scaling: &str, x_s_grouping: bool, extra_reader: bool) -> Vec<NodeProto> {
        let mut nodes = vec![
            node(scaling, &["x", "c"], &["u"], vec![]),
            node("Erf", &["u"], &["e"], vec![]),
            node("Add", &["b", "e"], &["a"], vec![]),
        ];
        if x_s_grouping {
            nodes.push(node("Mul", &["s", "a"], &["as"], vec![]));
            nodes.push(node("Mul", &["as", "x"], &["y0"], vec![]));
        } else {
            nodes.push(node("Mul", &["x", "a"], &["xa"], vec![]));
            nodes.push(node("Mul", &["xa", "s"], &["y0"], vec![]));
        }
        if extra_reader {
            // The Erf output read outside the pattern: no fusion, the ops' rules instead.
            nodes.push(node("Add", &["y0", "e"], &["y1"], vec![]));
            nodes.push(node("Tanh", &["y1"], &["y"], vec![]));
        } else {
            nodes.push(node("Tanh", &["y0"], &["y"], vec![]));
        }
        nodes
    }

    #[test]
    fn fused_gelu_matches_finite_differences() {
        let x = uniform(&[1, 3, 7], -3.0, 3.0, 1);
        let sqrt2 = std::f32::consts::SQRT_2;
        for (scaling, c, grouping) in [
            ("Div", sqrt2, false),
            ("Div", sqrt2, true),
            ("Mul", 1.0 / sqrt2, false),
            ("Div", 1.3, true),
        ] {
            let what = format!("{scaling} {c} grouping {grouping}");
            graph_case(gelu_nodes(scaling, grouping, false))
                .inits(constants(c, if c == 1.3 { 0.7 } else { 1.0 }, 0.5))
                .check(&what, &x);
        }
        graph_case(gelu_nodes("Div", false, true))
            .inits(constants(sqrt2, 1.0, 0.5))
            .check("Erf output read elsewhere", &x);
    }

    #[test]
    fn fused_gelu_emits_no_intermediate_derivatives() {
        let count = |ops: &[String], op: &str| ops.iter().filter(|o| *o == op).count();
        let sqrt2 = std::f32::consts::SQRT_2;
        let ops = gradient_op_types(
            gelu_nodes("Div", false, false),
            constants(sqrt2, 1.0, 0.5),
            &[1, 3, 7],
        );
        // The forward's Div only; one Exp (the backward's), no Neg, no Sum of two paths.
        assert_eq!(count(&ops, "Div"), 1, "{ops:?}");
        assert_eq!(count(&ops, "Exp"), 1, "{ops:?}");
        assert_eq!(count(&ops, "Sum"), 0, "{ops:?}");
        let unfused = gradient_op_types(
            gelu_nodes("Div", false, true),
            constants(sqrt2, 1.0, 0.5),
            &[1, 3, 7],
        );
        assert_eq!(count(&unfused, "Div"), 2, "{unfused:?}");
    }
}
