//! The model zoo (`tests/zoo`, written by `tools/export_zoo.py`): reduced torchvision and timm
//! classifiers through both PyTorch exporters. For every model of `zoo.json`: probe, build the
//! gradient graph, run it on ONNX Runtime with the stored input and seed, and hold the input
//! gradient to criterion 2 of issue 12 against float64 autograd:
//!
//! - measures (of g against the float64 reference r): `p999` = 99.9th percentile of
//!   |g − r| / max |r|, `rel_l2` = ‖g − r‖₂ / ‖r‖₂;
//! - Lantern passes a measure when it is ≤ [`TORCH_FACTOR`] × PyTorch's own float32 gradient's
//!   (ORT and torch round differently, and float32 round-off through ReLU kinks and max-pool
//!   near-ties is what the torch measure captures), or ≤ [`ABSOLUTE`].
//!
//! A model without a rule for one of its ops fails, naming the op and node; none is skipped.
//! `LANTERN_ZOO=name,name` restricts the run to those architectures (while developing);
//! `LANTERN_ZOO_DIR` points the test at another export (`just zoo`: the full-size
//! architectures); `LANTERN_ZOO_REPORT=path` writes every model's result there as JSON (what
//! `tools/zoo_table.py` turns into the README's supported-architectures table), and Lantern's
//! input gradients beside it (`lantern-grads/NAME-EXPORTER.npy`, what `tools/zoo_kinks.py`
//! examines).

use crate::testing::{probe, read_npy, read_npy_f64, run, session, write_npy};
use crate::{GradientSpec, build_gradient_graph, graph_io, load_model};
use ndarray::ArrayD;
use std::path::{Path, PathBuf};

/// How much larger than PyTorch's float32 error Lantern's may be.
const TORCH_FACTOR: f64 = 2.0;
/// Errors at or below this pass whatever torch's were.
const ABSOLUTE: f64 = 1e-5;

/// `LANTERN_ZOO_DIR` (another export of `tools/export_zoo.py`, e.g. full-size models), else
/// the crate's `tests/zoo`.
fn zoo_dir() -> PathBuf {
    std::env::var_os("LANTERN_ZOO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join("zoo")
        })
}

/// Criterion-2 measures of `g` against the float64 reference (`max` = largest |g − r| / max |r|).
#[derive(Debug, Clone, Copy)]
struct Measures {
    p999: f64,
    rel_l2: f64,
    max: f64,
}

impl Measures {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "p999": self.p999, "rel_l2": self.rel_l2, "max": self.max })
    }
}

/// How many values of `g` are farther from the reference than `bound` (relative to max |r|):
/// with `bound` = torch's largest float32 error, whether a failure is a few isolated values
/// (a ReLU kink flipped by round-off) or a gradient that is off throughout.
fn count_beyond(g: &ArrayD<f32>, r: &ArrayD<f64>, bound: f64) -> usize {
    let scale = r.iter().fold(0f64, |m, v| m.max(v.abs()));
    g.iter()
        .zip(r.iter())
        .filter(|&(&a, &b)| (a as f64 - b).abs() / scale > bound)
        .count()
}

fn measures(g: &ArrayD<f32>, r: &ArrayD<f64>) -> Measures {
    assert_eq!(
        g.shape(),
        r.shape(),
        "gradient shape differs from the reference"
    );
    let scale = r.iter().fold(0f64, |m, v| m.max(v.abs()));
    let mut d: Vec<f64> = g
        .iter()
        .zip(r.iter())
        .map(|(&a, &b)| (a as f64 - b).abs())
        .collect();
    let l2 = d.iter().map(|v| v * v).sum::<f64>().sqrt();
    let r_l2 = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    d.sort_by(f64::total_cmp);
    Measures {
        p999: quantile(&d, 0.999) / scale,
        rel_l2: l2 / r_l2,
        max: d.last().copied().unwrap_or(0.0) / scale,
    }
}

/// numpy's default (linear) quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn within(lantern: f64, torch: f64) -> bool {
    lantern <= (TORCH_FACTOR * torch).max(ABSOLUTE)
}

/// Lantern's input gradient for one zoo entry, or why there is none.
fn lantern_gradient(dir: &Path, e: &serde_json::Value, file: &str) -> Result<ArrayD<f32>, String> {
    let m = load_model(&dir.join(file)).map_err(|e| format!("load: {e}"))?;
    let x = read_npy(&dir.join(str_field(e, "input")));
    let seed = read_npy(&dir.join(str_field(e, "seed")));
    let (input, _, _) = graph_io(&m).map_err(|e| format!("graph io: {e}"))?;
    let shapes = probe(&m, &[(&input, &x)]);
    let spec = GradientSpec::default();
    let g = build_gradient_graph(&m, &shapes, &spec).map_err(|e| {
        // The error lists every supported op after this; the op and node come first.
        let msg = e.to_string();
        msg.split("; the table").next().unwrap_or(&msg).to_string()
    })?;
    let mut s = session(&g);
    let grad = |s: &mut ort::session::Session, x: &ArrayD<f32>, seed: &ArrayD<f32>| {
        run(s, &[("input", x), ("seed", seed)])
            .remove("grad_input")
            .ok_or_else(|| "no grad_input output".to_string())
    };
    let one = grad(&mut s, &x, &seed)?;
    // Dynamic-batch exports: the graph's static decisions (which axis is the batch, where no
    // un-broadcasting reduction is needed) only show at N > 1, so a batch of 2 (the image and
    // its negation) must give each image's own gradient.
    if graph_io(&m).is_ok_and(|(_, dims, _)| dims.first() == Some(&None)) {
        let neg = x.mapv(|v| -v);
        let pair = ndarray::concatenate(ndarray::Axis(0), &[x.view(), neg.view()])
            .map_err(|e| e.to_string())?;
        let seeds = ndarray::concatenate(ndarray::Axis(0), &[seed.view(), seed.view()])
            .map_err(|e| e.to_string())?;
        let both = grad(&mut s, &pair, &seeds)?;
        let alone = [one.clone(), grad(&mut s, &neg, &seed)?];
        for (i, want) in alone.iter().enumerate() {
            let got = both.index_axis(ndarray::Axis(0), i);
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = got
                .iter()
                .zip(want.iter())
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            if diff > 1e-5 * scale {
                return Err(format!(
                    "at batch 2, image {i}'s gradient differs from its batch-1 gradient by {:.2e} (relative)",
                    diff / scale
                ));
            }
        }
    }
    Ok(one)
}

fn str_field<'a>(e: &'a serde_json::Value, key: &str) -> &'a str {
    e[key]
        .as_str()
        .unwrap_or_else(|| panic!("zoo.json: entry without {key:?}: {e}"))
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

#[test]
fn zoo_input_gradients_match_float64_autograd() {
    let dir = zoo_dir();
    let text = std::fs::read_to_string(dir.join("zoo.json"))
        .unwrap_or_else(|e| panic!("{}: {e} (run `just zoo-export`)", dir.display()));
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("zoo.json");
    let only: Option<Vec<String>> = std::env::var("LANTERN_ZOO")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let entries = manifest["models"].as_array().expect("zoo.json: models");
    assert!(!entries.is_empty(), "zoo.json lists no models");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut report = Vec::new();
    let report_path = std::env::var_os("LANTERN_ZOO_REPORT").map(PathBuf::from);
    let grads_dir = report_path.as_ref().map(|p| {
        let d = p.parent().unwrap_or(Path::new(".")).join("lantern-grads");
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        d
    });
    eprintln!(
        "{:<16} {:<11} {:>9} {:>9} {:>9} {:>9}  result",
        "model", "exporter", "p999", "torch", "rel_l2", "torch"
    );
    for e in entries {
        let name = str_field(e, "name");
        let exporter = str_field(e, "exporter");
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let label = format!("{name:<16} {exporter:<11}");
        // What the report says of this model, whatever becomes of it below.
        let mut row = serde_json::json!({
            "name": name,
            "exporter": exporter,
            "description": e["description"],
            "opset": e["opset"],
            "batch": e["batch"],
            "parameters": e["parameters"],
            "input_shape": e["input_shape"],
        });
        let Some(file) = e["model"].as_str() else {
            // PyTorch could not export it: nothing of Lantern's to check.
            let why = e["export_error"].as_str().unwrap_or("?");
            eprintln!("{label} not exported by PyTorch: {}", first_line(why));
            row["result"] = "not exported".into();
            row["error"] = first_line(why).into();
            report.push(row);
            continue;
        };
        checked += 1;
        if let Some(why) = e["reference_error"].as_str() {
            // tools/export_zoo.py checks autograd against float64 central differences.
            eprintln!("{label} FAIL reference gradient: {why}");
            failures.push(format!("{name} ({exporter}): reference gradient: {why}"));
            row["result"] = "fail".into();
            row["error"] = format!("reference gradient: {why}").into();
            report.push(row);
            continue;
        }
        let g64 = read_npy_f64(&dir.join(str_field(e, "grad64")));
        let g32 = read_npy(&dir.join(str_field(e, "grad32")));
        let torch = measures(&g32, &g64);
        row["torch"] = torch.json();
        let got = std::panic::catch_unwind(|| lantern_gradient(&dir, e, file))
            .unwrap_or_else(|p| Err(panic_text(p)));
        let (lantern, beyond) = match got {
            Ok(g) => {
                if let Some(d) = &grads_dir {
                    let file = format!("{name}-{exporter}.npy");
                    write_npy(&d.join(&file), &g);
                    row["lantern_grad"] = format!("lantern-grads/{file}").into();
                }
                (measures(&g, &g64), count_beyond(&g, &g64, torch.max))
            }
            Err(why) => {
                eprintln!(
                    "{label} {:>9} {:>9.1e} {:>9} {:>9.1e}  FAIL {}",
                    "-",
                    torch.p999,
                    "-",
                    torch.rel_l2,
                    first_line(&why)
                );
                failures.push(format!("{name} ({exporter}): {why}"));
                row["result"] = "fail".into();
                row["error"] = first_line(&why).into();
                report.push(row);
                continue;
            }
        };
        let ok = within(lantern.p999, torch.p999) && within(lantern.rel_l2, torch.rel_l2);
        eprintln!(
            "{label} {:>9.1e} {:>9.1e} {:>9.1e} {:>9.1e}  {}",
            lantern.p999,
            torch.p999,
            lantern.rel_l2,
            torch.rel_l2,
            if ok { "ok" } else { "FAIL" }
        );
        row["lantern"] = lantern.json();
        row["elements"] = g64.len().into();
        row["beyond_torch_max"] = beyond.into();
        row["result"] = if ok { "pass" } else { "fail" }.into();
        report.push(row);
        if !ok {
            failures.push(format!(
                "{name} ({exporter}): p999 {:.2e} vs torch {:.2e}, rel_l2 {:.2e} vs torch {:.2e} \
                 (allowed: {TORCH_FACTOR}× torch or ≤ {ABSOLUTE:e})",
                lantern.p999, torch.p999, lantern.rel_l2, torch.rel_l2
            ));
        }
    }
    if let Some(path) = report_path {
        let doc = serde_json::json!({
            "zoo": dir.display().to_string(),
            "versions": manifest["versions"],
            "criterion": format!(
                "p999 and rel_l2 each <= {TORCH_FACTOR} x torch float32's, or <= {ABSOLUTE:e}"
            ),
            "models": report,
        });
        let text = serde_json::to_string_pretty(&doc).expect("report json");
        std::fs::write(&path, text + "\n").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
    assert!(
        checked > 0,
        "no zoo model was checked (LANTERN_ZOO={only:?})"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} zoo models fail criterion 2:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
