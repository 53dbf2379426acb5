//! The builder's contract: inputs/outputs, reserved names, the logits choice, which nodes are
//! differentiated, and the errors.

use crate::ir::{a_int, a_ints, tensor_f32, tensor_i64};
use crate::proto::{ModelProto, NodeProto};
use crate::testing::{
    Fd, fd_check, init_f32, model, node, output_names, probe, run, session, uniform,
};
use crate::{GradientSpec, GraphError, build_gradient_graph};
use ndarray::{ArrayD, IxDyn};

fn spec(layers: &[&str]) -> GradientSpec {
    GradientSpec {
        layers: layers.iter().map(|s| s.to_string()).collect(),
        ..GradientSpec::default()
    }
}

/// `y = Conv(x, w)` with pads 1, so a 3×3 kernel keeps the map's size.
fn padded_conv(x: &str, w: &str, y: &str) -> NodeProto {
    node("Conv", &[x, w], &[y], vec![a_ints("pads", &[1, 1, 1, 1])])
}

/// A model of `nodes` with input `x` `[N, 1, 4, 4]`, the 3×3 weights `w` `[2, 1, 3, 3]` and
/// output `out`.
fn net(nodes: Vec<NodeProto>, out: &str, opset: i64) -> ModelProto {
    model(
        nodes,
        vec![init_f32("w", &[2, 1, 3, 3], 1, -1.0, 1.0)],
        &[("x", &[-1, 1, 4, 4])],
        &[out],
        opset,
    )
}

/// `r = Relu(Conv(x, w))`, then `tail`.
fn conv_net(tail: Vec<NodeProto>, out: &str) -> ModelProto {
    let mut nodes = vec![
        padded_conv("x", "w", "c"),
        node("Relu", &["c"], &["r"], vec![]),
    ];
    nodes.extend(tail);
    net(nodes, out, 13)
}

/// The sum of the gradient graph's logits at `x` (1 when they are probabilities).
fn logits_sum(g: &ModelProto, x: &ArrayD<f32>, seed: &ArrayD<f32>) -> f32 {
    let out = run(&mut session(g), &[("input", x), ("seed", seed)]);
    out["logits"].iter().sum()
}

fn build(m: &ModelProto, s: &GradientSpec) -> Result<ModelProto, GraphError> {
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 1);
    let shapes = probe(m, &[("x", &x)]);
    build_gradient_graph(m, &shapes, s)
}

#[test]
fn missing_rule_names_op_node_and_supported_ops() {
    let mut cos = node("Cos", &["r"], &["y"], vec![]);
    cos.name = Some("my_cos".into());
    let m = conv_net(vec![cos], "y");
    let e = build(&m, &spec(&[])).expect_err("Cos has no rule");
    match &e {
        GraphError::NoGradientRule {
            op_type,
            node_name,
            supported,
        } => {
            assert_eq!((op_type.as_str(), node_name.as_str()), ("Cos", "my_cos"));
            assert!(supported.contains(&"Conv") && supported.contains(&"MaxPool"));
        }
        other => panic!("wrong error: {other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("Cos")
            && msg.contains("my_cos")
            && msg.contains(&crate::supported_ops().join(", ")),
        "{msg}"
    );
    // A custom-domain op is named with its domain.
    let mut custom = node("Gelu", &["r"], &["y"], vec![]);
    custom.domain = Some("com.microsoft".into());
    let e = build(&conv_net(vec![custom], "y"), &spec(&[])).expect_err("custom op");
    assert!(e.to_string().contains("com.microsoft::Gelu"), "{e}");
}

#[test]
fn ops_off_the_path_need_no_rule() {
    // Shape → Gather → Unsqueeze → Concat feeds Reshape's shape (no gradient there), and a Cos
    // branch goes to a second output that is not the logits.
    let inits = vec![
        init_f32("w", &[2, 1, 3, 3], 1, -1.0, 1.0),
        tensor_i64("zero", &[], &[0]),
        tensor_i64("ax0", &[1], &[0]),
        tensor_i64("minus1", &[1], &[-1]),
    ];
    let nodes = vec![
        padded_conv("x", "w", "c"),
        node("Relu", &["c"], &["r"], vec![]),
        node("Shape", &["r"], &["s"], vec![]),
        node("Gather", &["s", "zero"], &["n"], vec![a_int("axis", 0)]),
        node("Unsqueeze", &["n", "ax0"], &["n1"], vec![]),
        node(
            "Concat",
            &["n1", "minus1"],
            &["shape"],
            vec![a_int("axis", 0)],
        ),
        node("Reshape", &["r", "shape"], &["y"], vec![]),
        node("Cos", &["r"], &["side"], vec![]),
    ];
    let m = model(nodes, inits, &[("x", &[-1, 1, 4, 4])], &["y", "side"], 13);
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 2);
    check_kinked_fd("shape path", &m, &x, &["r"]);
}

#[test]
fn reserved_names_and_inputs_outputs() {
    // Input "data", internal tensors named "seed", "input" and "grad_input", output "logits"
    // of rank 4: all renamed; logits are flattened to [N, K].
    let nodes = vec![
        padded_conv("data", "w", "seed"),
        node("Relu", &["seed"], &["input"], vec![]),
        node("Identity", &["input"], &["grad_input"], vec![]),
        node("GlobalAveragePool", &["grad_input"], &["logits"], vec![]),
    ];
    let m = model(
        nodes,
        vec![init_f32("w", &[3, 1, 3, 3], 1, -1.0, 1.0)],
        &[("data", &[-1, 1, 4, 4])],
        &["logits"],
        13,
    );
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 2);
    let shapes = probe(&m, &[("data", &x)]);
    let e = build_gradient_graph(&m, &shapes, &spec(&["input"])).expect_err("reserved layer name");
    assert!(e.to_string().contains("reserved"), "{e}");
    let g = build_gradient_graph(&m, &shapes, &spec(&[])).expect("graph");
    let gr = g.graph.as_ref().expect("graph");
    let inputs: Vec<_> = gr.input.iter().filter_map(|i| i.name.clone()).collect();
    assert_eq!(inputs, ["input", "seed"]);
    assert_eq!(output_names(&g), ["logits", "grad_input"]);
    let mut s = session(&g);
    let seed = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![1.0, -1.0, 0.5]).expect("seed");
    let out = run(&mut s, &[("input", &x), ("seed", &seed)]);
    assert_eq!(out["logits"].shape(), &[1, 3]);
    assert_eq!(out["grad_input"].shape(), &[1, 1, 4, 4]);
    assert!(out["grad_input"].iter().any(|v| *v != 0.0));
}

#[test]
fn logits_skip_the_final_softmax_unless_asked() {
    let m = conv_net(
        vec![
            node("GlobalAveragePool", &["r"], &["p"], vec![]),
            node("Flatten", &["p"], &["f"], vec![]),
            node("Softmax", &["f"], &["prob"], vec![]),
        ],
        "prob",
    );
    // Opset 9 with a 4-D Softmax over axis 1 (rewritten to Flatten/Softmax/Reshape when the
    // opset is raised): the logits are still the Softmax input.
    let old = net(
        vec![
            padded_conv("x", "w", "c"),
            node("GlobalAveragePool", &["c"], &["p"], vec![]),
            node("Softmax", &["p"], &["prob"], vec![]),
        ],
        "prob",
        9,
    );
    let through = GradientSpec {
        through_softmax: true,
        ..spec(&[])
    };
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 3);
    let seed = ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, 0.0]).expect("seed");
    // (case, model, spec, whether the logits are the probabilities)
    for (what, model, s, probabilities) in [
        ("default", &m, spec(&[]), false),
        ("through_softmax", &m, through, true),
        ("opset 9", &old, spec(&[]), false),
    ] {
        let shapes = probe(model, &[("x", &x)]);
        let g = build_gradient_graph(model, &shapes, &s).expect(what);
        let sum = logits_sum(&g, &x, &seed);
        if probabilities {
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{what}: logits sum to {sum}, not 1"
            );
        } else {
            assert!(
                (sum - 1.0).abs() > 1e-3,
                "{what}: logits sum to 1 (probabilities)"
            );
        }
    }
    // Explicit logits tensor.
    let explicit = GradientSpec {
        logits: Some("p".into()),
        ..spec(&[])
    };
    let shapes = probe(&m, &[("x", &x)]);
    let g = build_gradient_graph(&m, &shapes, &explicit).expect("graph");
    let out = run(&mut session(&g), &[("input", &x), ("seed", &seed)]);
    assert_eq!(
        out["logits"].shape(),
        &[1, 2],
        "rank-4 logits are flattened"
    );
}

#[test]
fn layer_errors() {
    let inits = vec![
        init_f32("w", &[2, 1, 3, 3], 1, -1.0, 1.0),
        tensor_f32("k", &[1], &[2.0]),
    ];
    let nodes = vec![
        padded_conv("x", "w", "c"),
        node("Identity", &["k"], &["k2"], vec![]),
        node("Mul", &["c", "k2"], &["y"], vec![]),
        node("Relu", &["c"], &["unused"], vec![]),
    ];
    let m = model(nodes, inits, &[("x", &[-1, 1, 4, 4])], &["y"], 13);
    let e = |layer: &str| build(&m, &spec(&[layer])).expect_err(layer).to_string();
    assert!(
        e("nope").contains("\"nope\" is not produced"),
        "{}",
        e("nope")
    );
    assert!(
        e("k2").contains("does not depend on the input"),
        "{}",
        e("k2")
    );
    assert!(
        e("unused").contains("do not depend on it"),
        "{}",
        e("unused")
    );
    assert!(e("x").contains("image input"), "{}", e("x"));
    // Conv weights computed from the image are refused, not silently ignored.
    let nodes = vec![
        node("Relu", &["x"], &["wx"], vec![]),
        node("Conv", &["x", "wx"], &["y"], vec![]),
    ];
    let m = model(nodes, vec![], &[("x", &[1, 1, 4, 4])], &["y"], 13);
    let err = build(&m, &spec(&[])).expect_err("dynamic weights");
    assert!(
        matches!(err, GraphError::UnsupportedVariant { .. }),
        "{err}"
    );
}

#[test]
fn opset_is_raised_and_model_stays_valid() {
    let m = conv_net(vec![node("GlobalAveragePool", &["r"], &["y"], vec![])], "y");
    let g = build(&m, &spec(&["r"])).expect("graph");
    assert_eq!(crate::ir::default_opset(&g), crate::MIN_OPSET);
    assert!(g.ir_version.unwrap_or(0) >= 8);
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 1);
    check_kinked_fd("conv net", &m, &x, &["r", "c"]);
}

fn op_count(g: &ModelProto, op: &str) -> usize {
    g.graph
        .as_ref()
        .expect("graph")
        .node
        .iter()
        .filter(|n| crate::ir::op(n) == op)
        .count()
}

#[test]
fn residual_sums_of_batch_major_operands_need_no_runtime_shapes() {
    // y = Conv(x) + Relu(x): both operands keep the batch on axis 0, so the 1 = 1 extent at
    // batch 1 is not a broadcast and the gradient passes through untouched.
    let m = conv_net(
        vec![
            node("Relu", &["x"], &["rx"], vec![]),
            padded_conv("x", "w1", "cx"),
            node("Add", &["cx", "rx"], &["y"], vec![]),
        ],
        "y",
    );
    let mut m = m;
    m.graph
        .as_mut()
        .expect("graph")
        .initializer
        .push(init_f32("w1", &[1, 1, 3, 3], 2, -1.0, 1.0));
    let g = build(&m, &spec(&[])).expect("graph");
    for op in ["NonZero", "ReduceSum"] {
        assert_eq!(op_count(&g, op), 0, "{op} in the gradient graph");
    }
    // The one Shape gives the [N, K] seed the 4-D logits' shape.
    assert_eq!(op_count(&g, "Shape"), 1);
    let x = uniform(&[1, 1, 4, 4], -1.0, 1.0, 1);
    check_kinked_fd("residual", &m, &x, &[]);
}

#[test]
fn operands_that_may_not_carry_the_batch_keep_the_runtime_reduction() {
    // y = x + mean over the batch of x: the mean is [1, …] at every batch, so its gradient
    // sums over the batch; at batch 1 both extents are 1 and only a run-time check can tell.
    // ∂(Σ seed·y)/∂x_i = seed_i + (1/N) Σ_j seed_j.
    let m = model(
        vec![
            node(
                "ReduceMean",
                &["x"],
                &["m"],
                vec![a_ints("axes", &[0]), a_int("keepdims", 1)],
            ),
            node("Add", &["x", "m"], &["s"], vec![]),
            node("Flatten", &["s"], &["y"], vec![]),
        ],
        vec![],
        &[("x", &[-1, 2, 3])],
        &["y"],
        13,
    );
    let x1 = uniform(&[1, 2, 3], -1.0, 1.0, 1);
    let shapes = probe(&m, &[("x", &x1)]);
    let g = build_gradient_graph(&m, &shapes, &spec(&[])).expect("graph");
    assert!(op_count(&g, "NonZero") > 0, "the run-time route is kept");
    let x3 = uniform(&[3, 2, 3], -1.0, 1.0, 2);
    let seed = uniform(&[3, 6], -1.0, 1.0, 3);
    let mut s = session(&g);
    let got = run(&mut s, &[("input", &x3), ("seed", &seed)])["grad_input"].clone();
    for i in 0..3 {
        for k in 0..6 {
            let mean: f32 = (0..3).map(|j| seed[[j, k]]).sum::<f32>() / 3.0;
            let want = seed[[i, k]] + mean;
            let v = got[[i, k / 3, k % 3]];
            assert!((v - want).abs() < 1e-6, "[{i}, {k}]: {v} vs {want}");
        }
    }
}

#[test]
fn layers_only_stops_the_backward_pass_at_the_layers() {
    // x → Cos (no rule) → Conv → Relu → r → GlobalAveragePool → y: the full graph needs a Cos
    // rule; stopped at `r`, only the pooling is differentiated, with the same grad_r.
    let nodes = vec![
        node("Cos", &["x"], &["cx"], vec![]),
        padded_conv("cx", "w", "c"),
        node("Relu", &["c"], &["r"], vec![]),
        node("GlobalAveragePool", &["r"], &["p"], vec![]),
        node("Flatten", &["p"], &["y"], vec![a_int("axis", 1)]),
    ];
    let m = net(nodes, "y", 13);
    let stopped = GradientSpec {
        layers_only: true,
        ..spec(&["r"])
    };
    assert!(matches!(
        build(&m, &spec(&["r"])),
        Err(GraphError::NoGradientRule { .. })
    ));
    let g = build(&m, &stopped).expect("only the head is differentiated");
    assert_eq!(output_names(&g), ["logits", "r", "grad_r"]);
    assert_eq!(
        op_count(&g, "ConvTranspose") + op_count(&g, "Relu"),
        1,
        "forward Relu only"
    );
    let x = uniform(&[2, 1, 4, 4], -1.0, 1.0, 5);
    let seed = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, -0.5, 0.25, 2.0]).expect("seed");
    let out = run(&mut session(&g), &[("input", &x), ("seed", &seed)]);
    // ∂(seed·mean(r))/∂r = seed / (h·w), everywhere.
    for n in 0..2 {
        for k in 0..2 {
            for v in out["grad_r"].slice(ndarray::s![n, k, .., ..]).iter() {
                assert!((v - seed[[n, k]] / 16.0).abs() < 1e-7, "{v}");
            }
        }
    }
    // No layers: nothing to stop at, so the flag is ignored and grad_input is there.
    let m2 = conv_net(vec![node("GlobalAveragePool", &["r"], &["y"], vec![])], "y");
    let all = GradientSpec {
        layers_only: true,
        ..spec(&[])
    };
    let g2 = build(&m2, &all).expect("graph");
    assert_eq!(output_names(&g2), ["logits", "grad_input"]);
}

/// Finite differences of `m` at `x` for the input and `layers`, skipping coordinates next to a
/// ReLU kink (at least 90 % must be clean), within 2e-4.
fn check_kinked_fd(what: &str, m: &ModelProto, x: &ArrayD<f32>, layers: &[&str]) {
    let o = Fd {
        skip_kinks: true,
        min_clean: 0.9,
        ..Fd::default()
    };
    crate::testing::assert_fd(what, &fd_check(m, x, layers, &o), 2e-4);
}
