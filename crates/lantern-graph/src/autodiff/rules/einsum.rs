//! Einsum: `y[out] = Σ Π_k x_k[term_k]`, summed over the letters missing from `out`. It is
//! linear in each operand, so the gradient of operand k is another Einsum: the gradient (with
//! subscripts `out`) times the other operands, summed onto k's subscripts —
//! `∂x_k = einsum("out,term_j…->term_k", g, x_j…)`. A letter that only operand k has (summed
//! out in the forward pass, e.g. j in `ij->i`) does not occur on the right-hand inputs, so it is
//! left out of that Einsum and the result is broadcast along it (Unsqueeze + Expand to x_k).
//! Both operands may depend on the image (attention: `bhid,bhjd->bhij` for Q·Kᵀ,
//! `bhij,bhjd->bhid` for A·V); a tensor used twice gets both contributions.
//!
//! Supported: explicit (`->`) and implicit output, letters only. Ellipsis (`...`) and repeated
//! letters within one term (diagonals, traces) are refused, as is the implicit form with mixed
//! upper/lower case (numpy and ONNX Runtime order those letters differently).

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, no_grads, single, unsupported};
use crate::ir::{self, a_string};
use crate::proto::NodeProto;

/// A parsed equation: the subscripts of each input and of the output.
#[derive(Debug, PartialEq)]
struct Equation {
    inputs: Vec<Vec<char>>,
    output: Vec<char>,
}

fn parse(n: &NodeProto, equation: &str) -> Result<Equation, GraphError> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    if eq.contains('.') {
        return Err(unsupported(
            n,
            &format!("equation {equation:?} has an ellipsis; only explicit letters are supported"),
        ));
    }
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let term = |s: &str| -> Result<Vec<char>, GraphError> {
        let t: Vec<char> = s.chars().collect();
        if let Some(c) = t.iter().find(|c| !c.is_ascii_alphabetic()) {
            return Err(unsupported(
                n,
                &format!("equation {equation:?}: unexpected {c:?}"),
            ));
        }
        for (i, c) in t.iter().enumerate() {
            if t[..i].contains(c) {
                return Err(unsupported(
                    n,
                    &format!(
                        "equation {equation:?} repeats {c:?} within a term (a diagonal); not supported"
                    ),
                ));
            }
        }
        Ok(t)
    };
    let inputs: Vec<Vec<char>> = lhs.split(',').map(term).collect::<Result<_, _>>()?;
    let output = match rhs {
        Some(r) => {
            let o = term(r)?;
            if let Some(c) = o.iter().find(|c| !inputs.iter().any(|t| t.contains(c))) {
                return Err(unsupported(
                    n,
                    &format!("equation {equation:?}: output letter {c:?} is in no input"),
                ));
            }
            o
        }
        None => {
            // Letters that occur exactly once, in alphabetical order.
            let all: Vec<char> = inputs.iter().flatten().copied().collect();
            let mut once: Vec<char> = all
                .iter()
                .copied()
                .filter(|c| all.iter().filter(|d| *d == c).count() == 1)
                .collect();
            if once.iter().any(char::is_ascii_uppercase)
                && once.iter().any(char::is_ascii_lowercase)
            {
                return Err(unsupported(
                    n,
                    &format!(
                        "implicit equation {equation:?} mixes upper and lower case; write the output explicitly"
                    ),
                ));
            }
            once.sort_unstable();
            once
        }
    };
    Ok(Equation { inputs, output })
}

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    let mut out = no_grads(n);
    if !n.input.iter().any(|i| ctx.needs_grad(i)) {
        return Ok(out);
    }
    let g = single(n, gy)?;
    let equation =
        ir::attr_s(n, "equation").ok_or_else(|| unsupported(n, "no equation attribute"))?;
    let eq = parse(n, &equation)?;
    if eq.inputs.len() != n.input.len() {
        return Err(unsupported(
            n,
            &format!(
                "equation {equation:?} has {} terms for {} inputs",
                eq.inputs.len(),
                n.input.len()
            ),
        ));
    }
    for (t, x) in eq.inputs.iter().zip(&n.input) {
        let rank = ctx.rank(x)?;
        if t.len() != rank {
            return Err(unsupported(
                n,
                &format!(
                    "equation {equation:?}: term of {} letters for input {x} of rank {rank}",
                    t.len()
                ),
            ));
        }
    }
    for (k, x) in n.input.iter().enumerate() {
        if !ctx.needs_grad(x) {
            continue;
        }
        let others: Vec<usize> = (0..n.input.len()).filter(|&j| j != k).collect();
        let seen =
            |c: &char| eq.output.contains(c) || others.iter().any(|&j| eq.inputs[j].contains(c));
        let term = &eq.inputs[k];
        let kept: Vec<char> = term.iter().copied().filter(|c| seen(c)).collect();
        let lone: Vec<i64> = (0..term.len())
            .filter(|&i| !seen(&term[i]))
            .map(|i| i as i64)
            .collect();
        let grad = if others.is_empty() && kept == eq.output {
            g.clone()
        } else {
            let mut terms: Vec<String> = vec![eq.output.iter().collect()];
            terms.extend(
                others
                    .iter()
                    .map(|&j| eq.inputs[j].iter().collect::<String>()),
            );
            let equation = format!("{}->{}", terms.join(","), kept.iter().collect::<String>());
            let mut operands: Vec<&str> = vec![&g];
            operands.extend(others.iter().map(|&j| n.input[j].as_str()));
            ctx.node("Einsum", &operands, vec![a_string("equation", &equation)])
        };
        out[k] = Some(if lone.is_empty() {
            grad
        } else {
            let axes = ctx.ints(&lone);
            let u = ctx.node("Unsqueeze", &[&grad, &axes], vec![]);
            let s = ctx.shape_of(x);
            ctx.node("Expand", &[&u, &s], vec![])
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, a_string};
    use crate::proto::NodeProto;
    use crate::testing::{graph_case, init_f32, model, node, uniform};
    use crate::{GradientSpec, GraphError, TensorShapes, build_gradient_graph};
    use std::collections::HashMap;

    fn einsum(eq: &str, inputs: &[&str], output: &str) -> NodeProto {
        node("Einsum", inputs, &[output], vec![a_string("equation", eq)])
    }

    #[test]
    fn einsum_attention() {
        // Q, K, V all computed from x: scores = Q·Kᵀ, softmax, A·V — as a transformer writes it.
        let x = uniform(&[1, 2, 5, 4], -1.0, 1.0, 1);
        let inits = vec![
            init_f32("wq", &[4, 4], 2, -1.0, 1.0),
            init_f32("wk", &[4, 3, 4], 3, -1.0, 1.0),
            init_f32("wv", &[4, 4], 4, -1.0, 1.0),
        ];
        let nodes = vec![
            einsum("bhid,de->bhie", &["x", "wq"], "q"),
            // K with key length j = 3, summing over x's i (a letter only x has).
            einsum("bhid,dje->bhje", &["x", "wk"], "k"),
            einsum("bhid,de->bhie", &["x", "wv"], "v0"),
            einsum("bhie->bhie", &["v0"], "v1"),
            einsum("bhid,bhjd->bhij", &["q", "k"], "s"),
            node("Softmax", &["s"], &["a"], vec![a_int("axis", -1)]),
            einsum("bhij,bhid->bhjd", &["a", "v1"], "o"),
            einsum("bhjd,bhje->bhde", &["o", "k"], "y"),
        ];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("Einsum attention", &x);
    }

    #[test]
    fn einsum_scores_of_one_tensor() {
        // The same tensor as both operands.
        let x = uniform(&[1, 2, 5, 4], -1.0, 1.0, 5);
        graph_case(vec![einsum("bhid,bhjd->bhij", &["x", "x"], "y")])
            .opset(17)
            .check("Einsum x·xᵀ", &x);
    }

    #[test]
    fn einsum_summed_letters_and_implicit_output() {
        let x = uniform(&[1, 3, 4], -1.0, 1.0, 6);
        let w = init_f32("w", &[4, 5], 7, -1.0, 1.0);
        // i only in x and not in the output: the gradient is broadcast along it.
        graph_case(vec![einsum("bij,jk->bk", &["x", "w"], "y")])
            .inits(vec![w.clone()])
            .opset(17)
            .check("Einsum bij,jk->bk", &x);
        graph_case(vec![einsum("bij->bj", &["x"], "y")])
            .opset(17)
            .check("Einsum bij->bj", &x);
        graph_case(vec![einsum("b i j -> b j i", &["x"], "y")])
            .opset(17)
            .check("Einsum b i j -> b j i (spaces, transpose)", &x);
        // Implicit output: letters used once, sorted: "bij,jk" → "bik".
        graph_case(vec![einsum("bij,jk", &["x", "w"], "y")])
            .inits(vec![w.clone()])
            .opset(17)
            .check("Einsum implicit bij,jk", &x);
        // The constant first, upper-case letters, output order permuted.
        graph_case(vec![einsum("JK,BIJ->BKI", &["w", "x"], "y")])
            .inits(vec![w])
            .opset(17)
            .check("Einsum JK,BIJ->BKI", &x);
    }

    #[test]
    fn einsum_unsupported_forms_are_errors() {
        // Built from hand-written shapes: the rule refuses before anything runs.
        for (eq, inputs, out_shape) in [
            ("bii->bi", &["x"][..], &[1i64, 3][..]),
            ("...ij->...ji", &["x"], &[1, 3, 3]),
            ("bIj,bjk", &["x", "x"], &[3, 3]),
        ] {
            let m = model(
                vec![einsum(eq, inputs, "y")],
                vec![],
                &[("x", &[-1, 3, 3])],
                &["y"],
                17,
            );
            let shapes = TensorShapes(HashMap::from([
                ("x".to_string(), vec![1, 3, 3]),
                ("y".to_string(), out_shape.to_vec()),
            ]));
            let err = build_gradient_graph(&m, &shapes, &GradientSpec::default()).expect_err(eq);
            assert!(
                matches!(err, GraphError::UnsupportedVariant { .. }),
                "{eq}: {err}"
            );
        }
    }
}
