//! One row per finished (or failed) work item, stored as `items/<id>.json` the moment the item
//! finishes (atomically) and assembled into `scores.parquet` / `scores.csv` at the end, so an
//! interrupted run keeps every finished item and a rerun skips them.

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub item: String,
    pub image: String,
    pub path: String,
    pub label: Option<i64>,
    pub label_name: Option<String>,
    pub method: String,
    /// Sweep point label (`window=32,stride=14`), empty without a sweep.
    pub point: String,
    /// Sweep parameter values by their sweep key.
    pub params: BTreeMap<String, String>,
    pub target: Option<i64>,
    pub target_name: Option<String>,
    pub target_probability: Option<f64>,
    pub predicted: Option<i64>,
    pub predicted_name: Option<String>,
    pub predicted_probability: Option<f64>,
    pub seconds: f64,
    pub forward_passes: i64,
    pub backward_passes: i64,
    /// Map statistics (min, max, mean, std of the raw map) and method stats (e.g. IG gap).
    #[serde(deserialize_with = "numbers_or_nan")]
    pub stats: BTreeMap<String, f64>,
    /// Metric values: `deletion_auc`, `insertion_auc`, `average_drop`, …; NaN = missing
    /// (e.g. a pointing game for an image without boxes).
    #[serde(deserialize_with = "numbers_or_nan")]
    pub metrics: BTreeMap<String, f64>,
    pub map_file: Option<String>,
    /// sha256 of the map file, checked when a rerun decides to skip this item.
    pub map_sha256: Option<String>,
    pub figure_file: Option<String>,
    pub status: String,
    pub error: Option<String>,
    /// Images the item's input needed notes for (e.g. RGBA converted).
    pub notes: Vec<String>,
    /// What the result was computed from ([`crate::run::store::result_key`]: the config hash and
    /// Lantern's results revision); a rerun reuses the row only when it matches, so editing a
    /// method parameter or upgrading Lantern recomputes instead of mixing old results in.
    #[serde(default)]
    pub result_key: String,
}

/// JSON has no NaN: serde_json writes it as `null`; read `null` back as NaN.
fn numbers_or_nan<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, f64>, D::Error> {
    let map: BTreeMap<String, Option<f64>> = Deserialize::deserialize(d)?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

impl Row {
    /// A row standing for an item whose JSON file exists but cannot be read back, so the item
    /// is reported (and rerun on resume) instead of vanishing from the tables.
    pub fn unreadable(item: &str, file: &Path, error: &str) -> Row {
        Row {
            item: item.to_string(),
            status: "failed".into(),
            error: Some(format!("cannot read {}: {error}", file.display())),
            ..Row::default()
        }
    }

    pub fn failed(&self) -> bool {
        self.status != "ok"
    }
}

/// The sorted union over `rows` of the keys `keys` gives for each row.
fn union_of_keys<'a>(rows: &'a [Row], keys: impl Fn(&'a Row) -> Vec<&'a String>) -> Vec<String> {
    let mut k: Vec<String> = rows.iter().flat_map(keys).cloned().collect();
    k.sort();
    k.dedup();
    k
}

/// The metric names any of `rows` has a value for, sorted: the metric columns of the scores
/// table.
pub fn metric_names(rows: &[Row]) -> Vec<String> {
    union_of_keys(rows, |r| r.metrics.keys().collect())
}

/// A column named `name` of `value` over the rows.
fn column<T, Phantom: ?Sized>(name: &str, rows: &[Row], value: impl Fn(&Row) -> T) -> Column
where
    Series: NamedFrom<Vec<T>, Phantom>,
{
    Column::new(name.into(), rows.iter().map(value).collect::<Vec<T>>())
}

/// Builds the scores table: fixed columns, then one column per sweep parameter, stat and metric
/// (union over rows, sorted), so every run of the same config has the same columns.
pub fn scores_frame(rows: &[Row]) -> Result<DataFrame> {
    let text = |name: &str, value: &dyn Fn(&Row) -> Option<String>| column(name, rows, value);
    let mut columns: Vec<Column> = vec![
        text("item", &|r| Some(r.item.clone())),
        text("image", &|r| Some(r.image.clone())),
        text("path", &|r| Some(r.path.clone())),
        column("label", rows, |r| r.label),
        text("label_name", &|r| r.label_name.clone()),
        text("method", &|r| Some(r.method.clone())),
        text("point", &|r| Some(r.point.clone())),
    ];
    for key in union_of_keys(rows, |r| r.params.keys().collect()) {
        let values: Vec<Option<String>> =
            rows.iter().map(|r| r.params.get(&key).cloned()).collect();
        let numeric: Option<Vec<Option<f64>>> = values
            .iter()
            .map(|v| match v {
                None => Some(None),
                Some(s) => s.parse::<f64>().ok().map(Some),
            })
            .collect();
        let name = format!("param.{key}");
        columns.push(match numeric {
            Some(nums) => Column::new(name.into(), nums),
            None => Column::new(name.into(), values),
        });
    }
    columns.extend([
        column("target", rows, |r| r.target),
        text("target_name", &|r| r.target_name.clone()),
        column("target_probability", rows, |r| r.target_probability),
        column("predicted", rows, |r| r.predicted),
        text("predicted_name", &|r| r.predicted_name.clone()),
        column("predicted_probability", rows, |r| r.predicted_probability),
        column("seconds", rows, |r| r.seconds),
        column("forward_passes", rows, |r| r.forward_passes),
        column("backward_passes", rows, |r| r.backward_passes),
    ]);
    for key in metric_names(rows) {
        columns.push(column(&key, rows, |r| r.metrics.get(&key).copied()));
    }
    for key in union_of_keys(rows, |r| r.stats.keys().collect()) {
        columns.push(column(&format!("stat.{key}"), rows, |r| {
            r.stats.get(&key).copied()
        }));
    }
    columns.extend([
        text("status", &|r| Some(r.status.clone())),
        text("error", &|r| r.error.clone()),
        text("map_file", &|r| r.map_file.clone()),
        text("figure_file", &|r| r.figure_file.clone()),
        text("notes", &|r| Some(r.notes.join("; "))),
    ]);
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Writes `scores.parquet` and `scores.csv` (each atomically) into `dir`.
pub fn write_scores(dir: &Path, rows: &[Row], stem: &str) -> Result<()> {
    let mut df = scores_frame(rows)?;
    let parquet = dir.join(format!("{stem}.parquet"));
    let csv = dir.join(format!("{stem}.csv"));
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| anyhow::anyhow!("encoding {}: {e}", parquet.display()))?;
    crate::files::write_bytes(&parquet, &bytes)?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(&mut df)
        .map_err(|e| anyhow::anyhow!("encoding {}: {e}", csv.display()))?;
    crate::files::write_bytes(&csv, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_metrics_survive_the_json_round_trip_as_nan() {
        let mut row = Row::unreadable("x", Path::new("items/x.json"), "test");
        row.metrics.insert("pointing_game".into(), f64::NAN);
        row.metrics.insert("deletion_auc".into(), 0.25);
        let back: Row = serde_json::from_slice(&serde_json::to_vec(&row).unwrap()).unwrap();
        assert!(back.metrics["pointing_game"].is_nan());
        assert_eq!(back.metrics["deletion_auc"], 0.25);
        assert!(back.failed() && back.error.unwrap().contains("items/x.json"));
    }
}
