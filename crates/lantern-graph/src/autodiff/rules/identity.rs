//! Identity, Dropout (inference: identity on its first output; the mask carries no
//! gradient), and Cast between float types (the gradient is cast back).

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, Grads, no_grads};
use crate::ir::{a_int, op};
use crate::proto::NodeProto;

pub(crate) fn backward(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
) -> Result<Grads, GraphError> {
    let mut out = no_grads(n);
    let x = &n.input[0];
    let Some(g) = gy.first().cloned().flatten() else {
        return Ok(out);
    };
    if !ctx.needs_grad(x) {
        return Ok(out);
    }
    out[0] = Some(if op(n) == "Cast" {
        let dt = ctx.dtype as i64;
        ctx.node("Cast", &[&g], vec![a_int("to", dt)])
    } else {
        g
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_int};
    use crate::testing::{Fd, check_op, node, uniform};

    #[test]
    fn identity_dropout_cast() {
        let x = uniform(&[1, 2, 3], -1.0, 1.0, 1);
        let nodes = vec![
            node("Identity", &["x"], &["a"], vec![]),
            node("Dropout", &["a"], &["b", "mask"], vec![]),
            node("Cast", &["b"], &["c"], vec![a_int("to", 11)]),
            node("Cast", &["c"], &["y"], vec![a_int("to", 1)]),
        ];
        check_op(
            "Identity/Dropout/Cast",
            nodes,
            vec![],
            &x,
            13,
            &Fd::default(),
        );
        let nodes = vec![node(
            "Dropout",
            &["x"],
            &["y", "m"],
            vec![a_float("ratio", 0.3)],
        )];
        check_op("Dropout opset 9", nodes, vec![], &x, 9, &Fd::default());
    }
}
