//! ReduceL2 `y = √Σ x²`: `∂x = kept(g) · x / kept(y)`, and 0 where y = 0 (then every x in the
//! slice is 0; PyTorch's norm backward masks that case to 0 the same way). The mask is folded
//! into the divisor — `y + [y = 0]` — so no NaN is ever formed.

use super::backward_with;
use crate::autodiff::ctx::{Ctx, RuleResult};
use crate::ir::a_int;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    backward_with(ctx, n, gy, |ctx, r, x, g| {
        let y = r.kept(ctx, &n.output[0]);
        let zero = ctx.scalar(0.0);
        let at_zero = ctx.node("Equal", &[&y, &zero], vec![]);
        let at_zero = ctx.node("Cast", &[&at_zero], vec![a_int("to", ctx.dtype as i64)]);
        let safe_y = ctx.add(&y, &at_zero);
        let gx = ctx.mul(g, x);
        Ok(ctx.div(&gx, &safe_y))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{grad_of, model, node, op_case, uniform};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn reduce_l2() {
        let x = uniform(&[1, 3, 4, 5], -1.0, 1.0, 1);
        let axes = tensor_i64("axes", &[1], &[-3]);
        for keep in [0, 1] {
            op_case(
                "ReduceL2",
                &["x"],
                vec![a_ints("axes", &[1, -1]), a_int("keepdims", keep)],
            )
            .check(&format!("ReduceL2 attribute axes keepdims={keep}"), &x);
            op_case("ReduceL2", &["x", "axes"], vec![a_int("keepdims", keep)])
                .inits(vec![axes.clone()])
                .opset(18)
                .check(&format!("ReduceL2 input axes keepdims={keep}"), &x);
        }
        // noop_with_empty_axes: y = |x| elementwise, so the gradient is sign(x).
        let away = crate::testing::uniform_away_from(&[1, 3, 4], -1.0, 1.0, &[0.0], 0.05, 2);
        op_case("ReduceL2", &["x"], vec![a_int("noop_with_empty_axes", 1)])
            .opset(18)
            .check("ReduceL2 noop", &away);
    }

    #[test]
    fn reduce_l2_of_zeros_is_zero_not_nan() {
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 2, 2]), vec![0.0, 0.0, 3.0, 4.0]).expect("x");
        let m = model(
            vec![node(
                "ReduceL2",
                &["x"],
                &["y"],
                vec![a_ints("axes", &[2]), a_int("keepdims", 0)],
            )],
            vec![],
            &[("x", &[-1, 2, 2])],
            &["y"],
            13,
        );
        let seed = ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, 1.0]).expect("seed");
        let g = grad_of(&m, &x, &seed, crate::ReluRule::Plain);
        let want = [0.0, 0.0, 0.6, 0.8];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "got {g:?}, want {want:?}");
        }
    }
}
