//! LayerNormalization (opset 17): x̂ over the axes `axis..rank` (`axis` default −1, negative
//! counted from the end), `Y = Scale·x̂ + B`, Scale and B broadcast over those trailing axes.
//! `∂X = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` with `ĝ = g·Scale` (see the module doc).
//!
//! μ and r = InvStdDev come from the node's own optional outputs 1 and 2 (named here when the
//! exporter left them out), so the backward pass does not recompute the statistics; they are
//! in `stash_type` precision (default float) and cast to the activation type when it differs.
//! Those outputs themselves are not differentiated: a graph that reads them on the way to the
//! logits is refused. Scale and B are weights (no gradient; refused if they depend on the image).

use super::standardize_backward;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad, unsupported};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;
use crate::proto::tensor_proto::DataType;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1, 2], "scale/bias")?;
    if gy.iter().skip(1).any(Option::is_some) {
        return Err(unsupported(
            n,
            "its Mean/InvStdDev outputs lead to the logits; only Y is differentiated",
        ));
    }
    data_grad(ctx, n, gy, |ctx, x, g| {
        let xs = ctx.shape(x)?;
        let axis = ctx.axis(n, ir::attr_i(n, "axis").unwrap_or(-1), xs.len())?;
        let axes: Vec<usize> = (axis..xs.len()).collect();
        let stats_shape: Vec<i64> = xs
            .iter()
            .enumerate()
            .map(|(i, &d)| if i < axis { d } else { 1 })
            .collect();
        let stash = ir::attr_i(n, "stash_type").unwrap_or(DataType::Float as i64);
        let stat = |ctx: &mut Ctx, k: usize, hint: &str| {
            let name = match n.output.get(k).filter(|o| !o.is_empty()) {
                Some(o) => o.clone(),
                None => {
                    let o = ctx.set_forward_output(k, hint);
                    ctx.set_shape(&o, stats_shape.clone());
                    o
                }
            };
            if stash == ctx.dtype as i64 {
                name
            } else {
                ctx.node("Cast", &[&name], vec![a_int("to", ctx.dtype as i64)])
            }
        };
        let mean = stat(ctx, 1, "mean");
        let r = stat(ctx, 2, "inv_std_dev");
        let d = ctx.sub(x, &mean);
        let xhat = ctx.mul(&d, &r);
        let ghat = ctx.mul(g, &n.input[1]);
        Ok(standardize_backward(ctx, x, &axes, &ghat, &xhat, &r)?)
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::scale_and_bias;
    use crate::ir::{a_float, a_int};
    use crate::testing::{graph_case, init_f32, node, uniform};

    fn layer_norm(inputs: &[&str], outputs: &[&str], axis: Option<i64>) -> crate::proto::NodeProto {
        let mut attrs = vec![a_float("epsilon", 1e-3)];
        if let Some(a) = axis {
            attrs.push(a_int("axis", a));
        }
        node("LayerNormalization", inputs, outputs, attrs)
    }

    #[test]
    fn layer_norm_last_axis() {
        // Tokens [N, T, D] over D, as every transformer block does; opsets 17 (TorchScript
        // exporter) and 18 (dynamo exporter); with and without B; default and explicit axis.
        let x = uniform(&[1, 4, 6], -2.0, 2.0, 1);
        let inits = scale_and_bias(&[6], 2);
        for opset in [17, 18] {
            graph_case(vec![layer_norm(&["x", "s", "b"], &["y"], None)])
                .inits(inits.clone())
                .opset(opset)
                .check(&format!("LayerNorm axis default opset {opset}"), &x);
        }
        graph_case(vec![layer_norm(&["x", "s"], &["y"], Some(2))])
            .inits(inits.clone())
            .opset(17)
            .check("LayerNorm axis 2 no bias", &x);
        // The exporter already names Mean and InvStdDev (unused downstream): reused as they are.
        graph_case(vec![layer_norm(
            &["x", "s", "b"],
            &["y", "mu", "rstd"],
            Some(-1),
        )])
        .inits(inits)
        .opset(17)
        .check("LayerNorm with Mean/InvStdDev outputs", &x);
    }

    #[test]
    fn layer_norm_several_axes() {
        let x = uniform(&[1, 3, 4, 5], -2.0, 2.0, 4);
        // axis −2 over [4, 5]; Scale [1, 5] broadcasts over the 4.
        graph_case(vec![layer_norm(&["x", "s", "b"], &["y"], Some(-2))])
            .inits(vec![
                init_f32("s", &[1, 5], 5, 0.5, 1.5),
                init_f32("b", &[4, 5], 6, -0.5, 0.5),
            ])
            .opset(17)
            .check("LayerNorm axis -2, broadcast scale", &x);
        graph_case(vec![layer_norm(&["x", "s"], &["y"], Some(1))])
            .inits(vec![init_f32("s", &[3, 4, 5], 7, 0.5, 1.5)])
            .opset(17)
            .check("LayerNorm axis 1", &x);
        // axis 0 normalises over the batch too: fixed batch, and the count found at run time.
        graph_case(vec![layer_norm(&["x", "s"], &["y"], Some(0))])
            .inits(vec![init_f32("s", &[5], 8, 0.5, 1.5)])
            .opset(17)
            .fixed_batch()
            .check("LayerNorm axis 0", &x);
    }

    #[test]
    fn layer_norm_after_activation() {
        // A block as in ViT: LN → MatMul → LN, so the upstream gradient is not the seed.
        let x = uniform(&[1, 5, 8], -2.0, 2.0, 9);
        let nodes = vec![
            layer_norm(&["x", "s1", "b1"], &["a"], None),
            node("MatMul", &["a", "w"], &["h"], vec![]),
            layer_norm(&["h", "s2", "b2"], &["y"], None),
        ];
        let inits = vec![
            init_f32("s1", &[8], 10, 0.5, 1.5),
            init_f32("b1", &[8], 11, -0.5, 0.5),
            init_f32("w", &[8, 6], 12, -1.0, 1.0),
            init_f32("s2", &[6], 13, 0.5, 1.5),
            init_f32("b2", &[6], 14, -0.5, 0.5),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("LN → MatMul → LN", &x);
    }

    #[test]
    fn pre_norm_residual_mlp_block() {
        // x + W2·Gelu(W1·LN(x) + b1): a ViT MLP block (opset 20 for Gelu), whose residual Add
        // of two batch-major tensors is unbroadcast statically.
        let x = uniform(&[1, 5, 8], -2.0, 2.0, 15);
        let nodes = vec![
            layer_norm(&["x", "s", "b"], &["n"], None),
            node("MatMul", &["n", "w1"], &["h"], vec![]),
            node("Add", &["h", "b1"], &["hb"], vec![]),
            node("Gelu", &["hb"], &["a"], vec![]),
            node("MatMul", &["a", "w2"], &["m"], vec![]),
            node("Add", &["x", "m"], &["y"], vec![]),
        ];
        let mut inits = scale_and_bias(&[8], 16);
        inits.extend([
            init_f32("w1", &[8, 12], 18, -0.5, 0.5),
            init_f32("b1", &[12], 19, -0.5, 0.5),
            init_f32("w2", &[12, 8], 20, -0.5, 0.5),
        ]);
        graph_case(nodes)
            .inits(inits)
            .opset(20)
            .check("pre-norm MLP block", &x);
    }
}
