//! Reshape, Flatten, Squeeze, Unsqueeze: same elements in the same order, so the gradient is
//! reshaped to the input's runtime shape (`Reshape(g, Shape(x))`, batch-agnostic).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| Ok(ctx.reshape_like(&g, x)))
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{graph_case, node, op_case, uniform};

    #[test]
    fn reshape_family() {
        let x = uniform(&[1, 2, 3, 4], -1.0, 1.0, 1);
        let s = tensor_i64("s", &[3], &[0, 6, -1]);
        op_case("Reshape", &["x", "s"], vec![])
            .inits(vec![s])
            .check("Reshape", &x);
        // Flatten at axis 2 gives [2N, 12]; a Reshape brings the batch back to the front.
        let back = tensor_i64("back", &[2], &[-1, 24]);
        let nodes = vec![
            node("Flatten", &["x"], &["f"], vec![a_int("axis", 2)]),
            node("Reshape", &["f", "back"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![back])
            .check("Flatten axis 2", &x);
        let ax = tensor_i64("a", &[2], &[2, 4]);
        let nodes = vec![
            node("Unsqueeze", &["x", "a"], &["u"], vec![]),
            node("Squeeze", &["u", "a"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![ax])
            .check("Unsqueeze/Squeeze (opset 13 inputs)", &x);
        let nodes = vec![
            node("Unsqueeze", &["x"], &["u"], vec![a_ints("axes", &[1])]),
            node("Squeeze", &["u"], &["y"], vec![a_ints("axes", &[1])]),
        ];
        graph_case(nodes)
            .opset(9)
            .check("Unsqueeze/Squeeze (opset 9 attributes)", &x);
    }
}

/// Expand: the gradient summed back over the broadcast axes.
pub(crate) fn expand(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        Ok(ctx.unbroadcast(g, x, &n.output[0])?)
    })
}

#[cfg(test)]
mod expand_tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{graph_case, node, op_case, uniform};

    #[test]
    fn expand_broadcasts_back() {
        let x = uniform(&[1, 3, 1, 2], -1.0, 1.0, 1);
        let s = tensor_i64("s", &[4], &[1, 3, 4, 2]);
        op_case("Expand", &["x", "s"], vec![])
            .inits(vec![s])
            .check("Expand", &x);
        // A shape of lower rank with 1s (the input's extents stay) and one of higher rank
        // (new leading axes, summed away; fixed batch so the batch is not among them).
        let s = tensor_i64("s", &[2], &[1, 2]);
        op_case("Expand", &["x", "s"], vec![])
            .inits(vec![s])
            .check("Expand lower-rank shape", &x);
        let x2 = uniform(&[1, 4], -1.0, 1.0, 2);
        let s = tensor_i64("s", &[3], &[1, 3, 4]);
        op_case("Expand", &["x", "s"], vec![])
            .inits(vec![s])
            .fixed_batch()
            .check("Expand higher rank", &x2);
    }

    #[test]
    fn expand_prepends_axes() {
        // [N, 1, 4] → [2, N, 3, 4] (a new leading axis and a broadcast one), batch back in
        // front for the seed.
        let x = uniform(&[1, 1, 4], -1.0, 1.0, 2);
        let s = tensor_i64("s", &[4], &[2, 1, 3, 4]);
        let nodes = vec![
            node("Expand", &["x", "s"], &["e"], vec![]),
            node(
                "Transpose",
                &["e"],
                &["t"],
                vec![a_ints("perm", &[1, 0, 2, 3])],
            ),
            node("Sigmoid", &["t"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![s])
            .check("Expand prepending axes", &x);
    }

    #[test]
    fn expand_to_a_run_time_shape() {
        // A per-channel mean expanded back to Shape(x) (the batch among the broadcast axes).
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 3);
        let axes = tensor_i64("a", &[1], &[2]);
        let nodes = vec![
            node(
                "ReduceMean",
                &["x", "a"],
                &["m"],
                vec![a_int("keepdims", 1)],
            ),
            node("Shape", &["x"], &["s"], vec![]),
            node("Expand", &["m", "s"], &["e"], vec![]),
            node("Mul", &["e", "x"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![axes])
            .opset(18)
            .check("Expand to Shape(x)", &x);
    }
}
