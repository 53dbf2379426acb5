//! CumSum along `axis` (an input): `y_i = Σ_{j ≤ i} x_j` (`exclusive`: j < i; `reverse`: the
//! sums run from the end). Each x_j feeds the y_i with i ≥ j (i > j when exclusive), so
//! `∂x = CumSum(g, axis)` with the same `exclusive` and the opposite `reverse`.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1], "axis")?;
    data_grad(ctx, n, gy, |ctx, _, g| {
        let exclusive = ir::attr_i(n, "exclusive").unwrap_or(0);
        let reverse = ir::attr_i(n, "reverse").unwrap_or(0) != 0;
        Ok(ctx.node(
            "CumSum",
            &[g, &n.input[1]],
            vec![
                a_int("exclusive", exclusive),
                a_int("reverse", i64::from(!reverse)),
            ],
        ))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, tensor_i64};
    use crate::testing::{op_case, uniform};

    #[test]
    fn cumsum_every_variant() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        for axis in [1, -1, 2] {
            for exclusive in [0, 1] {
                for reverse in [0, 1] {
                    op_case(
                        "CumSum",
                        &["x", "axis"],
                        vec![a_int("exclusive", exclusive), a_int("reverse", reverse)],
                    )
                    .inits(vec![tensor_i64("axis", &[], &[axis])])
                    .opset(17)
                    .check(
                        &format!("CumSum axis={axis} exclusive={exclusive} reverse={reverse}"),
                        &x,
                    );
                }
            }
        }
    }
}
