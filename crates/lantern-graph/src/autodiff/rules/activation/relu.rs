//! Relu: `g · [x > 0]` (PyTorch: no gradient at exactly 0). Guided backprop (Springenberg et
//! al., Captum's `GuidedBackprop`): the ordinary mask, then only positive gradients,
//! `Relu(g) · [x > 0]`. Deconvnet (Zeiler & Fergus): `Relu(g)`, ignoring x.
//!
//! The mask reads the output: `y = relu(x) > 0` exactly when `x > 0` (NaN fails both), and with
//! the pre-activation unread ONNX Runtime keeps its Conv+Relu fusion in the forward part.

use crate::autodiff::ReluRule;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, _, g| {
        let y = &n.output[0];
        Ok(match ctx.relu_rule {
            ReluRule::Plain => {
                let m = ctx.gt(y, 0.0);
                ctx.mask(&m, g)
            }
            ReluRule::Guided => {
                let m = ctx.gt(y, 0.0);
                let pos = ctx.node("Relu", &[g], vec![]);
                ctx.mask(&m, &pos)
            }
            ReluRule::Deconvnet => ctx.node("Relu", &[g], vec![]),
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::ReluRule;
    use crate::testing::{grad_of, model, node, op_case, uniform_away_from};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn relu_matches_finite_differences() {
        let x = uniform_away_from(&[1, 2, 5, 5], -1.0, 1.0, &[0.0], 0.05, 1);
        op_case("Relu", &["x"], vec![]).check("Relu", &x);
    }

    #[test]
    fn relu_rules_and_kink() {
        let m = model(
            vec![node("Relu", &["x"], &["y"], vec![])],
            vec![],
            &[("x", &[-1, 6])],
            &["y"],
            13,
        );
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![-1.0, 0.0, 2.0, 3.0, -0.5, 0.5])
            .expect("x");
        let seed = ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![1.0, 1.0, -2.0, 3.0, -1.0, 0.0])
            .expect("s");
        let plain = grad_of(&m, &x, &seed, ReluRule::Plain);
        assert_eq!(
            plain.iter().copied().collect::<Vec<_>>(),
            [0.0, 0.0, -2.0, 3.0, 0.0, 0.0]
        );
        let guided = grad_of(&m, &x, &seed, ReluRule::Guided);
        assert_eq!(
            guided.iter().copied().collect::<Vec<_>>(),
            [0.0, 0.0, 0.0, 3.0, 0.0, 0.0]
        );
        let deconv = grad_of(&m, &x, &seed, ReluRule::Deconvnet);
        assert_eq!(
            deconv.iter().copied().collect::<Vec<_>>(),
            [1.0, 1.0, 0.0, 3.0, 0.0, 0.0]
        );
    }
}
