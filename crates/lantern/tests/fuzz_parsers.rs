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

#[allow(
    dead_code,
    reason = "the binary's module, included for its parser only"
)]
#[path = "../src/config.rs"]
mod config;

use config::{ExperimentFile, SweepPoint};
use lantern_core::rng::{GOLDEN_GAMMA, SplitMix64};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Randomness, budgets and failure records

/// lantern-core's SplitMix64 (the stream of `seed ^ γ`), with the helpers the mutators need.
struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed ^ GOLDEN_GAMMA))
    }
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.0.below_modulo(n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.0.next_f64() <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Runs `case(seed)` for `cases` seeds, or for `LANTERN_FUZZ_SECONDS` when that is set.
fn for_seeds(cases: u64, mut case: impl FnMut(u64)) {
    let seconds = std::env::var("LANTERN_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut seed = 0;
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if seed >= cases => break,
            _ => {}
        }
        case(seed);
        seed += 1;
    }
}

/// Cases run, inputs accepted (decoded / typed) and panics, per property.
#[derive(Default)]
struct Tally {
    cases: u64,
    accepted: u64,
    failures: Vec<String>,
}

/// Runs `f` on `input` and counts it as accepted when it returns true; a panic is recorded
/// with the input saved for reproduction.
fn guarded(kind: &str, seed: u64, input: &[u8], tally: &mut Tally, f: impl FnOnce() -> bool) {
    tally.cases += 1;
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(accepted) => tally.accepted += u64::from(accepted),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{kind}-{seed}.bin"));
            std::fs::write(&file, input).unwrap();
            tally.failures.push(format!(
                "{kind} seed {seed}: {message} (input: {})",
                file.display()
            ));
        }
    }
}

/// Prints how many inputs were accepted (with `--nocapture`) and fails on any panic.
fn assert_no_panics(what: &str, tally: &Tally) {
    eprintln!(
        "{what}: {} cases, {} accepted, {} panics",
        tally.cases,
        tally.accepted,
        tally.failures.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{what}: {} of {} cases panicked:\n{}",
        tally.failures.len(),
        tally.cases,
        tally.failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Byte mutations shared by both parsers

const INTERESTING: [u8; 10] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, b'"', b'[', b'=', 0xfe];

/// One to four random edits of `seed_bytes`, with `others` as splice material.
fn mutate(rng: &mut Rng, seed_bytes: &[u8], others: &[&[u8]]) -> Vec<u8> {
    let mut b = seed_bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(9) {
            0 if len > 0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(len);
                    b[i] ^= 1 << rng.below(8);
                }
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = *rng.pick(&INTERESTING);
            }
            2 => b.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                b.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk = b[start..end].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            5 => {
                let other = *rng.pick(others);
                let cut = rng.below(b.len() + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            6 => {
                let at = rng.below(len + 1);
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                b.splice(at..at, junk);
            }
            7 if len > 0 => {
                // A run of 0xff: protobuf varints and lengths become huge.
                let at = rng.below(len);
                let end = (at + 1 + rng.below(10)).min(len);
                b[at..end].fill(0xff);
            }
            _ if len > 1 => {
                let (i, j) = (rng.below(len), rng.below(len));
                b.swap(i, j);
            }
            _ => b.push(rng.next() as u8),
        }
    }
    b
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let n = [0, 1, 2, 8, 64, 512, 4096][rng.below(7)];
    (0..n).map(|_| rng.next() as u8).collect()
}

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

/// The property: no panic; an accepted model re-encodes stably and can be inspected.
fn check_model(bytes: &[u8]) -> bool {
    let Ok(model) = lantern_graph::decode_model(bytes) else {
        return false;
    };
    let encoded = lantern_graph::encode_model(&model);
    let again = lantern_graph::decode_model(&encoded).expect("a decoded model re-decodes");
    assert_eq!(
        lantern_graph::encode_model(&again),
        encoded,
        "encoding is not stable"
    );
    let shapes = lantern_graph::TensorShapes(Default::default());
    let _ = lantern_graph::graph_io(&model);
    let _ = lantern_graph::list_tensors(&model, &shapes);
    let _ = lantern_graph::default_cam_layer(&model, &shapes);
    let _ = lantern_graph::expose_all_tensors(&model);
    true
}

#[test]
fn decode_model_never_panics_on_random_bytes() {
    let mut tally = Tally::default();
    for_seeds(2000, |seed| {
        let bytes = random_bytes(&mut Rng::new(seed));
        guarded("onnx-random", seed, &bytes, &mut tally, || {
            check_model(&bytes)
        });
    });
    assert_no_panics("random bytes", &tally);
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
    let mut tally = Tally::default();
    for_seeds(4000, |seed| {
        let mut rng = Rng::new(seed);
        let base = rng.pick(&seeds);
        let bytes = mutate(&mut rng, base, &others);
        guarded("onnx-small", seed, &bytes, &mut tally, || {
            check_model(&bytes)
        });
    });
    assert_no_panics("mutated small models", &tally);
}

#[test]
fn decode_model_never_panics_on_mutated_mobilenet() {
    lantern_core::skip_without_assets!();
    let mobilenet = std::fs::read(common::mobilenet()).unwrap();
    let small = model_seeds();
    let others: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    let mut tally = Tally::default();
    // 14 MB per case: fewer cases, each edit somewhere in the weights or the graph.
    for_seeds(60, |seed| {
        let bytes = mutate(&mut Rng::new(seed), &mobilenet, &others);
        guarded("onnx-mobilenet", seed, &bytes, &mut tally, || {
            check_model(&bytes)
        });
    });
    assert_no_panics("mutated MobileNetV2", &tally);
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

/// The property: loading, typing, sweeping and overriding never panic, and every refusal
/// names the file. Returns whether the file typed.
fn check_config(path: &Path, text: &[u8], sets: &[String]) -> bool {
    std::fs::write(path, text).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let named = |e: &anyhow::Error| {
        let m = format!("{e:#}");
        assert!(m.contains(name), "error does not name the file: {m}");
    };
    let mut file = match ExperimentFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            named(&e);
            return false;
        }
    };
    let typed = match file.typed(&SweepPoint::default()) {
        Ok(_) => true,
        Err(e) => {
            named(&e);
            false
        }
    };
    match file.sweep_points() {
        Ok(points) => {
            for p in &points {
                let _ = p.slug();
                file.typed(p).expect("sweep_points typed every point");
            }
        }
        Err(e) => named(&e),
    }
    for s in sets {
        let _ = file.apply_set(s);
        let _ = file.sweep_points();
    }
    typed
}

/// Line-level edits that keep most of the file well-formed, so typing and sweeps are reached.
fn mutate_lines(rng: &mut Rng, text: &str, others: &[&str]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let other_lines: Vec<&str> = others.iter().flat_map(|o| o.lines()).collect();
    const TOKENS: [&str; 26] = [
        "-1",
        "0",
        "1e999",
        "nan",
        "-inf",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "\"\\u0000\"",
        "\"ü 猫 \\\" \\\\\"",
        "[]",
        "{}",
        "[[1, 2], [3]]",
        "[1, \"two\", 3.0]",
        "{ window = 8 }",
        "true",
        "1979-05-27T07:32:00Z",
        "07:32:00",
        "'''multi\nline'''",
        "\"../../etc/passwd\"",
        "0x7fffffff",
        "1_000",
        "+3.5e-2",
        "\"top-k\"",
        "\"class\"",
    ];
    for _ in 0..1 + rng.below(3) {
        let n = lines.len();
        match rng.below(7) {
            0 if n > 0 => {
                lines.remove(rng.below(n));
            }
            1 if n > 0 => {
                let l = lines[rng.below(n)].clone();
                lines.insert(rng.below(n + 1), l);
            }
            2 if n > 1 => {
                let (i, j) = (rng.below(n), rng.below(n));
                lines.swap(i, j);
            }
            3 if !other_lines.is_empty() => {
                let l = rng.pick(&other_lines).to_string();
                lines.insert(rng.below(n + 1), l);
            }
            4 if n > 0 => {
                // Replace a value with an interesting token.
                let i = rng.below(n);
                if let Some((k, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{k}= {}", rng.pick(&TOKENS));
                }
            }
            5 if n > 0 => {
                // Rename a key or table to another one seen anywhere.
                let i = rng.below(n);
                let l = rng.pick(&other_lines).to_string();
                match (lines[i].split_once('='), l.split_once('=')) {
                    (Some((_, v)), Some((k, _))) => lines[i] = format!("{k}={v}"),
                    _ => lines[i] = l,
                }
            }
            _ => {
                let i = rng.below(n + 1);
                let sweep = format!(
                    "[sweep]\n\"{}\" = [{}, {}]",
                    rng.pick(&SWEEP_KEYS),
                    rng.pick(&TOKENS),
                    rng.pick(&TOKENS)
                );
                lines.insert(i, sweep);
            }
        }
    }
    lines.join("\n")
}

const SWEEP_KEYS: [&str; 20] = [
    "occlusion.window",
    "occlusion.stride",
    "methods.occlusion.window",
    "runtime.batch",
    "runtime.threads",
    "model.path",
    "model.mean",
    "data.limit",
    "experiment.name",
    "metrics.deletion.step",
    "metrics.list",
    "output.figures",
    "sweep.x",
    "",
    ".",
    "a..b",
    "methods",
    "runtime.batch.deeper",
    "model.head.l2",
    "targets.k",
];

/// A config generated from the schema's vocabulary, with values of random TOML types.
fn generated_config(rng: &mut Rng) -> String {
    use toml::Value;
    fn value(rng: &mut Rng, depth: usize) -> Value {
        match rng.below(if depth > 2 { 6 } else { 8 }) {
            0 => Value::Integer(*rng.pick(&[0, 1, -1, 3, 16, 224, i64::MAX, i64::MIN])),
            1 => Value::Float(*rng.pick(&[0.0, 0.5, -2.0, 1e300, f64::NAN, f64::INFINITY])),
            2 => Value::Boolean(rng.chance(0.5)),
            3 => Value::String(
                rng.pick(&[
                    "", "auto", "cpu", "list", "imagenet", "class", "x\u{0}y", "猫",
                ])
                .to_string(),
            ),
            4 => Value::String(rng.pick(&SWEEP_KEYS).to_string()),
            5 => Value::Datetime("1979-05-27T07:32:00Z".parse().unwrap()),
            6 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
            _ => {
                let mut t = toml::Table::new();
                for _ in 0..rng.below(3) {
                    t.insert(
                        rng.pick(&["window", "stride", "step", "a"]).to_string(),
                        value(rng, depth + 1),
                    );
                }
                Value::Table(t)
            }
        }
    }
    // Every key of the schema with a value of the right type.
    let good = |text: &str| -> Value {
        toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
    };
    let schema: [(&str, &[(&str, &str)]); 8] = [
        (
            "experiment",
            &[
                ("name", "\"fuzz\""),
                ("description", "\"d\""),
                ("seed", "3"),
            ],
        ),
        (
            "model",
            &[
                ("path", "\"m.onnx\""),
                ("preprocess", "\"caffe\""),
                ("mean", "[0.5, 0.5, 0.5]"),
                ("std", "[0.2, 0.2, 0.2]"),
                ("resize", "256"),
                ("crop", "224"),
                ("labels", "\"l.txt\""),
                ("layer", "\"auto\""),
                ("head", "{ train_root = \"t\", epochs = 3 }"),
            ],
        ),
        (
            "runtime",
            &[
                ("device", "\"cpu\""),
                ("threads", "1"),
                ("batch", "8"),
                ("library", "\"o.so\""),
            ],
        ),
        (
            "data",
            &[
                ("kind", "\"list\""),
                ("root", "\"r\""),
                ("images", "[\"a.png\"]"),
                ("csv", "\"c.csv\""),
                ("limit", "3"),
                ("per_class", "1"),
                ("split", "\"validation\""),
                ("extra", "[{ kind = \"folder\", root = \"f\" }]"),
            ],
        ),
        (
            "targets",
            &[("mode", "\"class\""), ("class", "\"tench\""), ("k", "2")],
        ),
        (
            "methods",
            &[
                ("occlusion", "{ window = 8, stride = 4 }"),
                ("saliency", "{}"),
                ("gradcam", "{ layer = \"x\" }"),
                ("rise", "{ masks = 10 }"),
            ],
        ),
        (
            "metrics",
            &[
                ("list", "[\"deletion\"]"),
                ("deletion", "{ step = 0.1 }"),
                ("insertion", "{}"),
            ],
        ),
        (
            "output",
            &[
                ("figures", "false"),
                ("grid_images", "2"),
                ("panels", "\"two\""),
            ],
        ),
    ];
    let mut root = toml::Table::new();
    for (section, keys) in schema {
        if !rng.chance(0.9) {
            continue;
        }
        let mut t = toml::Table::new();
        for (key, right) in keys.iter() {
            if rng.chance(0.4) {
                let v = if rng.chance(0.95) {
                    good(right)
                } else {
                    value(rng, 0)
                };
                t.insert(key.to_string(), v);
            }
        }
        // Mostly the right shapes for the required keys, so typing gets further.
        match section {
            "experiment" if rng.chance(0.95) => {
                t.insert("name".into(), Value::String("fuzz".into()));
            }
            "model" if rng.chance(0.95) => {
                t.insert("path".into(), Value::String("m.onnx".into()));
            }
            "data" if rng.chance(0.95) => {
                t.insert("kind".into(), Value::String("list".into()));
            }
            "methods" if rng.chance(0.95) => {
                let mut occ = toml::Table::new();
                occ.insert("window".into(), Value::Integer(32));
                t.insert("occlusion".into(), Value::Table(occ));
            }
            _ => {}
        }
        root.insert(section.to_string(), Value::Table(t));
    }
    if rng.chance(0.6) {
        let mut sweep = toml::Table::new();
        for _ in 0..rng.below(4) {
            let values = (0..rng.below(4)).map(|_| value(rng, 2)).collect();
            sweep.insert(rng.pick(&SWEEP_KEYS).to_string(), Value::Array(values));
        }
        root.insert("sweep".into(), Value::Table(sweep));
    }
    toml::to_string(&root).unwrap_or_default()
}

fn random_sets(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(3))
        .map(|_| {
            format!(
                "{}{}{}",
                rng.pick(&SWEEP_KEYS),
                rng.pick(&["=", "", "==", "= "]),
                rng.pick(&[
                    "8",
                    "\"x\"",
                    "[1,2]",
                    "{a=1}",
                    "",
                    "=",
                    "nan",
                    "[[",
                    "\"\\u0000\""
                ])
            )
        })
        .collect()
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutant.toml");
    let mut tally = Tally::default();
    for_seeds(3000, |seed| {
        let mut rng = Rng::new(seed);
        let base = rng.pick(&texts).clone();
        let bytes = if rng.chance(0.5) {
            mutate_lines(&mut rng, &base, &others).into_bytes()
        } else {
            mutate(&mut rng, base.as_bytes(), &other_bytes)
        };
        let sets = random_sets(&mut rng);
        guarded("toml-mutant", seed, &bytes, &mut tally, || {
            check_config(&path, &bytes, &sets)
        });
    });
    assert_no_panics("mutated experiment files", &tally);
    assert!(
        tally.accepted > 0,
        "no mutant typed: the mutations are too destructive"
    );
}

#[test]
fn config_never_panics_on_generated_configs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.toml");
    let mut tally = Tally::default();
    for_seeds(1500, |seed| {
        let mut rng = Rng::new(seed);
        let text = generated_config(&mut rng);
        let sets = random_sets(&mut rng);
        guarded("toml-generated", seed, text.as_bytes(), &mut tally, || {
            check_config(&path, text.as_bytes(), &sets)
        });
    });
    assert_no_panics("generated configs", &tally);
    assert!(tally.accepted > 0, "no generated config typed");
}

#[test]
fn config_never_panics_on_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.toml");
    let mut tally = Tally::default();
    for_seeds(1000, |seed| {
        let bytes = random_bytes(&mut Rng::new(seed));
        guarded("toml-random", seed, &bytes, &mut tally, || {
            check_config(&path, &bytes, &[])
        });
    });
    assert_no_panics("random bytes as TOML", &tally);
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
