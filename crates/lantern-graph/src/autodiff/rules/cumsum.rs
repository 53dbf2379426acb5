//! CumSum along `axis` (an input): `y_i = Σ_{j ≤ i} x_j` (`exclusive`: j < i; `reverse`: the
//! sums run from the end). Each x_j feeds the y_i with i ≥ j (i > j when exclusive), so
//! `∂x = CumSum(g, axis)` with the same `exclusive` and the opposite `reverse`.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1], "axis")?;
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let exclusive = ir::attr_i(n, "exclusive").unwrap_or(0);
    let reverse = ir::attr_i(n, "reverse").unwrap_or(0) != 0;
    out[0] = Some(ctx.node(
        "CumSum",
        &[&g, &n.input[1]],
        vec![
            a_int("exclusive", exclusive),
            a_int("reverse", i64::from(!reverse)),
        ],
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, tensor_i64};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn cumsum_every_variant() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        for axis in [1, -1, 2] {
            for exclusive in [0, 1] {
                for reverse in [0, 1] {
                    check_op(
                        &format!("CumSum axis={axis} exclusive={exclusive} reverse={reverse}"),
                        vec![node(
                            "CumSum",
                            &["x", "axis"],
                            &["y"],
                            vec![a_int("exclusive", exclusive), a_int("reverse", reverse)],
                        )],
                        vec![tensor_i64("axis", &[], &[axis])],
                        &x,
                        17,
                        &Fd::default(),
                    );
                }
            }
        }
    }
}
