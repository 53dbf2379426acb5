//! Issue 16's checks of the `occlusion` method's plans: `incremental = "auto"` (and `"on"`)
//! equal `"off"` (full re-inference) within 1e-5 on every model of the test zoo; approximate
//! occlusion with τ = 1 and no drill-down equals the exact map; Krypton's approximations at the
//! defaults stay faithful (Spearman ≥ 0.95 to the exact map) on two real photos.

mod support;

use lantern_explain::{Method, ParamValue, Params, build_method};
use lantern_runtime::{Model, Runtime};
use ndarray::{Array3, ArrayD, Ix4};
use std::path::{Path, PathBuf};
use support::{context, logits, read_npy};

fn zoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lantern-graph/tests/zoo")
}

fn occlusion(params: &[(&str, ParamValue)]) -> Box<dyn Method> {
    let values = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    build_method("occlusion", &Params::new("occlusion", values)).expect("occlusion builds")
}

fn text(s: &str) -> ParamValue {
    ParamValue::Text(s.into())
}

/// max |a − b| over max(1, max |b|).
fn relative_difference(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b.iter())
        .fold(0.0f32, |d, (x, y)| d.max((x - y).abs()))
        / scale
}

fn top1(l: &ndarray::Array1<f32>) -> usize {
    l.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

#[test]
fn auto_and_on_equal_off_on_every_zoo_model() {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(zoo_dir().join("zoo.json")).expect("zoo.json (tools/export_zoo.py)"),
    )
    .expect("zoo.json parses");
    let rt = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
    let mut failures = Vec::new();
    let mut incremental = 0;
    let models = manifest["models"].as_array().expect("models");
    for entry in models {
        let file = entry["model"].as_str().expect("model file");
        let x: Array3<f32> = read_npy(&zoo_dir().join(entry["input"].as_str().expect("input")))
            .into_dimensionality::<Ix4>()
            .expect("[1,3,H,W]")
            .index_axis_move(ndarray::Axis(0), 0);
        let model = Model::load(rt, &zoo_dir().join(file)).expect("zoo model loads");
        let l = logits(&model, &x);
        let ctx = context(&model, &l);
        let target = top1(&l);
        let side = x.shape()[1].min(x.shape()[2]) as i64;
        let setting = |mode: &str| {
            occlusion(&[
                ("window", ParamValue::Int(side / 4)),
                ("stride", ParamValue::Int(side / 8)),
                ("incremental", text(mode)),
            ])
        };
        let want = setting("off").explain(&ctx, x.view(), target).expect("off");
        for mode in ["auto", "on"] {
            let got = setting(mode).explain(&ctx, x.view(), target).expect(mode);
            let d = relative_difference(&got.map, &want.map);
            let inc = got.stats["incremental"];
            incremental += usize::from(inc == 1.0);
            eprintln!("{file:<34} {mode:<4} incremental {inc} relative |Δ| {d:.1e}");
            if d > 1e-5 {
                failures.push(format!("{file} {mode}: {d:.2e}"));
            }
        }
    }
    assert!(incremental > 0, "no zoo model ran incrementally");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn approximate_with_tau_one_and_no_drill_down_is_exact() {
    lantern_core::skip_without_assets!();
    let model = support::model("resnet18");
    let x = support::input("resnet18", "cat_dog");
    let l = logits(model, &x);
    let ctx = context(model, &l);
    let exact = occlusion(&[]).explain(&ctx, x.view(), 238).expect("exact");
    let approx = occlusion(&[
        ("approximate", ParamValue::Bool(true)),
        ("tau", ParamValue::Float(1.0)),
        ("drill_down", ParamValue::Bool(false)),
    ])
    .explain(&ctx, x.view(), 238)
    .expect("approximate");
    let d = relative_difference(&approx.map, &exact.map);
    println!("resnet18 32/14: tau 1 without drill-down differs by {d:.1e}");
    assert!(d <= 1e-5, "{d}");
    assert_eq!(approx.stats["windows_run"], 225.0);
}

/// The default approximation at 16/4 (drill-down into the top 25 %) against the exact map:
/// Spearman, SSIM, top-10 % IoU, computed by the method itself (`fidelity = true`), on
/// MobileNetV2 (ResNet18's numbers, slower to get, are in the `occlusion_fidelity_sweep` example and the bench).
#[test]
fn approximate_defaults_are_faithful_on_two_photos() {
    lantern_core::skip_without_assets!();
    let photos = [
        "assets/photos/cat_dog.png",
        "assets/imagenet/samples/n02676566_acoustic_guitar.JPEG",
    ];
    let mut worst: f64 = 1.0;
    for name in ["mobilenetv2"] {
        let model = support::model(name);
        for photo in photos {
            let x = support::imagenet_photo(photo, 224);
            let l = logits(model, &x);
            let ctx = context(model, &l);
            let target = top1(&l);
            let e = occlusion(&[
                ("window", ParamValue::Int(16)),
                ("stride", ParamValue::Int(4)),
                ("approximate", ParamValue::Bool(true)),
                ("fidelity", ParamValue::Bool(true)),
            ])
            .explain(&ctx, x.view(), target)
            .expect("approximate");
            let s = &e.stats;
            println!(
                "{name} {}: spearman {:.3} ssim {:.3} top-10% IoU {:.3}; {} of {} windows, \
                 {:.2}s vs exact {:.2}s (one run)",
                Path::new(photo)
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy(),
                s["fidelity_spearman"],
                s["fidelity_ssim"],
                s["fidelity_top10_iou"],
                s["windows_run"],
                s["windows"],
                s["measured_seconds"],
                s["exact_seconds"],
            );
            worst = worst.min(s["fidelity_spearman"]);
            assert!(
                s["windows_run"] < 0.5 * s["windows"],
                "drill-down runs fewer windows"
            );
        }
    }
    assert!(worst >= 0.95, "Spearman {worst} < 0.95 at the defaults");
}
