//! Deletion and insertion through ONNX Runtime on a hand-built model with a known answer:
//! `Conv` with one full-image kernel per class, then `Flatten`. Class 0's kernel is 1/(3·16) on
//! a 4×4 region R (rows 2..6, columns 1..5) of an 8×8 image, class 1's is zero, so
//! logit₀ = the mean of R over all channels and logit₁ = 0.

use lantern_graph::ir::{a_int, make_node, tensor_f32, value_info};
use lantern_graph::proto::tensor_proto::DataType;
use lantern_graph::proto::{GraphProto, ModelProto, OperatorSetIdProto};
use lantern_metrics::causal::{CausalSettings, Step, Substrate, causal_curve};
use lantern_metrics::confidence::{ConfidenceMask, confidence_change};
use lantern_metrics::{Classifier, Score};
use lantern_runtime::{Model, Runtime};
use ndarray::{Array2, Array3, Array4};
use std::path::Path;

const H: usize = 8;
const W: usize = 8;

fn in_region(y: usize, x: usize) -> bool {
    (2..6).contains(&y) && (1..5).contains(&x)
}

fn region_mean_model() -> Model {
    let mut weight = Array4::<f32>::zeros((2, 3, H, W));
    for c in 0..3 {
        for y in 0..H {
            for x in 0..W {
                if in_region(y, x) {
                    weight[[0, c, y, x]] = 1.0 / 48.0;
                }
            }
        }
    }
    let f = DataType::Float as i32;
    let graph = GraphProto {
        name: Some("region-mean".into()),
        node: vec![
            make_node("Conv", &["input", "weight"], &["conv"], "conv", vec![]),
            make_node(
                "Flatten",
                &["conv"],
                &["logits"],
                "flatten",
                vec![a_int("axis", 1)],
            ),
        ],
        initializer: vec![tensor_f32(
            "weight",
            &[2, 3, H as i64, W as i64],
            weight.as_slice().unwrap(),
        )],
        input: vec![value_info(
            "input",
            f,
            Some(&[None, Some(3), Some(H as i64), Some(W as i64)]),
            "N",
        )],
        output: vec![value_info("logits", f, Some(&[None, Some(2)]), "N")],
        ..Default::default()
    };
    let proto = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let bytes = lantern_graph::encode_model(&proto);
    let runtime = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
    Model::from_bytes(runtime, Path::new("region-mean.onnx"), &bytes).expect("region-mean model")
}

/// Channel c of the image is c + 1 everywhere.
fn image() -> Array3<f32> {
    Array3::from_shape_fn((3, H, W), |(c, _, _)| (c + 1) as f32)
}

/// 2 on R, 1 elsewhere: R's 16 pixels come first in ascending flat order, then the rest.
fn region_first_map() -> Array2<f32> {
    Array2::from_shape_fn((H, W), |(y, x)| if in_region(y, x) { 2.0 } else { 1.0 })
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 1e-5,
            "point {i}: {g} vs {w} (curve {got:?})"
        );
    }
}

#[test]
fn curves_through_onnx_runtime_are_exact() {
    let model = region_mean_model();
    let x = image();
    let logits = model
        .logits(x.view().insert_axis(ndarray::Axis(0)))
        .unwrap();
    assert!((logits[[0, 0]] - 2.0).abs() < 1e-6 && logits[[0, 1]].abs() < 1e-7);

    let map = region_first_map();
    // Deletion to zeros, 4 pixels per step: 16 steps; R is gone after step 4.
    let mut settings = CausalSettings::deletion();
    settings.step = Step::Pixels(4);
    settings.batch_size = 5;
    let del = causal_curve(&model, x.view(), map.view(), 0, &settings, None).unwrap();
    let mut want = vec![2.0, 1.5, 1.0, 0.5];
    want.resize(17, 0.0);
    assert_close(&del.logit_curve, &want);
    let sig = |l: f32| 1.0 / (1.0 + (-l).exp());
    assert_close(
        &del.curve,
        &want.iter().map(|&l| sig(l)).collect::<Vec<_>>(),
    );
    let want_auc =
        (want.iter().map(|&l| sig(l) as f64).sum::<f64>() - sig(2.0) as f64 / 2.0 - 0.25) / 16.0;
    assert!(
        (del.auc - want_auc).abs() < 1e-6,
        "{} vs {want_auc}",
        del.auc
    );
    assert_eq!(del.cost.forward_passes, 17);

    // The same ranking reversed (R last): nothing changes until step 12.
    let reversed = map.mapv(|v| 3.0 - v);
    settings.score = Score::Logit;
    let del = causal_curve(&model, x.view(), reversed.view(), 0, &settings, None).unwrap();
    let mut want = vec![2.0; 13];
    want.extend([1.5, 1.0, 0.5, 0.0]);
    assert_close(&del.curve, &want);

    // Deleting to the per-channel mean leaves the region mean unchanged.
    settings.substrate = Substrate::Mean;
    let del = causal_curve(&model, x.view(), map.view(), 0, &settings, None).unwrap();
    assert_close(&del.curve, &[2.0; 17]);

    // Insertion from zeros, with the clean logits supplied: the last evaluation is not re-run.
    let mut settings = CausalSettings::insertion();
    settings.substrate = Substrate::Zeros;
    settings.step = Step::Fraction(0.0625);
    settings.score = Score::Logit;
    let ins = causal_curve(
        &model,
        x.view(),
        map.view(),
        0,
        &settings,
        Some(logits.row(0)),
    )
    .unwrap();
    let mut want = vec![0.0, 0.5, 1.0, 1.5];
    want.resize(17, 2.0);
    assert_close(&ins.curve, &want);
    assert_eq!(ins.cost.forward_passes, 16);
    assert!((ins.auc - (want.iter().sum::<f32>() as f64 - 1.0) / 16.0).abs() < 1e-5);
}

#[test]
fn confidence_through_onnx_runtime() {
    let model = region_mean_model();
    let x = image();
    // The normalised map is 1 on R and 0 elsewhere: the region survives, O = Y.
    let c = confidence_change(
        &model,
        x.view(),
        region_first_map().view(),
        0,
        ConfidenceMask::Normalised,
        None,
    )
    .unwrap();
    assert!((c.o - c.y).abs() < 1e-6 && c.drop < 1e-6 && !c.increase);
    // Keeping the top half by a map that is high on the right half drops R (columns 1..5)
    // but for column 4: logit 2 → 2·4/16 = 0.5.
    let right = Array2::from_shape_fn((H, W), |(_, x)| x as f32);
    let c = confidence_change(
        &model,
        x.view(),
        right.view(),
        0,
        ConfidenceMask::SCORE_CAM,
        None,
    )
    .unwrap();
    let sig = |l: f32| 1.0 / (1.0 + (-l).exp());
    assert!((c.o - sig(0.5)).abs() < 1e-6, "{}", c.o);
    assert!((c.drop - ((sig(2.0) - sig(0.5)) / sig(2.0)) as f64).abs() < 1e-6);
}
