//! Elementwise functions: Neg `−g`, Exp `g·y`, Log `g/x`, Sqrt `g/(2y)`, Abs `g·sign(x)`
//! (0 at 0, as torch), Reciprocal `−g·y²`, Erf `g·(2/√π)·exp(−x²)`, and Pow in either operand
//! (see [`pow`]).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, no_grads, single, unsupported};
use crate::ir::{a_int, op};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    data_grad(ctx, n, gy, |ctx, x, g| {
        let y = &n.output[0];
        Ok(match op(n) {
            "Neg" => ctx.neg(g),
            "Exp" => ctx.mul(g, y),
            "Log" => ctx.div(g, x),
            "Sqrt" => {
                let h = ctx.scale(g, 0.5);
                ctx.div(&h, y)
            }
            "Abs" => {
                let s = ctx.node("Sign", &[x], vec![]);
                ctx.mul(g, &s)
            }
            "Reciprocal" => {
                let y2 = ctx.mul(y, y);
                let t = ctx.mul(g, &y2);
                ctx.neg(&t)
            }
            "Erf" => {
                // (2/√π)·exp(−x²) as exp(ln(2/√π) − x²): no separate scaling node.
                let x2 = ctx.mul(x, x);
                let ln_k = ctx.scalar((2.0 / std::f64::consts::PI.sqrt()).ln());
                let m = ctx.sub(&ln_k, &x2);
                let e = ctx.node("Exp", &[&m], vec![]);
                ctx.mul(g, &e)
            }
            other => return Err(unsupported(n, &format!("no unary rule for {other}"))),
        })
    })
}

/// Pow(x, p), PyTorch's `pow_backward` for either operand:
/// base `∂x = g·p·x^(p−1)`, and 0 where p = 0 (torch's mask: `0·x^(−1)` would be NaN at x = 0);
/// exponent `∂p = g·y·ln x`, and 0 where x = 0 and p ≥ 0. Each is summed back to its operand's
/// shape. A constant scalar exponent 2 (the variance in decomposed normalisations) is `2·g·x`.
pub(crate) fn pow(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    let (x, p) = (&n.input[0], &n.input[1]);
    if !ctx.needs_grad(x) && !ctx.needs_grad(p) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let y = &n.output[0];
    let dt = ctx.dtype as i64;
    let zero = ctx.scalar(0.0);
    if ctx.needs_grad(x) {
        let p_values = ctx.const_values(p);
        let gd = if p_values.as_deref() == Some(&[2.0]) {
            let gx = ctx.mul(&g, x);
            ctx.scale(&gx, 2.0)
        } else {
            let pf = ctx.node("Cast", &[p], vec![a_int("to", dt)]);
            let one = ctx.scalar(1.0);
            let pm1 = ctx.sub(&pf, &one);
            let xp = ctx.node("Pow", &[x, &pm1], vec![]);
            let d = ctx.mul(&xp, &pf);
            let gd = ctx.mul(&g, &d);
            if p_values.is_some_and(|v| v.iter().all(|&e| e != 0.0)) {
                gd
            } else {
                let p0 = ctx.node("Equal", &[&pf, &zero], vec![]);
                ctx.node("Where", &[&p0, &zero, &gd], vec![])
            }
        };
        out[0] = Some(ctx.unbroadcast(&gd, x, y)?);
    }
    if ctx.needs_grad(p) {
        let ln = ctx.node("Log", &[x], vec![]);
        let yl = ctx.mul(y, &ln);
        let gp = ctx.mul(&g, &yl);
        let x0 = ctx.node("Equal", &[x, &zero], vec![]);
        let p_nonneg = ctx.node("GreaterOrEqual", &[p, &zero], vec![]);
        let masked = ctx.node("And", &[&x0, &p_nonneg], vec![]);
        let gp = ctx.node("Where", &[&masked, &zero, &gp], vec![]);
        out[1] = Some(ctx.unbroadcast(&gp, p, y)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{tensor_f32, tensor_i64};
    use crate::proto::TensorProto;
    use crate::testing::{grad_of, graph_case, model, node, op_case, uniform, uniform_away_from};

    #[test]
    fn unary_functions() {
        let pos = uniform(&[1, 2, 3], 0.5, 2.0, 1);
        let any = uniform_away_from(&[1, 2, 3], -2.0, 2.0, &[0.0], 0.05, 2);
        for (op, x) in [
            ("Neg", &any),
            ("Exp", &any),
            ("Log", &pos),
            ("Sqrt", &pos),
            ("Abs", &any),
            ("Reciprocal", &pos),
            ("Erf", &any),
        ] {
            op_case(op, &["x"], vec![]).check(op, x);
        }
        let p = tensor_f32("p", &[], &[3.0]);
        op_case("Pow", &["x", "p"], vec![])
            .inits(vec![p])
            .check("Pow x^3", &any);
        let p = tensor_f32("p", &[3], &[0.5, 2.0, 1.5]);
        op_case("Pow", &["x", "p"], vec![])
            .inits(vec![p])
            .check("Pow broadcast", &pos);
    }

    #[test]
    fn pow_special_and_active_exponent() {
        let pos = uniform(&[1, 2, 3], 0.5, 2.0, 4);
        let any = uniform(&[1, 2, 3], -2.0, 2.0, 5);
        for (what, p, x) in [
            ("Pow x^2", 2.0, &any),
            ("Pow x^0.5", 0.5, &pos),
            ("Pow x^-1", -1.0, &pos),
        ] {
            op_case("Pow", &["x", "p"], vec![])
                .inits(vec![tensor_f32("p", &[], &[p])])
                .check(what, x);
        }
        // An integer exponent (T1 = int64).
        op_case("Pow", &["x", "p"], vec![])
            .inits(vec![tensor_i64("p", &[], &[3])])
            .check("Pow x^int64 3", &any);
        // The exponent depends on the image: c^x, and x^x with both operands active.
        op_case("Pow", &["c", "x"], vec![])
            .inits(vec![tensor_f32("c", &[3], &[0.5, 1.5, 2.5])])
            .check("Pow c^x", &any);
        op_case("Pow", &["x", "x"], vec![]).check("Pow x^x", &pos);
        // x^GAP(x): the exponent broadcast, summed back.
        let nodes = vec![
            node("ReduceMean", &["x", "ax"], &["m"], vec![]),
            node("Pow", &["x", "m"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(vec![tensor_i64("ax", &[1], &[2])])
            .opset(18)
            .check("Pow x^mean(x)", &pos);
    }

    #[test]
    fn pow_masks_like_torch() {
        // ∂x of x^0 is 0 (not 0·0^−1 = NaN); ∂p of 0^p is 0 for p ≥ 0.
        let x =
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[1, 2]), vec![0.0, 2.0]).expect("x");
        let seed =
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[1, 2]), vec![1.0, 1.0]).expect("seed");
        // The gradient of `y = Pow(inputs)` at x, the other operand the constant `c`.
        let grad = |inputs: [&str; 2], c: TensorProto| {
            let pow = node("Pow", &inputs, &["y"], vec![]);
            let m = model(vec![pow], vec![c], &[("x", &[-1, 2])], &["y"], 13);
            grad_of(&m, &x, &seed, crate::ReluRule::Plain)
        };
        let g = grad(["x", "p"], tensor_f32("p", &[2], &[0.0, 0.0]));
        assert_eq!(g.iter().copied().collect::<Vec<f32>>(), vec![0.0, 0.0]);
        let g = grad(["c", "x"], tensor_f32("c", &[2], &[0.0, 3.0]));
        let want = 9f32 * 3f32.ln();
        assert_eq!(g.as_slice().expect("contiguous")[0], 0.0, "{g:?}");
        assert!(
            (g.as_slice().expect("contiguous")[1] - want).abs() < 1e-5,
            "{g:?}"
        );
    }

    #[test]
    fn layer_norm_decomposed() {
        // What the TorchScript exporter writes for a channels-first LayerNorm (ConvNeXt's
        // LayerNorm2d) and for LayerNormalization before opset 17: ReduceMean, Sub, Pow 2,
        // ReduceMean, Add ε, Sqrt, Div, Mul, Add.
        let x = uniform(&[1, 4, 3, 3], -2.0, 2.0, 6);
        let inits = vec![
            tensor_i64("c", &[1], &[1]),
            tensor_f32("two", &[], &[2.0]),
            tensor_f32("eps", &[], &[1e-6]),
            crate::testing::init_f32("w", &[4, 1, 1], 7, 0.5, 1.5),
            crate::testing::init_f32("b", &[4, 1, 1], 8, -0.5, 0.5),
        ];
        let nodes = vec![
            node("ReduceMean", &["x", "c"], &["mu"], vec![]),
            node("Sub", &["x", "mu"], &["d"], vec![]),
            node("Pow", &["d", "two"], &["d2"], vec![]),
            node("ReduceMean", &["d2", "c"], &["var"], vec![]),
            node("Add", &["var", "eps"], &["ve"], vec![]),
            node("Sqrt", &["ve"], &["sd"], vec![]),
            node("Div", &["d", "sd"], &["xh"], vec![]),
            node("Mul", &["xh", "w"], &["s"], vec![]),
            node("Add", &["s", "b"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(18)
            .check("LayerNorm decomposed", &x);
    }

    #[test]
    fn gelu_from_erf() {
        // 0.5·x·(1 + erf(x/√2)), as exporters write GELU.
        let inits = vec![
            tensor_f32("r2", &[], &[std::f32::consts::SQRT_2]),
            tensor_f32("one", &[], &[1.0]),
            tensor_f32("half", &[], &[0.5]),
        ];
        let nodes = vec![
            node("Div", &["x", "r2"], &["a"], vec![]),
            node("Erf", &["a"], &["e"], vec![]),
            node("Add", &["e", "one"], &["b"], vec![]),
            node("Mul", &["x", "b"], &["c"], vec![]),
            node("Mul", &["c", "half"], &["y"], vec![]),
        ];
        let x = uniform(&[1, 2, 4], -3.0, 3.0, 3);
        graph_case(nodes).inits(inits).check("GELU", &x);
    }
}
