//! Summary figures of a run: mean deletion/insertion curves per method, sweep plots (each sweep
//! parameter against cost and scores), the method ranking with CIs, a methods grid, and the
//! fitted head's confusion matrix.

use crate::rows::{Row, metric_names};
use crate::run::store::{CausalCurveRecord, HeadSummary, RunPlan};
use anyhow::Result;
use lantern_metrics::SummaryRow;
use lantern_plot::{Figure, FigureFormat, LinePlot, Series};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn summary_figures(
    dir: &Path,
    plan: &RunPlan,
    rows: &[Row],
    curves: &BTreeMap<String, Vec<CausalCurveRecord>>,
    summary: &[SummaryRow],
) -> Result<Vec<(String, PathBuf)>> {
    let figures_dir = dir.join("figures");
    let format = plan.figure_format;
    let mut out = Vec::new();
    for kind in [
        lantern_metrics::CausalKind::Deletion,
        lantern_metrics::CausalKind::Insertion,
    ] {
        if let Some(p) = mean_curves(&figures_dir, rows, curves, kind, format)? {
            out.push((format!("Mean {} curves", kind.name()), p));
        }
    }
    if plan.points.len() > 1 {
        out.extend(sweep_plots(&figures_dir, plan, rows)?);
        out.extend(cost_vs_quality(&figures_dir, rows, format)?);
    }
    if let Some(p) = ranking(&figures_dir, summary, format)? {
        out.push(("Methods ranked (mean, 95 % CI)".into(), p));
    }
    if let Some(p) = methods_grid(dir, plan, rows)? {
        out.push(("Methods side by side".into(), p));
    }
    Ok(out)
}

/// Rows = the first images, columns = every method of the first sweep point (overlays).
fn methods_grid(dir: &Path, plan: &RunPlan, rows: &[Row]) -> Result<Option<PathBuf>> {
    let first_point = plan.points.first().map(|p| {
        let point = crate::config::SweepPoint {
            values: p
                .iter()
                .map(|(k, v)| (k.clone(), toml::Value::String(v.clone())))
                .collect(),
        };
        point.slug()
    });
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.failed() && Some(&r.point) == first_point.as_ref() && r.map_file.is_some())
        .collect();
    // Rows are (image, target) pairs, so top-k runs show each explained class.
    let mut methods: Vec<String> = Vec::new();
    let mut keys: Vec<(String, Option<i64>)> = Vec::new();
    for r in &rows {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
        let key = (r.image.clone(), r.target);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.truncate(plan.grid_images);
    if keys.is_empty() || (methods.len() < 2 && keys.len() < 2) {
        return Ok(None);
    }
    // Load every cell first: the grid borrows the images and maps.
    let mut loaded: Vec<(String, image::RgbImage, Vec<Option<ndarray::Array2<f32>>>)> = Vec::new();
    for (image, target) in &keys {
        let Some(first) = rows
            .iter()
            .find(|r| &r.image == image && &r.target == target)
        else {
            continue;
        };
        let stem = plan
            .items
            .iter()
            .find(|it| it.id == first.item)
            .map(|it| it.stem.clone())
            .unwrap_or_default();
        let Ok(display) = image::open(dir.join("images").join(format!("{stem}.png"))) else {
            continue;
        };
        let maps = methods
            .iter()
            .map(|m| {
                let r = rows
                    .iter()
                    .find(|r| &r.image == image && &r.target == target && &r.method == m)?;
                let map = lantern_data::read_npy::<f32>(dir.join(r.map_file.as_ref()?)).ok()?;
                Some(spatial(map, crate::pipeline::is_signed(m)))
            })
            .collect();
        let label = match (&first.target_name, first.target_probability) {
            (Some(t), Some(p)) => format!("{stem}: {t} p={p:.2}"),
            _ => stem,
        };
        loaded.push((label, display.to_rgb8(), maps));
    }
    let columns = methods
        .iter()
        .map(|m| {
            if crate::pipeline::is_signed(m) {
                lantern_plot::GridColumn::signed(m.clone())
            } else {
                lantern_plot::GridColumn::new(m.clone())
            }
        })
        .collect();
    let mut grid = lantern_plot::ComparisonGrid::new(
        format!("{} — methods side by side", plan.experiment),
        columns,
    );
    for (label, display, maps) in &loaded {
        grid = grid.row(
            label.clone(),
            display,
            maps.iter().map(Option::as_ref).collect(),
        );
    }
    Ok(Some(save(
        &grid,
        &dir.join("figures"),
        "methods-grid",
        plan.figure_format,
    )?))
}

/// `[H,W]` as is; `[C,H,W]` → max |·| over channels (signed maps keep the sign of that max).
fn spatial(map: ndarray::ArrayD<f32>, signed: bool) -> ndarray::Array2<f32> {
    let pick = |m: f32, v: f32| match (signed, v.abs() > m.abs()) {
        (true, true) => v,
        (false, true) => v.abs(),
        (_, false) => m,
    };
    match map.ndim() {
        3 => map
            .map_axis(ndarray::Axis(0), |c| c.iter().copied().fold(0.0f32, pick))
            .into_dimensionality()
            .expect("2-D"),
        _ => map
            .into_dimensionality()
            .expect("maps are [H,W] or [C,H,W]"),
    }
}

/// Pointwise mean of each (method, point)'s curves over images, one line each.
fn mean_curves(
    dir: &Path,
    rows: &[Row],
    curves: &BTreeMap<String, Vec<CausalCurveRecord>>,
    kind: lantern_metrics::CausalKind,
    format: FigureFormat,
) -> Result<Option<PathBuf>> {
    let mut groups: BTreeMap<String, (Vec<f64>, Vec<f64>, usize, f64)> = BTreeMap::new();
    for r in rows {
        let Some(cs) = curves.get(&r.item) else {
            continue;
        };
        for c in cs.iter().filter(|c| c.kind == kind) {
            let label = if r.point.is_empty() {
                r.method.clone()
            } else {
                format!("{} {}", r.method, r.point)
            };
            let g = groups
                .entry(label)
                .or_insert_with(|| (c.fractions.clone(), vec![0.0; c.curve.len()], 0, 0.0));
            if g.1.len() != c.curve.len() {
                continue;
            }
            for (acc, v) in g.1.iter_mut().zip(&c.curve) {
                *acc += *v as f64;
            }
            g.2 += 1;
            g.3 += c.auc;
        }
    }
    if groups.is_empty() {
        return Ok(None);
    }
    let mut plot = LinePlot::deletion_insertion(format!("{} (mean over images)", kind.name()));
    for (label, (fractions, sums, n, auc)) in groups {
        let points = fractions
            .iter()
            .zip(&sums)
            .map(|(&f, &s)| (f, s / n as f64))
            .collect();
        plot = plot.series(Series::new(label, points).with_auc(auc / n as f64));
    }
    let stem = format!("curves-{}", kind.name());
    Ok(Some(save(&plot, dir, &stem, format)?))
}

/// For each sweep key: x = its values, y = mean seconds per image and each mean metric, one
/// line per combination of the other keys (and per method).
fn sweep_plots(dir: &Path, plan: &RunPlan, rows: &[Row]) -> Result<Vec<(String, PathBuf)>> {
    let keys: Vec<String> = plan.points[0].keys().cloned().collect();
    let mut measures = metric_names(rows);
    // Approximate occlusion's fidelity to the exact map, where the rows have it.
    for stat in ["fidelity_spearman", "fidelity_ssim", "fidelity_top10_iou"] {
        if rows.iter().any(|r| r.stats.contains_key(stat)) {
            measures.push(format!("stat.{stat}"));
        }
    }
    if measures.is_empty() {
        measures.push("stat.map_std".into());
    }
    measures.insert(0, "seconds".into());
    let value = |r: &Row, m: &str| -> Option<f64> {
        match m {
            "seconds" => Some(r.seconds),
            m if m.starts_with("stat.") => r.stats.get(&m[5..]).copied(),
            m => r.metrics.get(m).copied(),
        }
    };
    let mut out = Vec::new();
    for key in &keys {
        for m in &measures {
            // (line label, x) → values
            let mut acc: BTreeMap<String, BTreeMap<i64, (f64, f64, usize)>> = BTreeMap::new();
            for r in rows.iter().filter(|r| !r.failed()) {
                let (Some(x), Some(y)) = (
                    r.params.get(key).and_then(|v| v.parse::<f64>().ok()),
                    value(r, m),
                ) else {
                    continue;
                };
                let others: Vec<String> = r
                    .params
                    .iter()
                    .filter(|(k, _)| *k != key)
                    .map(|(k, v)| format!("{}={v}", short(k)))
                    .collect();
                let label = format!("{} {}", r.method, others.join(" "))
                    .trim()
                    .to_string();
                let e = acc
                    .entry(label)
                    .or_default()
                    .entry((x * 1000.0) as i64)
                    .or_insert((x, 0.0, 0));
                e.1 += y;
                e.2 += 1;
            }
            if acc.is_empty() {
                continue;
            }
            let ylabel = if m == "seconds" {
                "seconds per image".to_string()
            } else {
                m.replace('_', " ")
            };
            let mut plot = LinePlot::new(
                format!("{} vs {}", ylabel, short(key)),
                short(key),
                ylabel.clone(),
            );
            plot.markers = true;
            plot.ticks_at_x_values = true;
            for (label, points) in acc {
                plot = plot.series(Series::new(
                    label,
                    points
                        .values()
                        .map(|(x, s, n)| (*x, s / *n as f64))
                        .collect(),
                ));
            }
            let stem = format!(
                "sweep-{}-{}",
                crate::files::safe_name(short(key)),
                crate::files::safe_name(m)
            );
            let path = save(&plot, dir, &stem, plan.figure_format)?;
            out.push((format!("Sweep: {ylabel} vs {}", short(key)), path));
        }
    }
    Ok(out)
}

/// Seconds per image against each mean metric, one labelled point per sweep point: the
/// trade-off between cost and quality a sweep is run to see.
fn cost_vs_quality(
    dir: &Path,
    rows: &[Row],
    format: FigureFormat,
) -> Result<Vec<(String, PathBuf)>> {
    let metrics = metric_names(rows);
    let mut out = Vec::new();
    for metric in metrics {
        // method → point → (Σ seconds, Σ metric, n)
        let mut acc: BTreeMap<String, BTreeMap<String, (f64, f64, usize)>> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r.failed()) {
            let Some(v) = r.metrics.get(&metric).filter(|v| v.is_finite()) else {
                continue;
            };
            let e = acc
                .entry(r.method.clone())
                .or_default()
                .entry(r.point.clone())
                .or_insert((0.0, 0.0, 0));
            e.0 += r.seconds;
            e.1 += v;
            e.2 += 1;
        }
        let mut plot = lantern_plot::ScatterPlot::cost_vs_quality(
            format!("cost vs {}", metric.replace('_', " ")),
            metric.replace('_', " "),
        );
        for (method, points) in acc {
            let labelled = points
                .iter()
                .map(|(p, (s, m, n))| {
                    lantern_plot::LabelledPoint::new(s / *n as f64, m / *n as f64, p.clone())
                })
                .collect();
            plot = plot.group(lantern_plot::PointGroup::new(method, labelled));
        }
        let stem = format!("cost-vs-{}", crate::files::safe_name(&metric));
        let path = save(&plot, dir, &stem, format)?;
        out.push((format!("Cost vs {}", metric.replace('_', " ")), path));
    }
    Ok(out)
}

fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Bar chart of each method's mean AUC with its bootstrap CI.
fn ranking(dir: &Path, summary: &[SummaryRow], format: FigureFormat) -> Result<Option<PathBuf>> {
    let metric = ["insertion_auc", "deletion_auc", "average_drop"]
        .into_iter()
        .find(|m| summary.iter().any(|s| s.metric == *m));
    let Some(metric) = metric else {
        return Ok(None);
    };
    let standings = crate::floor::standings(summary);
    let bars: Vec<lantern_plot::Bar> = summary
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| lantern_plot::Bar {
            label: format!(
                "{}{}{}",
                s.method,
                if s.sweep.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.sweep)
                },
                // Marked when its CI does not beat the random baseline (floor.rs).
                if crate::floor::below_floor(&standings, &s.method, &s.sweep, metric) {
                    " (≤ random)"
                } else {
                    ""
                }
            ),
            value: s.mean,
            interval: Some((s.ci_low, s.ci_high)),
        })
        .collect();
    if bars.len() < 2 {
        return Ok(None);
    }
    let chart = lantern_plot::BarChart::new(
        format!("{} by method (mean, 95 % CI)", metric.replace('_', " ")),
        metric.replace('_', " "),
        bars,
    );
    Ok(Some(save(
        &chart,
        dir,
        &format!("ranking-{metric}"),
        format,
    )?))
}

/// Saves `figure` as `dir/stem.png` or `.svg` (`[output] format`); returns the path.
pub fn save(figure: &impl Figure, dir: &Path, stem: &str, format: FigureFormat) -> Result<PathBuf> {
    let path = dir.join(format!("{stem}.{}", format.extension()));
    figure.save_as(&path, format)?;
    Ok(path)
}

/// The fitted head's validation confusion matrix, `dir/confusion.png` (or `.svg`).
pub fn confusion(dir: &Path, summary: &HeadSummary, format: FigureFormat) -> Result<()> {
    let title = format!(
        "validation confusion matrix (accuracy {:.1} %)",
        100.0 * summary.validation_accuracy
    );
    let k = summary.classes.len();
    let counts = ndarray::Array2::from_shape_fn((k, k), |(t, p)| summary.confusion[t][p] as u64);
    let matrix = lantern_plot::ConfusionMatrix::new(title, summary.classes.clone(), counts);
    save(&matrix, dir, "confusion", format)?;
    Ok(())
}
