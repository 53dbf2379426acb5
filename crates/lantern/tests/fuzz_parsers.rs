//! Deterministic fuzzing of the two parsers of untrusted input, for CI (the `cargo fuzz`
//! targets in `fuzz/` explore the same properties open-endedly):
//!
//! - the ONNX model reader, `lantern_graph::decode_model`: never panics on any bytes; what it
//!   accepts re-encodes stably and survives inspection (`graph_io`, `list_tensors`,
//!   `default_cam_layer`, `expose_all_tensors`);
//! - the experiment file, `config.rs` (`ExperimentFile::load`, `typed`, `sweep_points`,
//!   `apply_set`): never panics, and every refusal names the file.
//!
//! Inputs are seeded random bytes, mutations (bit flips, interesting bytes, truncations,
//! deletions, duplications, splices, inserted garbage, swapped lines and tokens) of the real
//! models and of `experiments/*.toml`, and configs generated from the config's own vocabulary
//! with values of every TOML type. A fixed number of cases runs by default (a few seconds in
//! release); `LANTERN_FUZZ_SECONDS=N` keeps drawing new seeds for N seconds per property
//! (`just fuzz` sets it where `cargo fuzz` is not available). A failing input is written to
//! `target/tmp/fuzz-failures/` and named in the assertion.

mod common;
mod fuzz_support;

#[allow(
    dead_code,
    reason = "the binary's module, included for its parser only"
)]
#[path = "../src/config.rs"]
mod config;

/// config.rs names `head::augment::AugmentSection`.
#[allow(
    dead_code,
    reason = "the binary's module, included for its config type only"
)]
#[path = "../src/head/augment.rs"]
mod augment;
mod head {
    pub(crate) use super::augment;
}

use config::{ExperimentFile, SweepPoint};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fuzz_support::*;

// ---------------------------------------------------------------------------------------------
// The ONNX model reader

/// Small real and hand-built models to mutate: every byte of them matters.
fn model_seeds() -> Vec<Vec<u8>> {
    use lantern_graph::ir::{a_int, a_ints, make_node, tensor_f32, value_info};
    use lantern_graph::proto::{GraphProto, ModelProto, OperatorSetIdProto};
    let float = lantern_graph::proto::tensor_proto::DataType::Float as i32;
    let conv = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("tiny-cnn".into()),
            node: vec![
                make_node(
                    "Conv",
                    &["x", "w", "b"],
                    &["c"],
                    "conv",
                    vec![
                        a_ints("kernel_shape", &[3, 3]),
                        a_ints("pads", &[1, 1, 1, 1]),
                    ],
                ),
                make_node("Relu", &["c"], &["r"], "relu", vec![]),
                make_node(
                    "MaxPool",
                    &["r"],
                    &["p"],
                    "pool",
                    vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
                ),
                make_node("GlobalAveragePool", &["p"], &["g"], "gap", vec![]),
                make_node("Flatten", &["g"], &["f"], "flatten", vec![a_int("axis", 1)]),
                make_node("Gemm", &["f", "fc", "fb"], &["logits"], "fc", vec![]),
            ],
            initializer: vec![
                tensor_f32("w", &[2, 3, 3, 3], &[0.1; 54]),
                tensor_f32("b", &[2], &[0.0, 0.5]),
                tensor_f32("fc", &[2, 3], &[1.0, -1.0, 0.5, 0.25, 0.0, 2.0]),
                tensor_f32("fb", &[3], &[0.0; 3]),
            ],
            input: vec![value_info(
                "x",
                float,
                Some(&[None, Some(3), Some(8), Some(8)]),
                "N",
            )],
            output: vec![value_info("logits", float, Some(&[None, Some(3)]), "N")],
            ..Default::default()
        }),
        ..Default::default()
    };
    vec![
        lantern_graph::encode_model(&conv),
        std::fs::read(common::assets().join("models/mnist-8.onnx")).unwrap(),
    ]
}

#[test]
fn decode_model_never_panics_on_random_bytes() {
    fuzz_model("onnx-random", "random bytes", 2000, random_bytes);
}

#[test]
fn decode_model_never_panics_on_mutated_small_models() {
    lantern_core::skip_without_assets!();
    let seeds = model_seeds();
    let others: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    for s in &seeds {
        check_model(s);
        assert!(lantern_graph::decode_model(s).is_ok(), "seed models decode");
    }
    fuzz_model("onnx-small", "mutated small models", 4000, |rng| {
        let base = rng.pick(&seeds);
        mutate(rng, base, &others)
    });
}

#[test]
fn decode_model_never_panics_on_mutated_mobilenet() {
    lantern_core::skip_without_assets!();
    let mobilenet = std::fs::read(common::mobilenet()).unwrap();
    let small = model_seeds();
    let others: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    // 14 MB per case: fewer cases, each edit somewhere in the weights or the graph.
    fuzz_model("onnx-mobilenet", "mutated MobileNetV2", 60, |rng| {
        mutate(rng, &mobilenet, &others)
    });
}

#[test]
fn decode_model_refuses_garbage_that_protobuf_accepts() {
    // Empty input and text decode as an empty or odd message; neither is a model.
    for bytes in [&b""[..], b"\x08\x01", b"hello world", b"\x0a\x00"] {
        let err = lantern_graph::decode_model(bytes).unwrap_err().to_string();
        assert!(err.contains("not an ONNX model"), "{err}");
    }
    // Nesting far past prost's recursion limit is an error, not a stack overflow.
    let mut nested = Vec::new();
    for _ in 0..100_000 {
        nested.splice(0..0, [0x3a, 0x80, 0x80, 0x80, 0x00]); // field 7 (graph), length follows
    }
    assert!(lantern_graph::decode_model(&nested).is_err());
}

// ---------------------------------------------------------------------------------------------
// The experiment file

/// `experiments/*.toml` of this checkout.
fn experiment_seeds() -> Vec<Vec<u8>> {
    let dir = common::root().join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "experiments/*.toml in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn experiment_files_in_the_repository_type() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in experiment_seeds().iter().enumerate() {
        let path = dir.path().join(format!("seed{i}.toml"));
        assert!(
            check_config(&path, text, &[]),
            "experiments/*.toml #{i} must type:\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn config_never_panics_on_mutated_experiment_files() {
    let seeds = experiment_seeds();
    let texts: Vec<String> = seeds
        .iter()
        .map(|b| String::from_utf8(b.clone()).unwrap())
        .collect();
    let others: Vec<&str> = texts.iter().map(String::as_str).collect();
    let other_bytes: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let tally = fuzz_config("toml-mutant", "mutated experiment files", 3000, |rng| {
        let base = rng.pick(&texts).clone();
        let bytes = if rng.chance(0.5) {
            mutate_lines(rng, &base, &others).into_bytes()
        } else {
            mutate(rng, base.as_bytes(), &other_bytes)
        };
        (bytes, random_sets(rng))
    });
    assert!(
        tally.accepted > 0,
        "no mutant typed: the mutations are too destructive"
    );
}

#[test]
fn config_never_panics_on_generated_configs() {
    let tally = fuzz_config("toml-generated", "generated configs", 1500, |rng| {
        (generated_config(rng).into_bytes(), random_sets(rng))
    });
    assert!(tally.accepted > 0, "no generated config typed");
}

#[test]
fn config_never_panics_on_random_bytes() {
    fuzz_config("toml-random", "random bytes as TOML", 1000, |rng| {
        (random_bytes(rng), Vec::new())
    });
}

/// Inputs a fuzzer finds eventually, spelled out.
#[test]
fn config_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.toml");
    let base = "[experiment]\nname = \"e\"\n[model]\npath = \"m.onnx\"\n[data]\nkind = \"list\"\n\
                images = [\"a.png\"]\n[methods.occlusion]\nwindow = 32\n";
    let deep_array = format!(
        "{base}[output]\nx = {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep_table = format!(
        "{base}[output]\nx = {}{}\n",
        "{a=".repeat(5000),
        "}".repeat(5000)
    );
    let many_points: String = (0..8)
        .map(|i| format!("\"m{i}.w\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"))
        .collect();
    let cases = [
        String::new(),
        "\u{feff}".to_string(),
        deep_array,
        deep_table,
        format!("{base}[metrics]\nlist = [\"deletion\"]\n[metrics.deletion]\nstep = 0.1\n"),
        format!("{base}[metrics]\nlst = [\"deletion\"]\n"),
        format!("{base}[sweep]\n\"\" = [1]\n"),
        format!("{base}[sweep]\n\"runtime.batch.deeper\" = [1]\n"),
        format!("{base}[sweep]\n\"occlusion.window\" = []\n"),
        format!("{base}sweep = 3\n"),
        // 10⁸ sweep points: refused, not enumerated.
        format!("{base}[sweep]\n{many_points}"),
    ];
    for text in &cases {
        let start = Instant::now();
        check_config(
            &path,
            text.as_bytes(),
            &["=".into(), "a=".into(), "=b".into()],
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "took {:?} on:\n{text}",
            start.elapsed()
        );
    }
    // [metrics.<name>] settings tables are accepted; other keys under [metrics] are not.
    std::fs::write(&path, &cases[4]).unwrap();
    let f = ExperimentFile::load(&path).unwrap();
    let c = f.typed(&SweepPoint::default()).unwrap();
    assert!(c.metrics.settings["deletion"].is_table());
    std::fs::write(&path, &cases[5]).unwrap();
    let err = ExperimentFile::load(&path)
        .unwrap()
        .typed(&SweepPoint::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("edge.toml:11") && err.contains("lst"), "{err}");
    // A sweep too large to run is refused with its size.
    std::fs::write(&path, &cases[10]).unwrap();
    let err = ExperimentFile::load(&path)
        .unwrap()
        .sweep_points()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("edge.toml") && err.contains("100000000"),
        "{err}"
    );
}
