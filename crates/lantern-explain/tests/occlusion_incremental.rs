//! Incremental occlusion equals full re-inference (the plain `occlusion` method) and Captum's
//! reference maps, on ResNet18 and MobileNetV2; it falls back to full re-inference, with the
//! same map, where no cut pays off. Timings are printed, never asserted.

mod support;

use lantern_explain::occlusion_method::OcclusionMethod;
use lantern_explain::{Context, Method, ParamValue, Params, build_method};
use lantern_graph::surgery::Segmentation;
use lantern_runtime::Model;
use ndarray::{Array1, Array3, ArrayD, Axis};
use std::collections::BTreeMap;
use std::time::Instant;
use support::{input, logits, max_abs, model, model_at, npy};

/// The context for the clean `logits`, with `batch_size` (seed 0).
fn context<'a>(model: &'a Model, logits: &'a Array1<f32>, batch_size: usize) -> Context<'a> {
    Context {
        batch_size,
        ..support::context(model, logits)
    }
}

fn params(name: &str, values: &[(&str, i64)]) -> Params {
    Params::new(
        name,
        values
            .iter()
            .map(|(k, v)| (k.to_string(), ParamValue::Int(*v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// `occlusion` with `incremental = "off"`: full re-inference of every window.
fn full_reinference(values: &[(&str, i64)]) -> OcclusionMethod {
    let p = Params::new(
        "occlusion",
        values
            .iter()
            .map(|(k, v)| (k.to_string(), ParamValue::Int(*v)))
            .chain([("incremental".to_string(), ParamValue::Text("off".into()))])
            .collect::<BTreeMap<_, _>>(),
    );
    OcclusionMethod::from_params(&p).expect("params")
}

fn max_abs_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(
        a.len(),
        b.len(),
        "shapes {:?} vs {:?}",
        a.shape(),
        b.shape()
    );
    max_abs(a.iter().zip(b.iter()).map(|(x, y)| x - y))
}

/// Maps and window logits of `occlusion-incremental` (each segmentation in `variants`)
/// against `occlusion` for one setting; prints the timings (plans are built before timing, as
/// after a warm-up). Returns the default variant's map.
fn check_against_full(
    label: &str,
    model: &Model,
    x: &Array3<f32>,
    target: usize,
    setting: &[(&str, i64)],
    batch: usize,
    variants: &[Segmentation],
) -> ArrayD<f32> {
    let logits = logits(model, x);
    let ctx = context(model, &logits, batch);
    let full = full_reinference(setting);
    let t = Instant::now();
    let want = full.explain(&ctx, x.view(), target).expect("occlusion");
    let full_s = t.elapsed().as_secs_f64();
    let scale = logits[target].abs().max(1.0);
    let mut first = None;
    for &segmentation in variants {
        let mut inc =
            OcclusionMethod::incremental_from_params(&params("occlusion-incremental", setting))
                .expect("params");
        // Exactness of every segmentation, even where it would not pay off.
        inc.engine.options.segmentation = segmentation;
        let prepared = inc.engine.prepare(model).expect("plan");
        println!("{label} [{segmentation:?}]: {}", prepared.note);
        let t = Instant::now();
        let got = inc.explain(&ctx, x.view(), target).expect("incremental");
        let inc_s = t.elapsed().as_secs_f64();
        assert_eq!(got.passes, want.passes);
        assert_eq!(got.stats["windows"], want.stats["windows"]);
        assert_eq!(got.stats["incremental"], 1.0, "{label}: expected a plan");
        let diff = max_abs_diff(&got.map, &want.map);
        println!(
            "{label} [{segmentation:?}]: {} windows; map max |Δ| vs full re-inference {diff:.2e} \
             (score {:.3}, map max {:.3e}); full {full_s:.2}s, incremental {inc_s:.2}s: ×{:.2} \
             (one run, batch {batch})",
            want.stats["windows"],
            logits[target],
            max_abs(want.map.iter().copied()),
            full_s / inc_s
        );
        assert!(diff <= 1e-4 * scale, "{label}: {diff} > 1e-4 × {scale}");
        // Every class of every window, not only the target's map: the first and last windows
        // against a direct forward pass.
        let (window_logits, _) = inc
            .engine
            .window_logits(&ctx, x.view())
            .expect("window logits");
        let wins = full.occlusion.windows(x.dim().1, x.dim().2);
        for k in [0, wins.len() - 1] {
            let (t, l, b, r) = wins[k];
            let mut occluded = x.clone();
            occluded
                .slice_mut(ndarray::s![.., t..b, l..r])
                .fill(full.occlusion.baseline);
            let direct = model
                .forward(occluded.view().insert_axis(Axis(0)))
                .expect("forward");
            let d = max_abs_diff(
                &window_logits.row(k).to_owned().into_dyn(),
                &direct.row(0).to_owned().into_dyn(),
            );
            let top = max_abs(direct.iter().copied());
            assert!(d <= 1e-4 * top.max(1.0), "{label}: window {k} logits {d}");
        }
        first.get_or_insert(got.map);
    }
    first.expect("at least one variant")
}

/// Asserts that `map` is Captum's occlusion map of the reference input `key` of `model`
/// (`<model>/<key>_occlusion.npy`) within 1e-4 of the target's logit.
fn check_against_captum(label: &str, map: &ArrayD<f32>, model: &str, key: &str, target: usize) {
    let captum = npy(model, &format!("{key}_occlusion.npy"));
    let d = max_abs_diff(map, &captum);
    println!("{label}: max |Δ| vs Captum {d:.2e}");
    let logit = npy(model, &format!("{key}_logits.npy"))[[target]];
    assert!(d <= 1e-4 * logit.abs().max(1.0), "vs Captum: {d}");
}

#[test]
fn resnet18_equals_full_reinference_and_captum() {
    lantern_core::skip_without_reference!();
    let model = model("resnet18");
    let x = input("resnet18", "cat_dog");
    let map = check_against_full(
        "resnet18 32/14",
        model,
        &x,
        238,
        &[],
        32,
        &[Segmentation::Auto, Segmentation::PerOp, Segmentation::Fused],
    );
    check_against_captum("resnet18 32/14", &map, "resnet18", "cat_dog", 238);
    // Another window and stride, rectangular, not aligned with any layer's stride.
    check_against_full(
        "resnet18 24×40/18×26",
        model,
        &x,
        238,
        &[
            ("window_h", 24),
            ("window_w", 40),
            ("stride_h", 18),
            ("stride_w", 26),
        ],
        20,
        &[Segmentation::PerOp, Segmentation::Fused],
    );
}

#[test]
fn mobilenetv2_equals_full_reinference_and_captum() {
    lantern_core::skip_without_reference!();
    let model = model("mobilenetv2");
    let x = input("mobilenetv2", "cat_dog-t243");
    let map = check_against_full(
        "mobilenetv2 32/14",
        model,
        &x,
        243,
        &[],
        32,
        &[Segmentation::Auto, Segmentation::PerOp],
    );
    check_against_captum(
        "mobilenetv2 32/14",
        &map,
        "mobilenetv2",
        "cat_dog-t243",
        243,
    );
    check_against_full(
        "mobilenetv2 16/12",
        model,
        &x,
        243,
        &[("window", 16), ("stride", 12)],
        64,
        &[Segmentation::Fused],
    );
}

#[test]
fn mnist_same_padding_and_skipped_rows() {
    let assets = lantern_core::skip_without_assets!();
    // SAME_UPPER convolutions, and a 3×3/3 max pool over 14 rows that never reads the last
    // two: windows there change nothing after it.
    let model = model_at(&assets.join("models/mnist-8.onnx"));
    let x = Array3::from_shape_fn((1, 28, 28), |(_, y, x)| {
        (((y * 7 + x * 3) % 17) as f32 / 17.0) * ((y as f32 - 14.0).abs() < 9.0) as u8 as f32
    });
    let logits = model
        .forward(x.view().insert_axis(Axis(0)))
        .expect("forward");
    let target = logits
        .row(0)
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .expect("classes");
    check_against_full(
        "mnist 6/4",
        model,
        &x,
        target,
        &[("window", 6), ("stride", 4)],
        1, // the model's batch is fixed at 1
        &[Segmentation::PerOp, Segmentation::Fused],
    );
}

#[test]
fn targets_share_the_windows_and_batches_do_not_matter() {
    lantern_core::skip_without_reference!();
    let model = model("tinycnn");
    let x = input("tinycnn", "shapes");
    let logits = logits(model, &x);
    let mut ctx = context(model, &logits, 16);
    let setting = [("window", 24), ("stride", 20)];
    let inc = build_method(
        "occlusion-incremental",
        &params("occlusion-incremental", &setting),
    )
    .expect("registered");
    let full = build_method("occlusion", &params("occlusion", &setting)).expect("registered");
    let both = inc
        .explain_targets(&ctx, x.view(), &[9, 3])
        .expect("two targets");
    for (e, t) in both.iter().zip([9, 3]) {
        let want = full.explain(&ctx, x.view(), t).expect("occlusion");
        let d = max_abs_diff(&e.map, &want.map);
        println!(
            "tinycnn target {t}: incremental {} max |Δ| {d:.2e}",
            e.stats["incremental"]
        );
        assert!(d <= 1e-4 * logits[t].abs().max(1.0));
    }
    ctx.batch_size = 7;
    let again = inc.explain(&ctx, x.view(), 9).expect("batch 7");
    assert!(max_abs_diff(&again.map, &both[0].map) <= 1e-5 * logits[9].abs().max(1.0));
}

#[test]
fn falls_back_to_full_reinference_with_a_note() {
    lantern_core::skip_without_reference!();
    // A window as large as the image changes every activation: no cut pays off.
    let model = model("tinycnn");
    let x = input("tinycnn", "shapes");
    let logits = logits(model, &x);
    let ctx = context(model, &logits, 8);
    let setting = [("window", 200), ("stride", 12)];
    let inc = OcclusionMethod::from_params(&params("occlusion", &setting)).expect("params");
    let note = inc.plan_note(model).expect("plan");
    println!("tinycnn 200/12: {note}");
    assert!(note.starts_with("full re-inference"), "{note}");
    let got = inc.explain(&ctx, x.view(), 9).expect("fallback");
    assert_eq!(got.stats["incremental"], 0.0);
    let want = full_reinference(&setting)
        .explain(&ctx, x.view(), 9)
        .expect("occlusion");
    assert!(max_abs_diff(&got.map, &want.map) <= 1e-6 * logits[9].abs().max(1.0));
}
