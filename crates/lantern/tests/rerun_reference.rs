//! A rerun of a stored reference run gives the same bytes. The reference (`fixtures/
//! reference-run/`: the experiment, the SHA-256 of every output file, and the score table in
//! full for a readable diff) was produced by the code before the issue-13 refactor, so a
//! refactor that changes any map, figure, table or page fails here.
//!
//! Fields that legitimately vary are removed before hashing, and only those: timings
//! (`seconds`, `metric_seconds`, occlusion's `measured_seconds`, curves' `cost.seconds`, the `*seconds*` columns of
//! scores.csv, the `seconds` rows of the summary tables, the manifest's `timings_seconds`), the peak memory, the git revision, the absolute path of the ONNX
//! Runtime library, and the absolute output folder (which `index.html` names in its image
//! `alt` texts), and the gradient-graph revision in the items' `result_key`. `scores.parquet` holds the timings in binary form and is left out (scores.csv
//! carries the same table). The manifest is compared as JSON without those fields; the page's
//! manifest dump is cut from `index.html` for the same reason.
//!
//! Re-blessed once since (2026-12-05), for intended output changes only: issue 14's figure
//! clipping and titles (figures, index.html) and issue 16's occlusion plan columns (occlusion
//! items, scores.csv); every map, curve and summary kept its bytes.
//!
//! Regenerate (only when a change of numbers is intended, e.g. a gradient-graph revision):
//! `LANTERN_BLESS_REFERENCE=1 cargo test --release -p lantern --test rerun_reference`.

mod common;
use common::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

const EXPERIMENT: &str = "crates/lantern/tests/fixtures/reference-run/experiment.toml";

fn fixture(name: &str) -> std::path::PathBuf {
    root()
        .join("crates/lantern/tests/fixtures/reference-run")
        .join(name)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push(rel.replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn without_keys(value: &mut serde_json::Value, keys: &[&str]) {
    if let Some(map) = value.as_object_mut() {
        for k in keys {
            map.remove(*k);
        }
    }
}

/// scores.csv without the columns that hold timings.
fn scores_without_timings(text: &str) -> String {
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    let keep: Vec<bool> = header.iter().map(|h| !h.contains("seconds")).collect();
    let mut out = String::new();
    for line in text.lines() {
        // No cell before or among the timing columns holds a comma (ids, names, numbers), so a
        // split on commas finds them; the quoted `notes` column comes last and is kept whole.
        let cells: Vec<&str> = line.splitn(header.len(), ',').collect();
        let kept: Vec<&str> = cells
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| *c)
            .collect();
        out.push_str(&kept.join(","));
        out.push('\n');
    }
    out
}

/// A row of the summary tables that holds a method's mean time.
fn timing_row(line: &str) -> bool {
    line.contains("| seconds |") || line.contains(",seconds,")
}

/// The bytes a file is compared by, with the varying fields taken out; `None` = not compared.
fn normalised(out: &Path, rel: &str) -> Option<Vec<u8>> {
    let bytes = std::fs::read(out.join(rel)).unwrap();
    if rel == "scores.parquet" {
        return None;
    }
    if rel == "scores.csv" {
        return Some(scores_without_timings(&String::from_utf8(bytes).unwrap()).into_bytes());
    }
    if rel == "manifest.json" {
        let mut m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        without_keys(&mut m, &["timings_seconds", "peak_rss_mb", "git_revision"]);
        without_keys(&mut m["onnxruntime"], &["library"]);
        return Some(serde_json::to_vec_pretty(&m).unwrap());
    }
    if rel.starts_with("curves/") {
        let mut curves: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for c in curves.as_array_mut().unwrap() {
            without_keys(&mut c["cost"], &["seconds"]);
        }
        return Some(serde_json::to_vec(&curves).unwrap());
    }
    if rel == "summary.md" || rel == "summary.csv" {
        let text = String::from_utf8(bytes).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !timing_row(l)).collect();
        return Some(kept.join("\n").into_bytes());
    }
    if rel.starts_with("items/") {
        let mut row: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        without_keys(&mut row, &["seconds"]);
        without_keys(&mut row["stats"], &["metric_seconds", "measured_seconds"]);
        // The key names the gradient-graph revision, bumped when graphs change shape even
        // where the numbers stay (the maps and scores are compared in full).
        if let Some(key) = row["result_key"].as_str() {
            let kept = key.split(":graph-").next().unwrap_or(key).to_string();
            row["result_key"] = serde_json::Value::String(kept);
        }
        return Some(serde_json::to_vec_pretty(&row).unwrap());
    }
    if rel == "index.html" {
        let text = String::from_utf8(bytes).unwrap();
        let cut = text.find("<h2>Manifest</h2>").unwrap_or(text.len());
        let text = text[..cut].replace(&out.display().to_string(), "$OUT");
        let rows: Vec<&str> = text
            .split("<tr>")
            .filter(|r| !r.contains("<td>seconds</td>"))
            .collect();
        let text = rows.join("<tr>");
        return Some(text.into_bytes());
    }
    Some(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_rerun_of_the_reference_run_gives_the_stored_bytes() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_ok(Path::new(EXPERIMENT), &out, &[]);

    let mut digests = BTreeMap::new();
    for rel in files(&out) {
        if let Some(bytes) = normalised(&out, &rel) {
            digests.insert(rel, sha256_hex(&bytes));
        }
    }
    let scores = String::from_utf8(normalised(&out, "scores.csv").unwrap()).unwrap();
    if std::env::var_os("LANTERN_BLESS_REFERENCE").is_some() {
        std::fs::write(
            fixture("digests.json"),
            serde_json::to_vec_pretty(&digests).unwrap(),
        )
        .unwrap();
        std::fs::write(fixture("scores.csv"), &scores).unwrap();
        return;
    }

    assert_eq!(
        scores,
        std::fs::read_to_string(fixture("scores.csv")).unwrap(),
        "scores.csv (timing columns removed)"
    );
    let stored: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(fixture("digests.json")).unwrap()).unwrap();
    let differing: Vec<&String> = stored
        .keys()
        .chain(digests.keys())
        .filter(|k| stored.get(*k) != digests.get(*k))
        .collect();
    assert!(
        differing.is_empty(),
        "outputs differ from the reference run (missing, extra or changed): {differing:?}"
    );
}
