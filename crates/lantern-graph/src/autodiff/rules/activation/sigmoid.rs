//! Sigmoid: `g · y · (1 − y)` with y the forward output.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_times};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad_times(ctx, n, gy, |ctx, _| {
        let y = &n.output[0];
        let one = ctx.scalar(1.0);
        let omy = ctx.sub(&one, y);
        Ok(ctx.mul(y, &omy))
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{graph_case, node, op_case, uniform};

    #[test]
    fn sigmoid() {
        let x = uniform(&[1, 2, 3, 4], -3.0, 3.0, 3);
        op_case("Sigmoid", &["x"], vec![]).check("Sigmoid", &x);
    }

    #[test]
    fn swish_as_mul_of_sigmoid() {
        // x·σ(x): x feeds two nodes, so its gradient is the Sum of both contributions.
        let x = uniform(&[1, 2, 3, 4], -3.0, 3.0, 4);
        let nodes = vec![
            node("Sigmoid", &["x"], &["s"], vec![]),
            node("Mul", &["x", "s"], &["y"], vec![]),
        ];
        graph_case(nodes).check("Swish", &x);
    }
}
