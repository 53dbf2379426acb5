//! Scoring a map with the metrics a config or `--metrics` names: the `[metrics.<name>]` TOML
//! tables become `lantern-metrics` settings; the metrics themselves and their names live in
//! `lantern_metrics::registry`.

use anyhow::{Result, anyhow};
use lantern_metrics::registry::{self, SettingValue, Settings};
use lantern_metrics::{MapScores, MetricsError};
use std::collections::BTreeMap;

/// `{"deletion": {"auc": …, "curve": […], "settings": …}, "insertion": …, "average_drop": …}`.
pub fn scores_json(scores: &MapScores) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for c in &scores.curves {
        out.insert(
            c.kind.name().to_string(),
            serde_json::json!({
                "auc": c.auc, "curve": c.curve, "logit_curve": c.logit_curve, "fractions": c.fractions,
                "step_pixels": c.step_pixels, "n_steps": c.n_steps, "settings": c.settings,
                "forward_passes": c.cost.forward_passes, "seconds": c.cost.seconds,
            }),
        );
    }
    for (k, v) in &scores.values {
        if !k.ends_with("_auc") {
            out.insert(k.clone(), serde_json::json!(v));
        }
    }
    serde_json::Value::Object(out)
}

pub fn check_names(names: &[String]) -> Result<()> {
    Ok(registry::check_names(names)?)
}

/// A `[metrics.<name>]` table as the registry's settings.
fn settings_of(name: &str, table: &toml::Value) -> Result<Settings> {
    let table = table
        .as_table()
        .ok_or_else(|| anyhow!("[metrics.{name}] must be a table"))?;
    table
        .iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::Integer(i) => SettingValue::Int(*i),
                toml::Value::Float(f) => SettingValue::Float(*f),
                toml::Value::Boolean(b) => SettingValue::Bool(*b),
                toml::Value::String(s) => SettingValue::Text(s.clone()),
                other => anyhow::bail!("[metrics.{name}] {k} = {other}: unknown setting or bad value (settings: step, substrate, score, batch)"),
            };
            Ok((k.clone(), value))
        })
        .collect()
}

/// Checks one `[metrics.<name>]` table before any work; the message starts with the table.
pub fn check_settings(name: &str, table: &toml::Value) -> Result<()> {
    let settings = settings_of(name, table)?;
    registry::check_settings(name, &settings).map_err(|e| match e {
        MetricsError::Setting { message, .. } => anyhow!("[metrics.{name}] {message}"),
        MetricsError::UnknownMetric { available, .. } => {
            anyhow!("[metrics.{name}]: {name:?} is not a metric; available: {available}")
        }
        other => other.into(),
    })
}

/// The `[metrics.<name>]` tables as the registry's settings, for `lantern_metrics::score_map`.
pub fn metric_settings(
    tables: &BTreeMap<String, toml::Value>,
) -> Result<BTreeMap<String, Settings>> {
    tables
        .iter()
        .map(|(name, table)| Ok((name.clone(), settings_of(name, table)?)))
        .collect()
}
