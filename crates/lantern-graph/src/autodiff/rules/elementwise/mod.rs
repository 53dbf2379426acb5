//! Broadcasting arithmetic: each operand's gradient is summed back over the axes it was
//! broadcast along ([`Ctx::unbroadcast`](crate::autodiff::ctx::Ctx::unbroadcast)).

pub(crate) mod add_sub;
pub(crate) mod div;
pub(crate) mod mul;
pub(crate) mod sum;

#[cfg(test)]
pub(crate) mod test_util {
    use crate::testing::{graph_case, init_f32, node, op_case, uniform};

    /// `y = op(x, c)` and `y = op(c, x)` with a constant `c` of shape `c_shape`, and `y = op(x, x2)`
    /// where x2 = Relu-free second activation derived from x (a Slice-free broadcast: x · 0.5 + 1
    /// reshaped), checking both operands' gradients.
    pub(crate) fn broadcast_cases(op: &str, positive: bool) {
        let (lo, hi) = if positive {
            (0.5f32, 2.0f32)
        } else {
            (-1.0, 1.0)
        };
        let x = uniform(&[1, 3, 4, 5], lo, hi, 21);
        for c_shape in [&[1i64, 3, 4, 5][..], &[3, 1, 1], &[5], &[1, 1, 4, 1], &[]] {
            let c = init_f32("c", c_shape, 22, lo, hi);
            op_case(op, &["x", "c"], vec![])
                .inits(vec![c.clone()])
                .check(&format!("{op}(x, c{c_shape:?})"), &x);
            op_case(op, &["c", "x"], vec![])
                .inits(vec![c])
                .check(&format!("{op}(c{c_shape:?}, x)"), &x);
        }
        // Both operands depend on x, one broadcast: y = op(x, GAP(x)) and op(GAP(x), x).
        let gap = node("GlobalAveragePool", &["x"], &["p"], vec![]);
        graph_case(vec![gap.clone(), node(op, &["x", "p"], &["y"], vec![])])
            .check(&format!("{op}(x, GAP(x))"), &x);
        graph_case(vec![gap, node(op, &["p", "x"], &["y"], vec![])])
            .check(&format!("{op}(GAP(x), x)"), &x);
        // The same tensor twice (Sub and Div of x with itself are constant).
        if matches!(op, "Add" | "Mul") {
            op_case(op, &["x", "x"], vec![]).check(&format!("{op}(x, x)"), &x);
        }
    }
}
