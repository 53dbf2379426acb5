//! Gather, GatherElements, GatherND: every output element is a copy of one input element, so
//! the gradient is routed back to the sources by [`route_back`] (repeated indices add up;
//! negative indices, scalar indices and indices computed at run time are resolved by the op
//! itself). The indices carry no gradient.

use super::route::route_back;
use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, single};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    if !ctx.needs_grad(&n.input[0]) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    out[0] = Some(route_back(ctx, n, &g));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn gather_constant_indices() {
        let x = uniform(&[1, 4, 5], -1.0, 1.0, 1);
        // Repeated (2) and negative (-1 = 3) indices, a 2-D index tensor.
        let idx = tensor_i64("i", &[2, 2], &[0, 2, -1, 2]);
        let nodes = vec![
            node("Gather", &["x", "i"], &["g"], vec![a_int("axis", 1)]),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        check_op(
            "Gather axis 1, 2-D indices with repeats",
            nodes,
            vec![idx],
            &x,
            13,
            &Fd::default(),
        );
        // ViT's class token: a scalar index removes the axis.
        let idx = tensor_i64("i", &[], &[0]);
        let nodes = vec![node("Gather", &["x", "i"], &["y"], vec![a_int("axis", 1)])];
        check_op(
            "Gather class token",
            nodes,
            vec![idx],
            &x,
            13,
            &Fd::default(),
        );
        let idx = tensor_i64("i", &[3], &[-2, 4, -2]);
        let nodes = vec![node("Gather", &["x", "i"], &["y"], vec![a_int("axis", -1)])];
        check_op("Gather axis -1", nodes, vec![idx], &x, 18, &Fd::default());
    }

    #[test]
    fn gather_run_time_indices() {
        // The last column, its index computed from Shape at run time (dynamic batch: the
        // check also runs the gradient graph at batch 3).
        let x = uniform(&[1, 3, 5], -1.0, 1.0, 2);
        let inits = vec![tensor_i64("two", &[], &[2]), tensor_i64("one", &[], &[1])];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "two"], &["w"], vec![]),
            node("Sub", &["w", "one"], &["last"], vec![]),
            node("Gather", &["x", "last"], &["g"], vec![a_int("axis", 2)]),
            node("Tanh", &["g"], &["y"], vec![]),
        ];
        check_op(
            "Gather with a run-time index",
            nodes,
            inits,
            &x,
            17,
            &Fd::default(),
        );
    }

    #[test]
    fn gather_elements() {
        // Run-time indices: a constant pattern expanded to the batch (from Shape).
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 3);
        let inits = vec![
            tensor_i64(
                "pat",
                &[1, 3, 5],
                &[0, 3, 3, -1, 1, 2, 2, 0, -4, 1, 3, 0, 1, 2, 3],
            ),
            tensor_i64("rest", &[2], &[3, 5]),
            tensor_i64("zero", &[1], &[0]),
            tensor_i64("one", &[1], &[1]),
        ];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Slice", &["s", "zero", "one"], &["n"], vec![]),
            node("Concat", &["n", "rest"], &["shape"], vec![a_int("axis", 0)]),
            node("Expand", &["pat", "shape"], &["idx"], vec![]),
            node(
                "GatherElements",
                &["x", "idx"],
                &["g"],
                vec![a_int("axis", 2)],
            ),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        check_op(
            "GatherElements, run-time indices with repeats",
            nodes,
            inits,
            &x,
            13,
            &Fd::default(),
        );
        let fixed = Fd {
            fixed_batch: true,
            ..Fd::default()
        };
        let idx = tensor_i64("i", &[1, 2, 4], &[2, 0, 0, 1, -1, 1, 2, 2]);
        let nodes = vec![node(
            "GatherElements",
            &["x", "i"],
            &["y"],
            vec![a_int("axis", 1)],
        )];
        check_op(
            "GatherElements axis 1, constant indices",
            nodes,
            vec![idx],
            &x,
            13,
            &fixed,
        );
    }

    #[test]
    fn gather_nd() {
        let x = uniform(&[1, 3, 4, 2], -1.0, 1.0, 4);
        // batch_dims = 1: per image, pick (row, col) pairs, one of them twice.
        let idx = tensor_i64("i", &[1, 3, 2], &[0, 1, 2, 3, 0, 1]);
        let nodes = vec![
            node(
                "GatherND",
                &["x", "i"],
                &["g"],
                vec![a_int("batch_dims", 1)],
            ),
            node("Sigmoid", &["g"], &["y"], vec![]),
        ];
        let fixed = Fd {
            fixed_batch: true,
            ..Fd::default()
        };
        check_op("GatherND batch_dims 1", nodes, vec![idx], &x, 13, &fixed);
    }
}
