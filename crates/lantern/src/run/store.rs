//! What a run keeps on disk between its stages and across reruns: the plan (`plan.json`),
//! one row per finished work item (`items/<id>.json`) and its curves (`curves/<id>.json`), the
//! keys that decide whether a stored row can be reused (config hash, result key), and the
//! fitted head's summary (`head/head.json`). `report`, `figures` and `head` read the run
//! through this module only.

use crate::config::{ExperimentFile, SweepPoint, value_text};
use crate::files::sha256_hex;
use crate::plan::WorkItem;
use crate::rows::Row;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What a run records at its start so that `merge` can assemble the same tables later.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunPlan {
    pub experiment: String,
    pub config_file: PathBuf,
    pub sets: Vec<String>,
    pub config_hash: String,
    pub items: Vec<WorkItem>,
    pub points: Vec<BTreeMap<String, String>>,
    /// Images in the methods grid of the report.
    pub grid_images: usize,
    /// `[output] format` of every figure (left out of `plan.json` when PNG, the default).
    #[serde(default, skip_serializing_if = "is_png")]
    pub figure_format: lantern_plot::FigureFormat,
}

fn is_png(format: &lantern_plot::FigureFormat) -> bool {
    *format == lantern_plot::FigureFormat::Png
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeadSummary {
    pub model_file: PathBuf,
    pub classes: Vec<String>,
    pub feature_tensor: String,
    pub train_images: usize,
    pub validation_images: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub train_accuracy: f64,
    /// NaN (null in JSON) when the validation split is empty.
    #[serde(deserialize_with = "nan_if_null")]
    pub validation_accuracy: f64,
    /// Rows = true class, columns = predicted class, on the validation split.
    pub confusion: Vec<Vec<usize>>,
    pub failed_images: Vec<String>,
    pub cached: bool,
    /// The training source, as `kind root`.
    #[serde(default)]
    pub train_source: String,
    /// Training images the class map left out, by reason.
    #[serde(default)]
    pub train_left_out: BTreeMap<String, usize>,
    /// How training images became feature rows (`[model.head.augment]`), in words.
    #[serde(default)]
    pub augment: Option<String>,
    /// Accuracy on the `[[model.head.evaluate]]` sources (the field leaves), when there are any.
    #[serde(default)]
    pub field_accuracy: Option<f64>,
    /// Images the field accuracy is over.
    #[serde(default)]
    pub field_images: usize,
    /// The per-image table (true, predicted, probability).
    #[serde(default)]
    pub field: Vec<crate::head::field::FieldLeaf>,
    /// Evaluate images the class maps left out, by reason.
    #[serde(default)]
    pub field_left_out: BTreeMap<String, usize>,
}

/// JSON has no NaN: serde_json writes it as null, read back here as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

pub fn point_params(p: &SweepPoint) -> BTreeMap<String, String> {
    p.values
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect()
}

/// The hash of everything that affects results: the resolved config tree (after `--set`),
/// excluding `output.*` display settings. Key order is canonical (sorted), so formatting and
/// comments do not change it.
pub fn config_hash(file: &ExperimentFile, _sets: &[String]) -> Result<String> {
    let mut tree = file.tree.clone();
    tree.remove("output");
    let canonical = serde_json::to_string(&toml::Value::Table(tree))?;
    Ok(sha256_hex(canonical.as_bytes()))
}

/// What a row's result depends on beyond its item id: the config hash and the revision of
/// Lantern's numbers (the crate version and the gradient graphs' revision).
pub fn result_key(config_hash: &str) -> String {
    format!(
        "{config_hash}:lantern-{}:graph-{}",
        env!("CARGO_PKG_VERSION"),
        lantern_graph::autodiff::GRAPH_REVISION
    )
}

/// Rows of items that finished before from the same config and Lantern ([`result_key`]):
/// status ok, map file present with the recorded hash.
pub fn finished_items(
    out_dir: &Path,
    items: &[&WorkItem],
    result_key: &str,
) -> HashMap<String, Row> {
    let mut done = HashMap::new();
    for item in items {
        let Some(row) = read_row(out_dir, &item.id) else {
            continue;
        };
        if row.failed() || row.result_key != result_key {
            continue;
        }
        let intact = match (&row.map_file, &row.map_sha256) {
            (Some(f), Some(h)) => std::fs::read(out_dir.join(f))
                .map(|b| &sha256_hex(&b) == h)
                .unwrap_or(false),
            _ => false,
        };
        if intact {
            done.insert(item.id.clone(), row);
        }
    }
    done
}

/// The item's row: `None` when the item has not finished; a failed row naming the file when
/// the file exists but cannot be read back.
pub fn read_row(out_dir: &Path, id: &str) -> Option<Row> {
    let file = out_dir.join("items").join(format!("{id}.json"));
    let bytes = std::fs::read(&file).ok()?;
    Some(
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| Row::unreadable(id, &file, &e.to_string())),
    )
}

pub fn write_row(out_dir: &Path, row: &Row) -> Result<()> {
    crate::files::write_bytes(
        &out_dir.join("items").join(format!("{}.json", row.item)),
        &serde_json::to_vec_pretty(row)?,
    )
}

pub fn write_curves(
    out_dir: &Path,
    item: &str,
    curves: &[lantern_metrics::CausalCurve],
) -> Result<()> {
    if curves.is_empty() {
        return Ok(());
    }
    crate::files::write_bytes(
        &out_dir.join("curves").join(format!("{item}.json")),
        &serde_json::to_vec(curves)?,
    )
}

pub fn read_curves(dir: &Path, rows: &[Row]) -> BTreeMap<String, Vec<CausalCurveRecord>> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.failed()) {
        if let Ok(bytes) = std::fs::read(dir.join("curves").join(format!("{}.json", r.item)))
            && let Ok(curves) = serde_json::from_slice::<Vec<CausalCurveRecord>>(&bytes)
        {
            out.insert(r.item.clone(), curves);
        }
    }
    out
}

/// The fields of a stored `lantern_metrics::CausalCurve` the report uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CausalCurveRecord {
    pub kind: lantern_metrics::CausalKind,
    pub auc: f64,
    pub curve: Vec<f32>,
    pub fractions: Vec<f64>,
}

pub fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}
