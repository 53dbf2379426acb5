//! Identity, Dropout (inference: identity on its first output; the mask carries no
//! gradient), and Cast between float types (the gradient is cast back). Dropout's `ratio`
//! input (opset ≥ 12) does not matter in inference; its `training_mode` input must be a
//! constant false (a random mask has no reproducible gradient: export in eval mode).

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad_if_any, unsupported};
use crate::ir::{a_int, op};
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    if op(n) == "Dropout"
        && let Some(mode) = n.input.get(2).filter(|m| !m.is_empty())
    {
        match ctx.const_values(mode) {
            Some(v) if v.iter().all(|&t| t == 0.0) => {}
            Some(_) => {
                return Err(unsupported(
                    n,
                    "training_mode = true (a random mask); export the model in eval mode",
                ));
            }
            None => {
                return Err(unsupported(
                    n,
                    &format!(
                        "training_mode ({mode}) is not a constant; export the model in eval mode"
                    ),
                ));
            }
        }
    }
    data_grad_if_any(ctx, n, gy, |ctx, _, g| {
        Ok(if op(n) == "Cast" {
            let dt = ctx.dtype as i64;
            ctx.node("Cast", &[g], vec![a_int("to", dt)])
        } else {
            g.to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_float, a_int, tensor_f32};
    use crate::testing::{graph_case, model, node, uniform};
    use crate::{GradientSpec, GraphError, TensorShapes, build_gradient_graph};
    use std::collections::HashMap;

    #[test]
    fn identity_dropout_cast() {
        let x = uniform(&[1, 2, 3], -1.0, 1.0, 1);
        let nodes = vec![
            node("Identity", &["x"], &["a"], vec![]),
            node("Dropout", &["a"], &["b", "mask"], vec![]),
            node("Cast", &["b"], &["c"], vec![a_int("to", 11)]),
            node("Cast", &["c"], &["y"], vec![a_int("to", 1)]),
        ];
        graph_case(nodes).check("Identity/Dropout/Cast", &x);
        let nodes = vec![node(
            "Dropout",
            &["x"],
            &["y", "m"],
            vec![a_float("ratio", 0.3)],
        )];
        graph_case(nodes).opset(9).check("Dropout opset 9", &x);
        // Opset 12+: ratio and training_mode inputs, inference form.
        let inits = vec![tensor_f32("ratio", &[], &[0.5]), tensor_bool("off", false)];
        let nodes = vec![node("Dropout", &["x", "ratio", "off"], &["y"], vec![])];
        graph_case(nodes)
            .inits(inits)
            .check("Dropout opset 13 inputs", &x);
        let nodes = vec![node("Dropout", &["x", "ratio"], &["y", "m"], vec![])];
        let inits = vec![tensor_f32("ratio", &[], &[0.1])];
        graph_case(nodes)
            .inits(inits)
            .opset(17)
            .check("Dropout ratio only", &x);
    }

    fn tensor_bool(name: &str, v: bool) -> crate::proto::TensorProto {
        crate::proto::TensorProto {
            name: Some(name.into()),
            data_type: Some(crate::proto::tensor_proto::DataType::Bool as i32),
            int32_data: vec![i32::from(v)],
            ..Default::default()
        }
    }

    #[test]
    fn dropout_in_training_mode_is_refused() {
        let m = model(
            vec![node("Dropout", &["x", "ratio", "on"], &["y"], vec![])],
            vec![tensor_f32("ratio", &[], &[0.5]), tensor_bool("on", true)],
            &[("x", &[-1, 3])],
            &["y"],
            13,
        );
        let shapes = TensorShapes(HashMap::from([
            ("x".to_string(), vec![1, 3]),
            ("y".to_string(), vec![1, 3]),
        ]));
        let err =
            build_gradient_graph(&m, &shapes, &GradientSpec::default()).expect_err("training");
        assert!(
            matches!(err, GraphError::UnsupportedVariant { .. }),
            "{err}"
        );
    }
}
