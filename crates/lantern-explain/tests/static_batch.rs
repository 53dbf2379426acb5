//! Static-batch exports (PyTorch's default `dynamo=True` exporter fixes the batch at 1) run
//! every batched method (issue 12): Lantern makes the batch symbolic, or, where it cannot, runs
//! image by image — never an ONNX Runtime dimension error. Fixtures from
//! `tools/export_static_fixtures.py`.

mod support;

use lantern_explain::{Method, ParamValue};
use lantern_graph::ir;
use lantern_runtime::{BatchMode, Model, Runtime};
use ndarray::{Array3, Axis, Ix2, Ix4};
use support::{check, context, logits, method, read_npy, static_fixture as fixture};

fn load(name: &str) -> Model {
    let rt = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
    Model::load(rt, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn images(name: &str) -> Vec<Array3<f32>> {
    read_npy(&fixture(name))
        .into_dimensionality::<Ix4>()
        .expect("[N,C,H,W]")
        .outer_iter()
        .map(|x| x.to_owned())
        .collect()
}

/// Batched methods, with the batch above 1 everywhere.
fn batched_methods() -> Vec<(&'static str, Box<dyn Method>)> {
    vec![
        (
            "occlusion",
            method(
                "occlusion",
                &[
                    ("window", ParamValue::Int(16)),
                    ("stride", ParamValue::Int(8)),
                ],
            ),
        ),
        ("saliency", method("saliency", &[])),
        (
            "smoothgrad",
            method("smoothgrad", &[("samples", ParamValue::Int(4))]),
        ),
        ("gradcam", method("gradcam", &[])),
        ("scorecam", method("scorecam", &[])),
    ]
}

/// Each model's forward pass of the first three images `xs`, batched, equals the exporter's
/// logits in the fixture `logits`.
fn check_batch_of_three(what: &str, models: &[&Model], xs: &[Array3<f32>], logits: &str) {
    let batch = ndarray::stack(Axis(0), &[xs[0].view(), xs[1].view(), xs[2].view()]).unwrap();
    let want = read_npy(&fixture(logits))
        .into_dimensionality::<Ix2>()
        .unwrap();
    for m in models {
        check(
            what,
            m.forward(batch.view()).unwrap().view(),
            want.view(),
            1e-4,
        );
    }
}

/// Every batched method gives the same maps on `a` and `b`, for classes 1 and 4 of `x`.
fn same_maps(a: &Model, b: &Model, x: &Array3<f32>) {
    let (la, lb) = (logits(a, x), logits(b, x));
    check("logits", la.view(), lb.view(), 1e-5);
    let (ca, cb) = (context(a, &la), context(b, &lb));
    for (name, m) in batched_methods() {
        let ea = m
            .explain_targets(&ca, x.view(), &[1, 4])
            .unwrap_or_else(|e| panic!("{name} on {}: {e}", a.label()));
        let eb = m
            .explain_targets(&cb, x.view(), &[1, 4])
            .unwrap_or_else(|e| panic!("{name} on {}: {e}", b.label()));
        for (p, q) in ea.iter().zip(&eb) {
            check(name, p.map.view(), q.map.view(), 1e-4);
        }
    }
}

#[test]
fn static_vit_is_made_batch_symbolic_and_matches_the_dynamic_export() {
    let stat = load("tiny_vit_static.onnx");
    let BatchMode::Symbolic { changes } = &stat.batch_mode else {
        panic!("expected a symbolic batch, got {:?}", stat.batch_mode);
    };
    assert!(changes.iter().any(|c| c.contains("Reshape")), "{changes:?}");
    let dynamic = load("tiny_vit_dynamic.onnx");
    assert_eq!(dynamic.batch_mode, BatchMode::Dynamic);
    let xs = images("tiny_vit_x.npy");
    // A batch of 3 in one call equals the exporter's own logits.
    check_batch_of_three(
        "static ViT batch of 3",
        &[&stat],
        &xs,
        "tiny_vit_logits.npy",
    );
    same_maps(&stat, &dynamic, &xs[0]);
    // Grad-CAM at the auto layer of the dynamo export: pytorch-grad-cam's map.
    let l = logits(&stat, &xs[0]);
    let e = method("gradcam", &[("layer", ParamValue::Text("auto".into()))])
        .explain(&context(&stat, &l), xs[0].view(), 3)
        .unwrap();
    let want = read_npy(&fixture("tiny_vit_gradcam_class3.npy"))
        .into_dimensionality::<Ix2>()
        .unwrap();
    check(
        "static ViT gradcam",
        e.raw.unwrap().view(),
        want.view(),
        1e-4,
    );
}

/// The tiny CNN with a batch-hard-coding Reshape the rewrite does not know: `[1,16]` goes
/// through `[2,8]` (a target that starts with 2, not 1), so no batch but 1 fits.
fn unrewritable_cnn() -> Vec<u8> {
    let mut m = lantern_graph::load_model(&fixture("tiny_cnn_static.onnx")).unwrap();
    let g = m.graph.as_mut().unwrap();
    let view = g
        .node
        .iter()
        .position(|n| n.op_type.as_deref() == Some("Reshape"))
        .expect("the flatten Reshape");
    let x = g.node[view].input[0].clone();
    g.initializer
        .push(ir::tensor_i64("pair_shape", &[2], &[2, 8]));
    g.node.insert(
        view,
        ir::make_node("Reshape", &[&x, "pair_shape"], &["pair"], "pair", vec![]),
    );
    g.node[view + 1].input[0] = "pair".into();
    lantern_graph::encode_model(&m)
}

#[test]
fn static_cnn_runs_batched_or_one_by_one_with_the_same_maps() {
    let stat = load("tiny_cnn_static.onnx");
    assert!(
        matches!(stat.batch_mode, BatchMode::Symbolic { .. }),
        "{:?}",
        stat.batch_mode
    );
    let rt = Runtime::get_or_default().unwrap();
    let path = fixture("tiny_cnn_static.onnx").with_file_name("tiny_cnn_unrewritable.onnx");
    let odd = Model::from_bytes(rt, &path, &unrewritable_cnn()).expect("loads");
    let BatchMode::OneByOne { reason } = &odd.batch_mode else {
        panic!("expected the one-by-one fallback, got {:?}", odd.batch_mode);
    };
    assert!(reason.contains("batch 3"), "{reason}");
    let xs = images("tiny_cnn_static_x.npy");
    check_batch_of_three(
        "static CNN batch of 3",
        &[&stat, &odd],
        &xs,
        "tiny_cnn_static_logits.npy",
    );
    same_maps(&stat, &odd, &xs[0]);
}
