//! The start-up cache of `lantern explain` (ONNX Runtime's optimised graphs, gradient graphs,
//! probe shapes; `lantern-runtime`'s `session_cache` and `cache_file`), end to end on the real
//! MobileNetV2, each test with a cache folder of its own (`LANTERN_CACHE`).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `lantern explain --method saliency -vv` of `images` on `model` into `out`, with `cache`.
fn explain(cache: &Path, model: &Path, images: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lantern"));
    cmd.args(["explain", "--model"])
        .arg(model)
        .arg("--image")
        .args(images)
        .args(["--method", "saliency", "-vv", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(root())
        .env("LANTERN_HOME", root())
        .env("LANTERN_CACHE", cache);
    let o = cmd.output().expect("lantern runs");
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

fn map_bytes(out: &Path, stem: &str) -> Vec<u8> {
    std::fs::read(out.join(format!("{stem}.saliency.npy"))).expect("map written")
}

/// Lantern's own log lines (ONNX Runtime's verbose log is left out).
fn lantern_log(o: &Output) -> String {
    stderr(o)
        .lines()
        .filter(|l| !l.contains("onnxruntime"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cache files of every model in `cache` whose name starts with `prefix`.
fn entries(cache: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for model in std::fs::read_dir(cache).unwrap().flatten() {
        for file in std::fs::read_dir(model.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with(prefix) && name.ends_with(".lc") {
                found.push(file.path());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_warm_cache_gives_the_same_map_byte_for_byte_without_the_probe() {
    lantern_core::skip_without_assets!();
    let cache = tempfile::tempdir().unwrap();
    let (cold, warm) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let o = explain(cache.path(), &mobilenet(), &[cat_dog()], cold.path(), &[]);
    let log = lantern_log(&o);
    assert!(log.contains("probe run for tensor shapes"), "{log}");
    assert_eq!(entries(cache.path(), "ort-grad-").len(), 1, "{log}");
    assert_eq!(entries(cache.path(), "grad-").len(), 1);
    assert_eq!(entries(cache.path(), "shapes.json").len(), 1);
    // One image and saliency: the gradient session gives the logits; no forward session.
    assert!(entries(cache.path(), "ort-forward-").is_empty());

    let o = explain(cache.path(), &mobilenet(), &[cat_dog()], warm.path(), &[]);
    let log = lantern_log(&o);
    assert!(!log.contains("probe run"), "the warm run probed:\n{log}");
    assert!(!log.contains("decoding the model graph"), "{log}");
    assert!(
        log.contains("cache hit: ONNX Runtime's optimised grad-"),
        "{log}"
    );
    assert!(!log.contains("cache miss"), "{log}");
    assert_eq!(
        map_bytes(cold.path(), "cat_dog"),
        map_bytes(warm.path(), "cat_dog")
    );

    // Three images take the other path (a forward session for the logits, itself cached):
    // the same map again.
    let many = tempfile::tempdir().unwrap();
    let images = photos(&[
        "photos/cat_dog.png",
        "photos/snake.png",
        "photos/spider.png",
    ]);
    explain(cache.path(), &mobilenet(), &images, many.path(), &[]);
    assert_eq!(entries(cache.path(), "ort-forward-").len(), 1);
    assert_eq!(
        map_bytes(cold.path(), "cat_dog"),
        map_bytes(many.path(), "cat_dog")
    );
    // The logits through the gradient graph are the forward session's (class, probability).
    let row = |out: &Path| -> (String, f64) {
        let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let row = csv.lines().find(|l| l.starts_with("cat_dog,")).unwrap();
        let cells: Vec<&str> = row.split(',').collect();
        let at = |name: &str| cells[header.iter().position(|h| *h == name).unwrap()];
        (at("target").to_string(), at("probability").parse().unwrap())
    };
    let (one, three) = (row(warm.path()), row(many.path()));
    assert_eq!(one.0, three.0);
    assert!(
        (one.1 - three.1).abs() <= 1e-5 * three.1,
        "{one:?} vs {three:?}"
    );
}

/// Metrics run forward passes of their own, dozens per map: one image scored builds the
/// forward session rather than taking every one of those through the gradient graph.
#[test]
fn one_image_scored_by_a_metric_gets_a_forward_session() {
    lantern_core::skip_without_assets!();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let scored = ["--metrics", "deletion"];
    explain(
        cache.path(),
        &mobilenet(),
        &[cat_dog()],
        out.path(),
        &scored,
    );
    assert_eq!(entries(cache.path(), "ort-forward-").len(), 1);
    assert!(out.path().join("cat_dog.saliency.metrics.json").is_file());
}

#[test]
fn a_damaged_cache_file_is_reported_and_rebuilt() {
    lantern_core::skip_without_assets!();
    let cache = tempfile::tempdir().unwrap();
    let first = tempfile::tempdir().unwrap();
    explain(cache.path(), &mobilenet(), &[cat_dog()], first.path(), &[]);
    let optimised = entries(cache.path(), "ort-grad-").remove(0);
    let derived = entries(cache.path(), "grad-").remove(0);
    let shapes = entries(cache.path(), "shapes.json").remove(0);

    // The optimised graph cut in half: reported, rebuilt from the derived graph.
    let bytes = std::fs::read(&optimised).unwrap();
    std::fs::write(&optimised, &bytes[..bytes.len() / 2]).unwrap();
    let second = tempfile::tempdir().unwrap();
    let o = explain(cache.path(), &mobilenet(), &[cat_dog()], second.path(), &[]);
    let log = lantern_log(&o);
    assert!(
        log.contains("WARN") && log.contains("is damaged") && log.contains("rebuilding it"),
        "{log}"
    );
    assert!(log.contains(&optimised.display().to_string()), "{log}");
    assert!(optimised.is_file(), "not rebuilt");
    assert_eq!(
        map_bytes(first.path(), "cat_dog"),
        map_bytes(second.path(), "cat_dog")
    );

    // Every file damaged at once (a byte flipped in each; the optimised graph removed so the
    // derived one is needed, which needs the shapes): three warnings, the same map.
    std::fs::remove_file(&optimised).unwrap();
    for path in [&derived, &shapes] {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(path, bytes).unwrap();
    }
    let third = tempfile::tempdir().unwrap();
    let o = explain(cache.path(), &mobilenet(), &[cat_dog()], third.path(), &[]);
    let log = lantern_log(&o);
    assert_eq!(log.matches("is damaged").count(), 2, "{log}");
    assert!(log.contains("probe run for tensor shapes"), "{log}");
    assert_eq!(
        map_bytes(first.path(), "cat_dog"),
        map_bytes(third.path(), "cat_dog")
    );
    // And the next run finds everything whole again.
    let fourth = tempfile::tempdir().unwrap();
    let o = explain(cache.path(), &mobilenet(), &[cat_dog()], fourth.path(), &[]);
    let log = lantern_log(&o);
    assert!(
        !log.contains("is damaged") && !log.contains("cache miss"),
        "{log}"
    );
    assert!(log.contains("cache hit"), "{log}");
}

/// MobileNetV2 with the weights of its final Gemm multiplied by `factor` (same size in bytes).
fn mobilenet_scaled(factor: f32) -> Vec<u8> {
    let mut model = lantern_graph::load_model(&mobilenet()).expect("MobileNetV2");
    let graph = model.graph.as_mut().unwrap();
    let gemm = graph.node.iter().find(|n| n.op_type() == "Gemm").unwrap();
    let weights = gemm.input[1].clone();
    let tensor = graph
        .initializer
        .iter_mut()
        .find(|t| t.name() == weights)
        .unwrap();
    if tensor.float_data.is_empty() {
        let raw = tensor.raw_data.as_mut().unwrap();
        for chunk in raw.chunks_exact_mut(4) {
            let v = f32::from_le_bytes(chunk.try_into().unwrap()) * factor;
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        tensor.float_data.iter_mut().for_each(|v| *v *= factor);
    }
    lantern_graph::encode_model(&model)
}

#[test]
fn a_changed_model_at_the_same_path_does_not_reuse_the_old_entry() {
    lantern_core::skip_without_assets!();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    let (before, after) = (mobilenet_scaled(1.0), mobilenet_scaled(2.0));
    assert_eq!(before.len(), after.len());
    assert_ne!(before, after);
    let target = ["--target", "243"];

    std::fs::write(&model, &before).unwrap();
    let first = tempfile::tempdir().unwrap();
    explain(cache.path(), &model, &[cat_dog()], first.path(), &target);
    std::fs::write(&model, &after).unwrap();
    let second = tempfile::tempdir().unwrap();
    let o = explain(cache.path(), &model, &[cat_dog()], second.path(), &target);
    assert!(
        lantern_log(&o).contains("probe run"),
        "the old entry served the new model"
    );
    assert_eq!(entries(cache.path(), "ort-grad-").len(), 2);

    // The last layer's weights doubled: every input gradient doubles, exactly.
    let a = read_npy(&first.path().join("cat_dog.saliency.npy"));
    let b = read_npy(&second.path().join("cat_dog.saliency.npy"));
    assert!(a.iter().any(|&v| v > 0.0));
    for (x, y) in a.iter().zip(b.iter()) {
        assert!(
            (2.0 * x - y).abs() <= 1e-6 * y.abs().max(1e-30),
            "{x} vs {y}"
        );
    }
}
