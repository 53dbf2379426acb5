//! Per (method, sweep point, metric) summaries over images: mean, standard deviation and a
//! seeded percentile-bootstrap confidence interval of the mean, written as `summary.csv`
//! (polars) and as a Markdown table.
//!
//! The bootstrap uses lantern-core's SplitMix64 generator, seeded per group from the settings'
//! seed and the group's names (FNV-1a), so the numbers never change with dependency versions or
//! with the order groups arrive in. Each resample draws n images with replacement (unbiased
//! Lemire sampling); the interval is the (α/2, 1 − α/2) percentile of the resampled means with
//! NumPy's linear interpolation. The standard deviation is the sample one (ddof = 1; NaN for a
//! single image). Non-finite values (e.g. a Spearman correlation of a constant map) are left
//! out of a group and counted in `missing`.

use crate::error::{MetricsError, Result};
use crate::rank::quantile_sorted;
use lantern_core::SplitMix64;
use lantern_core::hash::Fnv1a;
use lantern_core::rng::GOLDEN_GAMMA;
use polars::prelude::*;
use std::path::Path;

/// One number for one image: the unit summaries are built from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Observation {
    pub method: String,
    /// The sweep point's label (e.g. `"layer=627"`, `"window=32"`; empty when there is no sweep).
    pub sweep: String,
    /// The metric's name (e.g. `"deletion_auc"`).
    pub metric: String,
    pub value: f64,
}

impl Observation {
    pub fn new(
        method: impl Into<String>,
        sweep: impl Into<String>,
        metric: impl Into<String>,
        value: f64,
    ) -> Observation {
        Observation {
            method: method.into(),
            sweep: sweep.into(),
            metric: metric.into(),
            value,
        }
    }
}

/// One summary row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummaryRow {
    pub method: String,
    pub sweep: String,
    pub metric: String,
    /// Images with a finite value.
    pub n: usize,
    /// Images whose value was NaN or infinite (left out).
    pub missing: usize,
    pub mean: f64,
    pub std: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BootstrapSettings {
    pub resamples: usize,
    /// Coverage of the interval, e.g. 0.95.
    pub confidence: f64,
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            resamples: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// FNV-1a over the group's names, mixed with the seed: a stable per-group stream.
fn group_seed(seed: u64, parts: &[&str]) -> u64 {
    let h = parts.iter().fold(Fnv1a::new(), |h, part| {
        h.bytes(part.as_bytes()).bytes(&[0xFF])
    });
    h.finish() ^ seed.wrapping_mul(GOLDEN_GAMMA)
}

/// Mean, sample standard deviation and bootstrap interval of `values` (all finite).
pub fn describe(values: &[f64], settings: &BootstrapSettings, seed: u64) -> (f64, f64, f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    if settings.resamples == 0 {
        return (mean, std, f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..settings.resamples)
        .map(|_| {
            let mut sum = 0.0;
            for _ in 0..n {
                sum += values[rng.below_lemire(n as u64) as usize];
            }
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - settings.confidence.clamp(0.0, 1.0)) / 2.0;
    (
        mean,
        std,
        quantile_sorted(&means, alpha),
        quantile_sorted(&means, 1.0 - alpha),
    )
}

/// Groups observations by (method, sweep, metric), in order of first appearance, and
/// summarises each group.
pub fn summarise(observations: &[Observation], settings: &BootstrapSettings) -> Vec<SummaryRow> {
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    let mut groups: std::collections::HashMap<(&str, &str, &str), (Vec<f64>, usize)> =
        std::collections::HashMap::new();
    for o in observations {
        let key = (o.method.as_str(), o.sweep.as_str(), o.metric.as_str());
        let entry = groups.entry(key).or_insert_with(|| {
            keys.push(key);
            (Vec::new(), 0)
        });
        if o.value.is_finite() {
            entry.0.push(o.value);
        } else {
            entry.1 += 1;
        }
    }
    keys.into_iter()
        .map(|key| {
            let (values, missing) = &groups[&key];
            let seed = group_seed(settings.seed, &[key.0, key.1, key.2]);
            let (mean, std, ci_low, ci_high) = describe(values, settings, seed);
            SummaryRow {
                method: key.0.to_string(),
                sweep: key.1.to_string(),
                metric: key.2.to_string(),
                n: values.len(),
                missing: *missing,
                mean,
                std,
                ci_low,
                ci_high,
            }
        })
        .collect()
}

/// The rows as a polars frame: method, sweep, metric, n, missing, mean, std, ci_low, ci_high.
pub fn summary_frame(rows: &[SummaryRow]) -> Result<DataFrame> {
    let text = |f: &dyn Fn(&SummaryRow) -> &str| {
        rows.iter()
            .map(|r| f(r).to_string())
            .collect::<Vec<String>>()
    };
    let num = |f: &dyn Fn(&SummaryRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let count =
        |f: &dyn Fn(&SummaryRow) -> usize| rows.iter().map(|r| f(r) as u64).collect::<Vec<u64>>();
    let columns = vec![
        Column::new("method".into(), text(&|r| &r.method)),
        Column::new("sweep".into(), text(&|r| &r.sweep)),
        Column::new("metric".into(), text(&|r| &r.metric)),
        Column::new("n".into(), count(&|r| r.n)),
        Column::new("missing".into(), count(&|r| r.missing)),
        Column::new("mean".into(), num(&|r| r.mean)),
        Column::new("std".into(), num(&|r| r.std)),
        Column::new("ci_low".into(), num(&|r| r.ci_low)),
        Column::new("ci_high".into(), num(&|r| r.ci_high)),
    ];
    DataFrame::new(rows.len(), columns).map_err(|e| MetricsError::Write {
        path: "summary frame".into(),
        message: e.to_string(),
    })
}

/// Writes the rows as CSV (with a header) to `path`.
pub fn write_summary_csv(rows: &[SummaryRow], path: &Path) -> Result<()> {
    let err = |message: String| MetricsError::Write {
        path: path.to_path_buf(),
        message,
    };
    let mut df = summary_frame(rows)?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(&mut df)
        .map_err(|e| err(e.to_string()))?;
    // Atomically, so a reader never sees half a file.
    lantern_core::write_atomically(path, &bytes).map_err(|e| err(e.to_string()))
}

/// A Markdown table of the rows: mean ± std and the interval, 4 significant decimals.
pub fn summary_markdown(rows: &[SummaryRow], confidence: f64) -> String {
    let fmt = |v: f64| {
        if v.is_finite() {
            format!("{v:.4}")
        } else {
            "–".to_string()
        }
    };
    let mut out = format!(
        "| method | sweep | metric | n | mean | std | {:.0} % CI |\n|---|---|---|---:|---:|---:|---|\n",
        confidence * 100.0
    );
    for r in rows {
        let missing = if r.missing > 0 {
            format!(" (+{} missing)", r.missing)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {} | {} | {} | {}{} | {} | {} | [{}, {}] |\n",
            r.method,
            if r.sweep.is_empty() { "–" } else { &r.sweep },
            r.metric,
            r.n,
            missing,
            fmt(r.mean),
            fmt(r.std),
            fmt(r.ci_low),
            fmt(r.ci_high)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_groups_and_intervals() {
        let mut obs = Vec::new();
        for i in 0..50 {
            obs.push(Observation::new(
                "gradcam",
                "",
                "deletion_auc",
                i as f64 / 49.0,
            ));
            obs.push(Observation::new("saliency", "", "deletion_auc", 0.5));
        }
        obs.push(Observation::new("saliency", "", "deletion_auc", f64::NAN));
        let rows = summarise(&obs, &BootstrapSettings::default());
        assert_eq!(rows.len(), 2);
        let g = &rows[0];
        assert_eq!((g.method.as_str(), g.n, g.missing), ("gradcam", 50, 0));
        assert!((g.mean - 0.5).abs() < 1e-12);
        // std of 0, 1/49, …, 1 (ddof 1) = sqrt(50·51/12)/49 … check against the direct formula.
        let direct = ((0..50)
            .map(|i| (i as f64 / 49.0 - 0.5).powi(2))
            .sum::<f64>()
            / 49.0)
            .sqrt();
        assert!((g.std - direct).abs() < 1e-12);
        // The bootstrap interval of the mean is about mean ± 1.96·std/√n.
        let half = 1.96 * direct / 50f64.sqrt();
        assert!(g.ci_low < 0.5 && g.ci_high > 0.5);
        assert!(
            (g.ci_high - g.ci_low - 2.0 * half).abs() < 0.3 * half,
            "{g:?}"
        );
        let s = &rows[1];
        assert_eq!(
            (s.n, s.missing, s.std, s.ci_low, s.ci_high),
            (50, 1, 0.0, 0.5, 0.5)
        );
        // Same inputs, same numbers; the order groups arrive in does not matter (the order of
        // values within a group does: it decides which value each draw picks).
        let (mut first, second): (Vec<_>, Vec<_>) =
            obs.iter().cloned().partition(|o| o.method == "saliency");
        first.extend(second);
        let again = summarise(&first, &BootstrapSettings::default());
        assert_eq!(again[1], rows[0]);
        let md = summary_markdown(&rows, 0.95);
        assert!(
            md.contains("| gradcam | – | deletion_auc | 50 | 0.5000 |"),
            "{md}"
        );
        assert!(md.contains("50 (+1 missing)"));
    }

    #[test]
    fn csv_round_trip() {
        let rows = summarise(
            &[
                Observation::new("a", "k=1", "m", 1.0),
                Observation::new("a", "k=1", "m", 3.0),
            ],
            &BootstrapSettings::default(),
        );
        let dir =
            std::env::temp_dir().join(format!("lantern-metrics-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.csv");
        write_summary_csv(&rows, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "method,sweep,metric,n,missing,mean,std,ci_low,ci_high"
        );
        assert!(lines.next().unwrap().starts_with("a,k=1,m,2,0,2.0,1.414"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
