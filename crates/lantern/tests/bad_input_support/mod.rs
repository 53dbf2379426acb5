//! Helpers of `bad_input.rs`: experiment files, runs, `scores.csv` rows and the assertions on
//! them, and tiny ONNX models built in code.

#![allow(dead_code, reason = "bad_input.rs uses a subset")]

use crate::common::*;
use lantern_graph::ir::{make_node, tensor_f32, value_info};
use lantern_graph::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, tensor_proto::DataType,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

// ---------------------------------------------------------------------------------------------
// Helpers

/// An experiment on `model` with coarse occlusion (and whatever `methods`/`extra` add).
pub fn experiment_text(model: &Path, data: &str, methods: &str, extra: &str) -> String {
    format!(
        r#"{header}
[runtime]
threads = 1
batch = 8

{data}

{methods}

[output]
figures = false
{extra}
"#,
        header = experiment_header("bad-input", model),
    )
}

/// Two photos of different classes.
pub const CAT_DOG_AND_TENCH: [&str; 2] = [
    "photos/cat_dog.png",
    "imagenet/samples/n01440764_tench.JPEG",
];

pub const OCCLUSION: &str = "[methods.occlusion]\nwindow = 112\nstride = 112\n";

/// An experiment `name` in `dir`: coarse occlusion of `photos/cat_dog.png` on `model`.
pub fn cat_dog_experiment(dir: &Path, name: &str, model: &Path) -> PathBuf {
    experiment(dir, name, &cat_dog_text(model))
}

/// The text of [`cat_dog_experiment`].
pub fn cat_dog_text(model: &Path) -> String {
    experiment_text(model, &list_data(&[cat_dog()]), OCCLUSION, "")
}

/// RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) → rows of cells.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// `scores.csv` as one map (column → cell) per row.
pub fn scores(out: &Path) -> Vec<BTreeMap<String, String>> {
    let path = out.join("scores.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the run must write it)", path.display()));
    let mut rows = parse_csv(&text).into_iter();
    let header = rows.next().expect("header");
    rows.map(|r| {
        assert_eq!(r.len(), header.len(), "ragged row {r:?}");
        header.iter().cloned().zip(r).collect()
    })
    .collect()
}

/// The one row whose `path` ends with `name`.
pub fn row_for<'a>(
    rows: &'a [BTreeMap<String, String>],
    name: &str,
) -> &'a BTreeMap<String, String> {
    let found: Vec<_> = rows.iter().filter(|r| r["path"].ends_with(name)).collect();
    assert_eq!(found.len(), 1, "expected one row for {name}: {rows:#?}");
    found[0]
}

pub fn assert_failed_with(row: &BTreeMap<String, String>, needles: &[&str]) {
    assert_eq!(row["status"], "failed", "{row:#?}");
    for n in needles {
        assert!(
            row["error"].contains(n),
            "error of {} lacks {n:?}: {}",
            row["item"],
            row["error"]
        );
    }
}

pub fn assert_ok_with_note(row: &BTreeMap<String, String>, note: &str) {
    assert_eq!(row["status"], "ok", "{row:#?}");
    assert!(row["error"].is_empty(), "{row:#?}");
    assert!(
        row["notes"].contains(note),
        "notes of {} lack {note:?}: {:?}",
        row["item"],
        row["notes"]
    );
    assert!(
        row["map_file"].ends_with(".npy"),
        "an ok item has a map: {row:#?}"
    );
}

/// The stderr summary line `<name>: N ok, M failed → …` and the exit status agree.
pub fn assert_summary(o: &Output, ok: usize, failed: usize) {
    let err = stderr(o);
    assert!(
        err.contains(&format!("{ok} ok, {failed} failed")),
        "expected \"{ok} ok, {failed} failed\" in stderr:\n{err}"
    );
    if failed > 0 {
        assert!(!o.status.success(), "failed items need a non-zero exit");
        assert!(
            err.contains(&format!("{failed} item(s) failed")),
            "stderr must say how many failed:\n{err}"
        );
    } else {
        assert!(o.status.success(), "{err}");
    }
}

/// The run's other artifacts exist: it completed despite the failures.
pub fn assert_completed(out: &Path) {
    for f in [
        "scores.csv",
        "scores.parquet",
        "manifest.json",
        "index.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing in {}", out.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Tiny hand-built ONNX models

pub const FLOAT: i32 = DataType::Float as i32;

/// A model with one float input (`None` dims are the symbolic batch `N`) and one output.
pub fn onnx_model(
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    input: (&str, &[Option<i64>]),
    output: &str,
) -> Vec<u8> {
    let model = ModelProto {
        ir_version: Some(8),
        producer_name: Some("lantern bad_input tests".into()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("tiny".into()),
            node: nodes,
            initializer: initializers,
            input: vec![value_info(input.0, FLOAT, Some(input.1), "N")],
            output: vec![value_info(output, FLOAT, None, "N")],
            ..Default::default()
        }),
        ..Default::default()
    };
    lantern_graph::encode_model(&model)
}

pub const IMAGE: (&str, &[Option<i64>]) = ("image", &[None, Some(3), Some(224), Some(224)]);

/// `image` → `first` (nodes that keep [N,3,224,224]) → global average pool → flatten →
/// Gemm to 4 classes, then `last` nodes reading `gemm` and writing `logits`.
pub fn tiny_classifier(
    first: Vec<NodeProto>,
    last: Vec<NodeProto>,
    extra: Vec<TensorProto>,
) -> Vec<u8> {
    let pooled_from = first
        .last()
        .map(|n| n.output[0].clone())
        .unwrap_or_else(|| "image".into());
    let gemm_out = if last.is_empty() { "logits" } else { "gemm" };
    let mut nodes = first;
    nodes.push(make_node(
        "GlobalAveragePool",
        &[&pooled_from],
        &["pooled"],
        "pool",
        vec![],
    ));
    nodes.push(make_node(
        "Flatten",
        &["pooled"],
        &["flat"],
        "flatten",
        vec![],
    ));
    nodes.push(make_node(
        "Gemm",
        &["flat", "w", "b"],
        &[gemm_out],
        "classifier",
        vec![],
    ));
    nodes.extend(last);
    let weights: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect();
    let mut inits = vec![
        tensor_f32("w", &[3, 4], &weights),
        tensor_f32("b", &[4], &[0.1, -0.2, 0.3, 0.05]),
    ];
    inits.extend(extra);
    onnx_model(nodes, inits, IMAGE, "logits")
}

/// An op without a reverse-mode rule in lantern-graph, on the path from the input to the logits.
pub fn op_without_gradient_rule() -> &'static str {
    let supported = lantern_graph::supported_ops();
    ["Cos", "Sin", "Floor", "Round", "Sign"]
        .into_iter()
        .find(|op| !supported.contains(op))
        .expect("one of these elementwise ops has no gradient rule")
}
