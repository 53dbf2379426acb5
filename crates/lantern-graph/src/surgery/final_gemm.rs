//! A new classifier head on a backbone: the tensor feeding the Gemm that produces the model
//! output (the features a head is fitted on), and the same graph with that Gemm's weights
//! replaced by the fitted head's. The result is an ordinary ONNX model every method runs on.

use crate::GraphError;
use crate::proto::{
    AttributeProto, ModelProto, TensorProto, attribute_proto::AttributeType, tensor_proto::DataType,
};

/// The tensor feeding the Gemm that produces the graph output. Any other op producing the
/// output is an error naming it.
pub fn final_gemm_input(proto: &ModelProto) -> Result<String, GraphError> {
    let graph = crate::ir::graph(proto)?;
    let output = crate::ir::first_output(graph)?;
    let node = graph
        .node
        .iter()
        .find(|n| n.output.iter().any(|o| *o == output))
        .ok_or_else(|| {
            GraphError::InvalidModel(format!("no node produces the output {output:?}"))
        })?;
    if node.op_type.as_deref() != Some("Gemm") {
        return Err(GraphError::InvalidModel(format!(
            "the model output comes from {:?}, not a Gemm",
            node.op_type
        )));
    }
    Ok(node.input[0].clone())
}

/// The model with its final Gemm computing `x · Wᵀ + b` from the head: `weight` is `[K, F]`
/// row-major (`dims = [K, F]`), `bias` has `K` values. The output's declared class count is
/// dropped, as it may change.
pub fn replace_final_gemm(
    proto: &ModelProto,
    weight: &[f32],
    dims: [usize; 2],
    bias: &[f32],
) -> Result<ModelProto, GraphError> {
    let mut proto = proto.clone();
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| GraphError::InvalidModel("model has no graph".into()))?;
    let output = graph.output[0].name.clone().unwrap_or_default();
    let node = graph
        .node
        .iter_mut()
        .find(|n| n.output.iter().any(|o| *o == output))
        .ok_or_else(|| GraphError::InvalidModel("no node produces the output".into()))?;
    let (w_name, b_name) = (
        "lantern_head_weight".to_string(),
        "lantern_head_bias".to_string(),
    );
    node.input = vec![node.input[0].clone(), w_name.clone(), b_name.clone()];
    node.attribute = vec![
        AttributeProto {
            name: Some("transB".into()),
            r#type: Some(AttributeType::Int as i32),
            i: Some(1),
            ..Default::default()
        },
        AttributeProto {
            name: Some("alpha".into()),
            r#type: Some(AttributeType::Float as i32),
            f: Some(1.0),
            ..Default::default()
        },
        AttributeProto {
            name: Some("beta".into()),
            r#type: Some(AttributeType::Float as i32),
            f: Some(1.0),
            ..Default::default()
        },
    ];
    let tensor = |name: &str, dims: Vec<i64>, data: &[f32]| TensorProto {
        name: Some(name.to_string()),
        dims,
        data_type: Some(DataType::Float as i32),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    };
    graph.initializer.push(tensor(
        &w_name,
        vec![dims[0] as i64, dims[1] as i64],
        weight,
    ));
    graph
        .initializer
        .push(tensor(&b_name, vec![bias.len() as i64], bias));
    // The output's declared class count changes; drop the stale dimension.
    if let Some(t) = graph.output[0].r#type.as_mut() {
        t.value = None;
    }
    Ok(proto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{a_int, tensor_f32};
    use crate::testing::{model, node, run, session, uniform};

    /// x [N,4] → Relu → Gemm(W [3,4], transB) → logits.
    fn backbone() -> ModelProto {
        model(
            vec![
                node("Relu", &["x"], &["feat"], vec![]),
                node(
                    "Gemm",
                    &["feat", "w", "b"],
                    &["logits"],
                    vec![a_int("transB", 1)],
                ),
            ],
            vec![
                tensor_f32("w", &[3, 4], &[0.5; 12]),
                tensor_f32("b", &[3], &[0.0; 3]),
            ],
            &[("x", &[-1, 4])],
            &["logits"],
            17,
        )
    }

    #[test]
    fn the_final_gemm_input_is_the_feature_tensor() {
        assert_eq!(final_gemm_input(&backbone()).unwrap(), "feat");
        let mut relu_last = backbone();
        relu_last.graph.as_mut().unwrap().output[0].name = Some("feat".into());
        let err = final_gemm_input(&relu_last).unwrap_err().to_string();
        assert!(err.contains("Relu"), "{err}");
    }

    #[test]
    fn the_new_head_computes_relu_x_times_w_transposed_plus_b() {
        // Two classes from four features: the class count changes with the head.
        let w = [1.0, -2.0, 0.5, 3.0, -1.0, 0.25, 2.0, -0.5];
        let b = [0.1, -0.3];
        let replaced = replace_final_gemm(&backbone(), &w, [2, 4], &b).unwrap();
        let x = uniform(&[3, 4], -1.0, 1.0, 5);
        let out = run(&mut session(&replaced), &[("x", &x)]);
        let logits = &out["logits"];
        assert_eq!(logits.shape(), &[3, 2]);
        for n in 0..3 {
            for k in 0..2 {
                let expected: f32 = (0..4)
                    .map(|f| x[[n, f]].max(0.0) * w[k * 4 + f])
                    .sum::<f32>()
                    + b[k];
                assert!((logits[[n, k]] - expected).abs() < 1e-5, "{n},{k}");
            }
        }
    }
}
