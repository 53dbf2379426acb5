//! Deletion and insertion against the RISE-protocol reference outputs for MobileNetV2
//! (`shared/reference/mobilenetv2/metrics.json`): same input tensors, same maps, same ranking,
//! blur and scores, so the curves must agree point by point.
//!
//! Seen here (ORT 1.32 CPU, 2 cores): the RISE kernel equal to `blur-kernel.npy`, the blurred
//! image within 7.2e-7; over the 8 curves of cat_dog-t243 and n02676566_acoustic_guitar, AUCs
//! within 2.4e-7, probabilities within 3.5e-6, logits within 1.2e-5 relative (e.g. cat_dog-t243
//! grad-cam: deletion 0.012991, insertion 0.549130; saliency: 0.004186, 0.068983).

mod common;

use common::*;
use lantern_metrics::blur::{blur_image, default_kernel};
use lantern_metrics::causal::{CausalKind, CausalSettings, causal_curve};
use ndarray::Axis;

#[test]
fn blur_kernel_and_blurred_image_match_the_reference() {
    lantern_core::skip_without_reference!();
    let dir = reference_dir().join("mobilenetv2");
    let want = npy2(&dir.join("blur-kernel.npy"));
    let kernel = default_kernel();
    let worst = (&kernel - &want).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(worst <= 1e-9, "kernel differs by {worst}");
    let x = npy_image(&dir.join("cat_dog-t243_input.npy"));
    let blurred = blur_image(x.view(), kernel.view());
    let want = npy_image(&dir.join("cat_dog-t243_blurred.npy"));
    let worst = (&blurred - &want)
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    eprintln!("blurred image: max |Δ| = {worst:.1e}");
    assert!(worst <= 1e-5, "blurred image differs by {worst}");
}

#[test]
fn deletion_and_insertion_match_the_reference() {
    lantern_core::skip_without_reference!();
    let dir = reference_dir().join("mobilenetv2");
    let model = load_model(&assets_dir().join("models/mobilenetv2-12-float.onnx"));
    let metrics = json(&dir.join("metrics.json"));
    let mut report = Vec::new();
    for key in ["cat_dog-t243", "n02676566_acoustic_guitar"] {
        let reference = &metrics["images"][key];
        let target = reference["target"].as_u64().unwrap() as usize;
        let x = npy_image(&dir.join(format!("{key}_input.npy")));
        // The clean logits, as a caller would have them: deletion skips its evaluation 0 and
        // insertion its evaluation n.
        let clean = model.forward(x.view().insert_axis(Axis(0))).unwrap();
        for (map_name, file) in [("grad-cam", "grad-cam-up"), ("saliency", "saliency")] {
            let map = npy2(&dir.join(format!("{key}_{file}.npy")));
            for kind in [CausalKind::Deletion, CausalKind::Insertion] {
                let want = &reference[kind.name()][map_name];
                let settings = CausalSettings::of(kind);
                let got = causal_curve(
                    &model,
                    x.view(),
                    map.view(),
                    target,
                    &settings,
                    Some(clean.row(0)),
                )
                .unwrap();
                assert_eq!(got.n_steps as u64, want["n_steps"].as_u64().unwrap());
                assert_eq!(got.cost.forward_passes, got.n_steps);
                let curve = floats(&want["curve"]);
                let logits = floats(&want["logit_curve"]);
                assert_eq!(got.curve.len(), curve.len());
                let worst_p = got
                    .curve
                    .iter()
                    .zip(&curve)
                    .map(|(a, b)| (*a as f64 - b).abs())
                    .fold(0.0, f64::max);
                let worst_l = got
                    .logit_curve
                    .iter()
                    .zip(&logits)
                    .map(|(a, b)| (*a as f64 - b).abs() / b.abs().max(1.0))
                    .fold(0.0, f64::max);
                let auc_err = (got.auc - want["auc"].as_f64().unwrap()).abs();
                report.push(format!("{key} {} {map_name}: auc {:.6} (Δ {auc_err:.1e}), max |Δp| {worst_p:.1e}, max rel Δlogit {worst_l:.1e}", kind.name(), got.auc));
                assert!(
                    auc_err <= 1e-3,
                    "{key} {} {map_name}: AUC {} vs {}",
                    kind.name(),
                    got.auc,
                    want["auc"]
                );
                assert!(
                    worst_p <= 1e-3,
                    "{key} {} {map_name}: a curve point differs by {worst_p}",
                    kind.name()
                );
                assert!(
                    worst_l <= 1e-3,
                    "{key} {} {map_name}: a logit differs by {worst_l} (relative)",
                    kind.name()
                );
            }
        }
    }
    eprintln!("{}", report.join("\n"));
}
