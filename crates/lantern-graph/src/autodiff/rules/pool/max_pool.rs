//! MaxPool: each output's gradient goes to the input element its `Indices` output names.
//! ONNX Runtime's indices index the whole flattened N·C·H·W input (batch and channel offsets
//! included; checked on ORT 1.32) and on ties name the FIRST maximum in row-major window order,
//! as PyTorch does; overlapping windows add up, so the gradient is one
//! ScatterElements(reduction = add) over the flattened input.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_if_any};
use crate::ir::{self, a_int, a_string};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad_if_any(ctx, n, gy, |ctx, x, g| {
        let storage_order = ir::attr_i(n, "storage_order").unwrap_or(0);
        let indices = match n.output.get(1) {
            Some(i) if !i.is_empty() && storage_order == 0 => i.clone(),
            _ if storage_order == 0 => {
                // Ask the forward node for its indices too (no second pooling pass).
                ctx.set_forward_output(1, "indices")
            }
            _ => {
                // Column-major indices requested by the model: a second, row-major MaxPool.
                let mut attrs = n.attribute.clone();
                attrs.retain(|a| a.name.as_deref() != Some("storage_order"));
                ctx.node_n("MaxPool", &[x], 2, attrs)
                    .pop()
                    .unwrap_or_default()
            }
        };
        Ok(scatter_add(ctx, x, g, &indices))
    })
}

/// Zeros shaped like x (flattened) with `g` added at the flat `indices`, reshaped back to x.
pub(crate) fn scatter_add(ctx: &mut Ctx, x: &str, g: &str, indices: &str) -> String {
    let flat = ctx.ints(&[-1]);
    let gf = ctx.node("Reshape", &[g, &flat], vec![]);
    let idx = ctx.node("Reshape", &[indices, &flat], vec![]);
    let size = ctx.node("Size", &[x], vec![]);
    let one = ctx.ints(&[1]);
    let size1 = ctx.node("Reshape", &[&size, &one], vec![]);
    let value = ir::tensor_float_of("", ctx.dtype, &[1], &[0.0]);
    let zeros = ctx.node(
        "ConstantOfShape",
        &[&size1],
        vec![ir::a_tensor("value", value)],
    );
    let s = ctx.node(
        "ScatterElements",
        &[&zeros, &idx, &gf],
        vec![a_int("axis", 0), a_string("reduction", "add")],
    );
    ctx.reshape_like(&s, x)
}

#[cfg(test)]
mod tests {
    use super::super::test_attrs::{CEIL, K2, K3, PAD_1, S1, S2};
    use crate::ir::a_ints;
    use crate::testing::Attr::{self, Int, Ints, Str};
    use crate::testing::{attrs, distinct_values, node, op_case};

    fn pool(name: &str, x: &[usize], list: &[Attr]) {
        // Distinct values 0.1 apart: a ±2h step never changes a window's winner.
        let xv = distinct_values(x, -3.0, 0.1, 5);
        op_case("MaxPool", &["x"], attrs(list)).check(name, &xv);
    }

    /// A MaxPool case: label, input shape, attributes.
    type Case = (&'static str, &'static [usize], &'static [Attr]);

    fn check_all(cases: &[Case]) {
        for &(name, x, list) in cases {
            pool(name, x, list);
        }
    }

    #[test]
    #[rustfmt::skip]
    fn maxpool_variants() {
        check_all(&[
            ("2x2 s2",             &[1, 3, 6, 6], &[K2, S2]),
            ("3x3 s1 overlapping", &[1, 2, 6, 5], &[K3]),
            ("3x3 s2 pads",        &[1, 2, 7, 7], &[K3, S2, PAD_1]),
            ("ceil_mode",          &[1, 2, 7, 8], &[K3, S2, CEIL]),
            ("dilations",          &[1, 1, 8, 8], &[K2, Ints("dilations", &[2, 2])]),
            ("SAME_UPPER",         &[1, 2, 7, 6], &[K3, S2, Str("auto_pad", "SAME_UPPER")]),
            ("storage_order 1",    &[1, 2, 6, 6], &[K2, S2, Int("storage_order", 1)]),
            ("1d",                 &[1, 2, 9],    &[Ints("kernel_shape", &[3]), Ints("strides", &[2])]),
        ]);
    }

    /// The zoo CNNs' variants: GoogLeNet's `MaxPool2d(3, 2, ceil_mode=True)` on even and odd
    /// maps and its inception branches' `MaxPool2d(3, 1, padding=1, ceil_mode=True)`, a
    /// ceil-mode window that starts in the end padding, and asymmetric pads.
    #[test]
    #[rustfmt::skip]
    fn maxpool_ceil_mode_and_asymmetric_pads() {
        check_all(&[
            ("3x3 s2 ceil [1, 2, 8, 8]",   &[1, 2, 8, 8], &[K3, S2, CEIL]),
            ("3x3 s2 ceil [1, 2, 9, 7]",   &[1, 2, 9, 7], &[K3, S2, CEIL]),
            ("3x3 s1 p1 ceil",             &[1, 2, 6, 5], &[K3, S1, PAD_1, CEIL]),
            ("ceil window in the end pad", &[1, 2, 5, 5], &[K2, S2, PAD_1, CEIL]),
            ("asymmetric pads",            &[1, 2, 6, 7], &[K3, S2, Ints("pads", &[0, 1, 2, 0])]),
        ]);
    }

    #[test]
    fn maxpool_ties_go_to_the_first_maximum() {
        use crate::testing::{model, probe, run, session};
        use crate::{GradientSpec, build_gradient_graph};
        use ndarray::{ArrayD, IxDyn};
        // Two images, overlapping 3×3 windows with stride 1 over a plateau with ties.
        let m = model(
            vec![node(
                "MaxPool",
                &["x"],
                &["y"],
                vec![a_ints("kernel_shape", &[3, 3])],
            )],
            vec![],
            &[("x", &[-1, 1, 4, 4])],
            &["y"],
            13,
        );
        let mut x = [0f32; 16];
        x[5] = 1.0; // (1,1)
        x[6] = 1.0; // (1,2): ties with (1,1) in both windows
        let x2: Vec<f32> = x
            .iter()
            .chain(std::iter::repeat_n(&2.0f32, 16))
            .copied()
            .collect();
        let xa = ArrayD::from_shape_vec(IxDyn(&[2, 1, 4, 4]), x2).expect("x");
        let shapes = probe(
            &m,
            &[(
                "x",
                &xa.slice(ndarray::s![0..1, .., .., ..])
                    .to_owned()
                    .into_dyn(),
            )],
        );
        let spec = GradientSpec {
            ..GradientSpec::default()
        };
        let g = build_gradient_graph(&m, &shapes, &spec).expect("graph");
        let mut s = session(&g);
        let seed = ArrayD::from_elem(IxDyn(&[2, 4]), 1.0f32);
        let out = run(&mut s, &[("input", &xa), ("seed", &seed)]);
        let gi = &out["grad_input"];
        let got: Vec<f32> = gi.iter().copied().collect();
        // Image 0: all four windows pick (1,1), the first maximum in row-major order.
        let mut want = vec![0f32; 32];
        want[5] = 4.0;
        // Image 1: constant plane: each window's first element (its top-left) wins.
        for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            want[16 + r * 4 + c] = 1.0;
        }
        assert_eq!(got, want);
    }
}
