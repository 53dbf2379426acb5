//! Elementwise functions: Neg `−g`, Exp `g·y`, Log `g/x`, Sqrt `g/(2y)`, Abs `g·sign(x)`
//! (0 at 0, as torch), Reciprocal `−g·y²`, Erf `g·(2/√π)·exp(−x²)`, and Pow with a constant
//! exponent `g·p·x^(p−1)`.

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads, require_no_grad, single, unsupported};
use crate::ir::op;
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    let x = &n.input[0];
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let y = &n.output[0];
    out[0] = Some(match op(n) {
        "Neg" => ctx.neg(&g),
        "Exp" => ctx.mul(&g, y),
        "Log" => ctx.div(&g, x),
        "Sqrt" => {
            let h = ctx.scale(&g, 0.5);
            ctx.div(&h, y)
        }
        "Abs" => {
            let s = ctx.node("Sign", &[x], vec![]);
            ctx.mul(&g, &s)
        }
        "Reciprocal" => {
            let y2 = ctx.mul(y, y);
            let t = ctx.mul(&g, &y2);
            ctx.neg(&t)
        }
        "Erf" => {
            let x2 = ctx.mul(x, x);
            let m = ctx.neg(&x2);
            let e = ctx.node("Exp", &[&m], vec![]);
            let t = ctx.mul(&g, &e);
            ctx.scale(&t, 2.0 / std::f64::consts::PI.sqrt())
        }
        other => return Err(unsupported(n, &format!("no unary rule for {other}"))),
    });
    Ok(out)
}

/// Pow(x, p) with p not depending on the input.
pub(crate) fn pow(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    require_no_grad(ctx, n, &[1], "exponent")?;
    let mut out = no_grads(n);
    let (x, p) = (&n.input[0], &n.input[1]);
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let dt = ctx.dtype as i64;
    let pf = ctx.node("Cast", &[p], vec![crate::ir::a_int("to", dt)]);
    let one = ctx.scalar(1.0);
    let pm1 = ctx.sub(&pf, &one);
    let xp = ctx.node("Pow", &[x, &pm1], vec![]);
    let d = ctx.mul(&xp, &pf);
    let gd = ctx.mul(&g, &d);
    out[0] = Some(ctx.unbroadcast(&gd, x, &n.output[0])?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::tensor_f32;
    use crate::testing::{Fd, check_op, node, uniform, uniform_away_from};

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
            check_op(
                op,
                vec![node(op, &["x"], &["y"], vec![])],
                vec![],
                x,
                13,
                &Fd::default(),
            );
        }
        let p = tensor_f32("p", &[], &[3.0]);
        check_op(
            "Pow x^3",
            vec![node("Pow", &["x", "p"], &["y"], vec![])],
            vec![p],
            &any,
            13,
            &Fd::default(),
        );
        let p = tensor_f32("p", &[3], &[0.5, 2.0, 1.5]);
        check_op(
            "Pow broadcast",
            vec![node("Pow", &["x", "p"], &["y"], vec![])],
            vec![p],
            &pos,
            13,
            &Fd::default(),
        );
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
        check_op("GELU", nodes, inits, &x, 13, &Fd::default());
    }
}
