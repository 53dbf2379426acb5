//! Every model of the test zoo (`crates/lantern-graph/tests/zoo`, `tools/export_zoo.py`: reduced
//! torchvision and timm classifiers through both PyTorch exporters, the dynamo ones with a
//! static batch of 1) runs Grad-CAM at the `auto` layer and occlusion, and both maps have the
//! input's spatial size, are finite and not constant. The gradients themselves are checked
//! against float64 autograd by lantern-graph's zoo test; this one checks that the methods reach
//! every architecture: the CAM layer is found, its layout understood, batches run.
//! `LANTERN_ZOO=name,name` restricts the run to those architectures.

mod support;

use lantern_explain::{Explanation, ParamValue, Params, build_method};
use lantern_runtime::{Model, Runtime};
use ndarray::{Array3, Ix4};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{context, logits, read_npy};

fn zoo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lantern-graph/tests/zoo")
}

fn method(name: &str, params: &[(&str, ParamValue)]) -> Box<dyn lantern_explain::Method> {
    let values: BTreeMap<String, ParamValue> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    build_method(name, &Params::new(name, values)).expect("method builds")
}

/// Why a map is unusable, if it is. A CAM of a 1×1 layer grid (the reduced LeViT's last stage
/// at 64 px) is constant by construction and only checked for size and finiteness.
fn map_problem(e: &Explanation, hw: (usize, usize)) -> Option<String> {
    let map = &e.map;
    let shape = map.shape();
    if shape[shape.len() - 2..] != [hw.0, hw.1] {
        return Some(format!("map shape {shape:?}, input {hw:?}"));
    }
    if map.iter().any(|v| !v.is_finite()) {
        return Some("map has non-finite values".into());
    }
    let (lo, hi) = map
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let one_cell = e.raw.as_ref().is_some_and(|r| r.len() == 1);
    (hi <= lo && !one_cell).then(|| format!("map is constant ({lo})"))
}

#[test]
fn gradcam_and_occlusion_run_on_every_zoo_model() {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(zoo_dir().join("zoo.json")).expect("zoo.json (tools/export_zoo.py)"),
    )
    .expect("zoo.json parses");
    let only: Option<Vec<String>> = std::env::var("LANTERN_ZOO")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let rt = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in manifest["models"].as_array().expect("models") {
        let name = entry["name"].as_str().expect("name");
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let file = entry["model"].as_str().expect("model file");
        let x: Array3<f32> = read_npy(&zoo_dir().join(entry["input"].as_str().expect("input")))
            .into_dimensionality::<Ix4>()
            .expect("[1,3,H,W]")
            .index_axis_move(ndarray::Axis(0), 0);
        let hw = (x.shape()[1], x.shape()[2]);
        let model = match Model::load(rt, &zoo_dir().join(file)) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{file}: load: {e}"));
                continue;
            }
        };
        let l = logits(&model, &x);
        let ctx = context(&model, &l);
        let target = l
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        // A window of a quarter of the side and a stride of an eighth: 49 to 64 occluded
        // copies, several batches of the default size.
        let side = hw.0.min(hw.1);
        let occlusion = [
            ("window", ParamValue::Int((side / 4) as i64)),
            ("stride", ParamValue::Int((side / 8) as i64)),
        ];
        for (label, m) in [
            ("gradcam", method("gradcam", &[])),
            ("occlusion", method("occlusion", &occlusion)),
        ] {
            let outcome = m.explain(&ctx, x.view(), target);
            let problem = match &outcome {
                Ok(e) => map_problem(e, hw),
                Err(e) => Some(e.to_string()),
            };
            eprintln!(
                "{file:<32} {label:<10} {}",
                problem.as_deref().unwrap_or("ok")
            );
            if let Some(p) = problem {
                failures.push(format!("{file} {label}: {p}"));
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no zoo model was checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} zoo models failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
