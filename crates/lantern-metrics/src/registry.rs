//! Metric names → what scoring a map with them computes. The names are the public interface
//! (configs, `--metrics`, column names); add to this table, never rename. Settings come from
//! `[metrics.<name>]` tables (e.g. `[metrics.deletion] step = 224, substrate = "zeros"`); only
//! deletion and insertion take any.

use crate::causal::{CausalCurve, CausalKind, CausalSettings, Step, Substrate};
use crate::classifier::Score;
use crate::confidence::ConfidenceMask;
use crate::error::{MetricsError, Result};
use crate::pointing::Region;
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

/// One setting's value, as a config table or command line gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for SettingValue {
    /// TOML's spelling, so a message quotes the setting as the user wrote it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingValue::Int(v) => write!(f, "{v}"),
            SettingValue::Float(v) => write!(f, "{v:?}"),
            SettingValue::Bool(v) => write!(f, "{v}"),
            SettingValue::Text(v) => write!(f, "{v:?}"),
        }
    }
}

/// The settings of one metric (`[metrics.<name>]`), by key.
pub type Settings = BTreeMap<String, SettingValue>;

/// The registered name for `name`, or an error listing the names.
fn registered(name: &str) -> Result<&'static str> {
    METRICS
        .iter()
        .copied()
        .find(|m| *m == name)
        .ok_or_else(|| MetricsError::UnknownMetric {
            name: name.to_string(),
            available: METRICS.join(", "),
        })
}

pub fn check_names(names: &[String]) -> Result<()> {
    for n in names {
        registered(n)?;
    }
    Ok(())
}

/// Checks one `[metrics.<name>]` table before any work: it names a metric and holds only
/// settings that metric takes.
pub fn check_settings(name: &str, settings: &Settings) -> Result<()> {
    let metric = registered(name)?;
    match metric {
        "deletion" => drop(causal_settings(CausalKind::Deletion, Some(settings), 1)?),
        "insertion" => drop(causal_settings(CausalKind::Insertion, Some(settings), 1)?),
        other => {
            if !settings.is_empty() {
                return Err(crate::error::setting_error(other, "takes no settings"));
            }
        }
    }
    Ok(())
}

fn causal_settings(
    kind: CausalKind,
    settings: Option<&Settings>,
    batch: usize,
) -> Result<CausalSettings> {
    let mut s = CausalSettings::of(kind);
    s.batch_size = batch;
    let Some(settings) = settings else {
        return Ok(s);
    };
    let name = kind.name();
    let bad = |message: String| crate::error::setting_error(name, message);
    for (key, value) in settings {
        match (key.as_str(), value) {
            ("step", SettingValue::Int(p)) if *p > 0 => s.step = Step::Pixels(*p as usize),
            ("step", SettingValue::Float(f)) => s.step = Step::Fraction(*f),
            ("substrate", SettingValue::Text(t)) => {
                s.substrate = match t.as_str() {
                    "zeros" => Substrate::Zeros,
                    "blur" => Substrate::RISE_BLUR,
                    "mean" => Substrate::Mean,
                    other => {
                        return Err(bad(format!(
                            "substrate = {other:?}: expected zeros, blur, mean or a number"
                        )));
                    }
                }
            }
            ("substrate", SettingValue::Float(v)) => s.substrate = Substrate::Constant(*v as f32),
            ("substrate", SettingValue::Int(v)) => s.substrate = Substrate::Constant(*v as f32),
            ("score", SettingValue::Text(t)) => {
                s.score = match t.as_str() {
                    "probability" => Score::Probability,
                    "logit" => Score::Logit,
                    other => {
                        return Err(bad(format!(
                            "score = {other:?}: expected probability or logit"
                        )));
                    }
                }
            }
            ("batch", SettingValue::Int(b)) if *b > 0 => s.batch_size = *b as usize,
            (k, v) => {
                return Err(bad(format!(
                    "{k} = {v}: unknown setting or bad value (settings: step, substrate, score, batch)"
                )));
            }
        }
    }
    Ok(s)
}

/// What scoring one map produced: columns for the scores table and curves for curves.parquet.
#[derive(Default)]
pub struct MapScores {
    pub values: BTreeMap<String, f64>,
    pub curves: Vec<CausalCurve>,
    pub forward_passes: usize,
    pub seconds: f64,
}

/// Scores `map` (`[H,W]`, input resolution) of `image` for `target` with each named metric.
#[allow(clippy::too_many_arguments)]
pub fn score_map(
    model: &Model,
    image: ArrayView3<f32>,
    map: &Array2<f32>,
    target: usize,
    names: &[String],
    settings: &BTreeMap<String, Settings>,
    batch: usize,
    clean_logits: Option<ArrayView1<f32>>,
    region: Option<&Region>,
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
                let curve =
                    crate::causal_curve(model, image, map.view(), target, &s, clean_logits)?;
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
                let change =
                    crate::confidence_change(model, image, map.view(), target, mask, clean_logits)?;
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
                        let hit = crate::pointing_game(
                            map.view(),
                            r,
                            crate::pointing::DEFAULT_TOLERANCE,
                        )?
                        .hit;
                        if hit { 1.0 } else { 0.0 }
                    }
                    Some(r) => crate::energy_pointing_game(map.view(), r)?,
                };
                out.values.insert(name.replace('-', "_"), value);
            }
            _ => unreachable!("checked above"),
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, SettingValue)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn unknown_names_and_settings_are_refused_with_what_is_valid() {
        let err = check_names(&["delection".into()]).unwrap_err().to_string();
        assert!(
            err.contains("delection") && err.contains("insertion"),
            "{err}"
        );
        let err = check_settings(
            "deletion",
            &settings(&[("stepp", SettingValue::Float(0.1))]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("stepp") && err.contains("substrate"), "{err}");
        let err = check_settings("pointing-game", &settings(&[("x", SettingValue::Int(1))]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes no settings"), "{err}");
        assert!(
            check_settings(
                "insertion",
                &settings(&[
                    ("step", SettingValue::Int(224)),
                    ("substrate", SettingValue::Text("blur".into())),
                    ("score", SettingValue::Text("logit".into())),
                ])
            )
            .is_ok()
        );
    }
}
