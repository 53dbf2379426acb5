//! Scoring a map with the metrics a config or `--metrics` names. Settings come from
//! `[metrics.<name>]` tables (e.g. `[metrics.deletion] step = 224, substrate = "zeros"`).

use anyhow::{Result, anyhow, bail};
use lantern_metrics::{
    CausalCurve, CausalKind, CausalSettings, ConfidenceMask, Score, Step, Substrate,
};
use lantern_runtime::Model;
use ndarray::{Array2, ArrayView1, ArrayView3};
use std::collections::BTreeMap;

/// Every metric name Lantern scores maps with.
pub const METRICS: &[&str] = &[
    "deletion",
    "insertion",
    "average-drop",
    "average-drop-top50",
    "pointing-game",
    "energy-pointing-game",
];

/// What scoring one map produced: columns for the scores table and curves for curves.parquet.
#[derive(Default)]
pub struct MapScores {
    pub values: BTreeMap<String, f64>,
    pub curves: Vec<CausalCurve>,
    pub forward_passes: usize,
    pub seconds: f64,
}

impl MapScores {
    /// `{"deletion": {"auc": …, "curve": […], "settings": …}, "insertion": …, "average_drop": …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for c in &self.curves {
            out.insert(
                c.kind.name().to_string(),
                serde_json::json!({
                    "auc": c.auc, "curve": c.curve, "logit_curve": c.logit_curve, "fractions": c.fractions,
                    "step_pixels": c.step_pixels, "n_steps": c.n_steps, "settings": c.settings,
                    "forward_passes": c.cost.forward_passes, "seconds": c.cost.seconds,
                }),
            );
        }
        for (k, v) in &self.values {
            if !k.ends_with("_auc") {
                out.insert(k.clone(), serde_json::json!(v));
            }
        }
        serde_json::Value::Object(out)
    }
}

pub fn check_names(names: &[String]) -> Result<()> {
    for n in names {
        if !METRICS.contains(&n.as_str()) {
            bail!("unknown metric {n:?}; available: {}", METRICS.join(", "));
        }
    }
    Ok(())
}

/// Checks `[metrics.<name>]` tables before any work: every table names a metric and holds
/// only settings that metric takes.
pub fn check_settings(settings: &BTreeMap<String, toml::Value>) -> Result<()> {
    for (name, table) in settings {
        match name.as_str() {
            "deletion" => drop(causal_settings(CausalKind::Deletion, Some(table), 1)?),
            "insertion" => drop(causal_settings(CausalKind::Insertion, Some(table), 1)?),
            other if METRICS.contains(&other) => {
                if table.as_table().is_some_and(|t| !t.is_empty()) {
                    bail!("[metrics.{other}] takes no settings");
                }
            }
            other => bail!(
                "[metrics.{other}]: {other:?} is not a metric; available: {}",
                METRICS.join(", ")
            ),
        }
    }
    Ok(())
}

fn causal_settings(
    kind: CausalKind,
    table: Option<&toml::Value>,
    batch: usize,
) -> Result<CausalSettings> {
    let mut s = CausalSettings::of(kind);
    s.batch_size = batch;
    let Some(table) = table else { return Ok(s) };
    let name = kind.name();
    let table = table
        .as_table()
        .ok_or_else(|| anyhow!("[metrics.{name}] must be a table"))?;
    for (key, value) in table {
        match (key.as_str(), value) {
            ("step", toml::Value::Integer(p)) if *p > 0 => s.step = Step::Pixels(*p as usize),
            ("step", toml::Value::Float(f)) => s.step = Step::Fraction(*f),
            ("substrate", toml::Value::String(t)) => {
                s.substrate = match t.as_str() {
                    "zeros" => Substrate::Zeros,
                    "blur" => Substrate::RISE_BLUR,
                    "mean" => Substrate::Mean,
                    other => bail!(
                        "[metrics.{name}] substrate = {other:?}: expected zeros, blur, mean or a number"
                    ),
                }
            }
            ("substrate", toml::Value::Float(v)) => s.substrate = Substrate::Constant(*v as f32),
            ("substrate", toml::Value::Integer(v)) => s.substrate = Substrate::Constant(*v as f32),
            ("score", toml::Value::String(t)) => {
                s.score = match t.as_str() {
                    "probability" => Score::Probability,
                    "logit" => Score::Logit,
                    other => {
                        bail!("[metrics.{name}] score = {other:?}: expected probability or logit")
                    }
                }
            }
            ("batch", toml::Value::Integer(b)) if *b > 0 => s.batch_size = *b as usize,
            (k, v) => bail!(
                "[metrics.{name}] {k} = {v}: unknown setting or bad value (settings: step, substrate, score, batch)"
            ),
        }
    }
    Ok(s)
}

/// Scores `map` (`[H,W]`, input resolution) of `image` for `target` with each named metric.
pub fn score_map(
    model: &Model,
    image: ArrayView3<f32>,
    map: &Array2<f32>,
    target: usize,
    names: &[String],
    settings: &BTreeMap<String, toml::Value>,
    batch: usize,
    clean_logits: Option<ArrayView1<f32>>,
    region: Option<&lantern_metrics::Region>,
) -> Result<MapScores> {
    check_names(names)?;
    let started = std::time::Instant::now();
    let mut out = MapScores::default();
    for name in names {
        match name.as_str() {
            "deletion" | "insertion" => {
                let kind = if name == "deletion" {
                    CausalKind::Deletion
                } else {
                    CausalKind::Insertion
                };
                let s = causal_settings(kind, settings.get(name.as_str()), batch)?;
                let curve = lantern_metrics::causal_curve(
                    model,
                    image,
                    map.view(),
                    target,
                    &s,
                    clean_logits,
                )?;
                out.values.insert(format!("{name}_auc"), curve.auc);
                out.forward_passes += curve.cost.forward_passes;
                out.curves.push(curve);
            }
            "average-drop" | "average-drop-top50" => {
                let mask = if name == "average-drop" {
                    ConfidenceMask::Normalised
                } else {
                    ConfidenceMask::SCORE_CAM
                };
                let change = lantern_metrics::confidence_change(
                    model,
                    image,
                    map.view(),
                    target,
                    mask,
                    clean_logits,
                )?;
                let suffix = if name == "average-drop" { "" } else { "_top50" };
                out.values
                    .insert(format!("average_drop{suffix}"), 100.0 * change.drop);
                out.values.insert(
                    format!("increase_in_confidence{suffix}"),
                    if change.increase { 100.0 } else { 0.0 },
                );
                out.forward_passes += change.cost.forward_passes;
            }
            "pointing-game" | "energy-pointing-game" => {
                // Without a box for this image the value is missing (NaN), counted as such in
                // the summary, never silently dropped.
                let value = match region {
                    None => f64::NAN,
                    Some(r) if name == "pointing-game" => {
                        let hit = lantern_metrics::pointing_game(
                            map.view(),
                            r,
                            lantern_metrics::pointing::DEFAULT_TOLERANCE,
                        )?
                        .hit;
                        if hit { 1.0 } else { 0.0 }
                    }
                    Some(r) => lantern_metrics::energy_pointing_game(map.view(), r)?,
                };
                out.values.insert(name.replace('-', "_"), value);
            }
            _ => unreachable!("checked above"),
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}
