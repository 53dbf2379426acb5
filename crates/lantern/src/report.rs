//! Assembling a run's artifacts from its item rows: `scores.parquet`/`.csv`, `curves.parquet`,
//! `summary.csv`/`summary.md`, summary figures, `manifest.json` and a self-contained
//! `index.html`. Used by `run` (after the items) and by `merge` (after the shards).

use crate::config::ExperimentFile;
use crate::files::write_bytes;
use crate::rows::{Row, write_scores};
use crate::run::store::{CausalCurveRecord, HeadSummary, RunPlan, read_curves, read_row};
use anyhow::{Context as _, Result};
use base64::prelude::*;
use lantern_metrics::{BootstrapSettings, Observation, SummaryRow};
use lantern_runtime::{Model, Runtime};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Assembled {
    pub ok: usize,
    pub failed: usize,
    pub rows: Vec<Row>,
    pub summary: Vec<SummaryRow>,
    pub figures: Vec<(String, PathBuf)>,
}

/// Builds every table and summary figure from the rows present for the plan's items.
/// With a shard, only that shard's rows are written, as part files under `parts/`.
pub fn assemble(dir: &Path, plan: &RunPlan, shard: Option<(usize, usize)>) -> Result<Assembled> {
    let rows: Vec<Row> = plan
        .items
        .iter()
        .filter(|it| crate::plan::in_shard(it, shard))
        .filter_map(|it| read_row(dir, &it.id))
        .collect();
    let ok = rows.iter().filter(|r| !r.failed()).count();
    let failed = rows.len() - ok;
    if let Some((i, n)) = shard {
        let part = dir.join("parts").join(format!("shard-{i}-of-{n}"));
        std::fs::create_dir_all(&part)?;
        write_scores(&part, &rows, "scores")?;
        return Ok(Assembled {
            ok,
            failed,
            rows,
            summary: Vec::new(),
            figures: Vec::new(),
        });
    }
    write_scores(dir, &rows, "scores")?;
    let curves = read_curves(dir, &rows);
    write_curves_table(dir, &rows, &curves)?;
    let summary = summarise(&rows);
    lantern_metrics::write_summary_csv(&summary, &dir.join("summary.csv"))?;
    let mut figures = Vec::new();
    figures.extend(crate::figures::summary_figures(
        dir, plan, &rows, &curves, &summary,
    )?);
    Ok(Assembled {
        ok,
        failed,
        rows,
        summary,
        figures,
    })
}

/// `curves.parquet`: image, method, params, metric, step, fraction, score.
fn write_curves_table(
    dir: &Path,
    rows: &[Row],
    curves: &BTreeMap<String, Vec<CausalCurveRecord>>,
) -> Result<()> {
    let (mut image, mut method, mut params, mut metric, mut step, mut fraction, mut score) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for r in rows {
        let Some(cs) = curves.get(&r.item) else {
            continue;
        };
        for c in cs {
            for (i, (&f, &s)) in c.fractions.iter().zip(&c.curve).enumerate() {
                image.push(r.image.clone());
                method.push(r.method.clone());
                params.push(r.point.clone());
                metric.push(c.kind.name().to_string());
                step.push(i as i64);
                fraction.push(f);
                score.push(s as f64);
            }
        }
    }
    if image.is_empty() {
        return Ok(());
    }
    let height = image.len();
    let mut df = DataFrame::new(
        height,
        vec![
            Column::new("image".into(), image),
            Column::new("method".into(), method),
            Column::new("params".into(), params),
            Column::new("metric".into(), metric),
            Column::new("step".into(), step),
            Column::new("fraction".into(), fraction),
            Column::new("score".into(), score),
        ],
    )?;
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df)?;
    write_bytes(&dir.join("curves.parquet"), &bytes)
}

/// Mean, std and bootstrap CI per (method, sweep point) for every metric and the cost.
fn summarise(rows: &[Row]) -> Vec<SummaryRow> {
    let mut obs = Vec::new();
    for r in rows.iter().filter(|r| !r.failed()) {
        for (k, v) in &r.metrics {
            obs.push(Observation::new(&r.method, &r.point, k, *v));
        }
        obs.push(Observation::new(&r.method, &r.point, "seconds", r.seconds));
        obs.push(Observation::new(
            &r.method,
            &r.point,
            "passes",
            (r.forward_passes + r.backward_passes) as f64,
        ));
    }
    lantern_metrics::summarise(&obs, &BootstrapSettings::default())
}

/// `manifest.json`: everything needed to rerun, then the Markdown summary and the HTML report.
#[allow(clippy::too_many_arguments)]
pub fn write_manifest(
    dir: &Path,
    file: &ExperimentFile,
    sets: &[String],
    config_hash: &str,
    model: &Model,
    runtime: &Runtime,
    timings: &BTreeMap<String, f64>,
    assembled: &Assembled,
    head: Option<&HeadSummary>,
    shard: Option<(usize, usize)>,
    batches: &[usize],
) -> Result<()> {
    let manifest = serde_json::json!({
        "lantern_version": env!("CARGO_PKG_VERSION"),
        "experiment_file": file.path,
        "config": toml::Value::Table(file.tree.clone()),
        "config_toml": file.source,
        "overrides": sets,
        "config_hash": config_hash,
        "git_revision": git_revision(),
        "model": { "path": model.path, "sha256": model.hash, "input": model.input, "classes": model.classes, "batch": model.batch_mode },
        "onnxruntime": { "version": runtime.ort_version, "library": runtime.library },
        "device_requested": runtime.options.device.to_string(),
        "execution_provider": model.device_used,
        "threads": runtime.options.threads,
        "batch_sizes": batches,
        "seed": file.tree.get("experiment").and_then(|e| e.get("seed")).and_then(|s| s.as_integer()).unwrap_or(0),
        "timings_seconds": timings,
        "peak_rss_mb": peak_rss_mb(),
        "items": { "ok": assembled.ok, "failed": assembled.failed },
        "shard": shard.map(|(i, n)| format!("{i}/{n}")),
        "head": head,
    });
    let name = match shard {
        Some((i, n)) => PathBuf::from("parts")
            .join(format!("shard-{i}-of-{n}"))
            .join("manifest.json"),
        None => PathBuf::from("manifest.json"),
    };
    write_bytes(&dir.join(&name), &serde_json::to_vec_pretty(&manifest)?)?;
    if shard.is_none() {
        write_pages(dir, &manifest, assembled)?;
    }
    Ok(())
}

/// After `merge`: a manifest from the shards' manifests (the first as the base, the others
/// listed), then the pages.
pub fn merge_manifests(dir: &Path) -> Result<()> {
    let parts = dir.join("parts");
    let mut manifests: Vec<(String, serde_json::Value)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&parts) {
        for e in entries.flatten() {
            if let Ok(bytes) = std::fs::read(e.path().join("manifest.json")) {
                manifests.push((
                    e.file_name().to_string_lossy().into_owned(),
                    serde_json::from_slice(&bytes)?,
                ));
            }
        }
    }
    manifests.sort_by(|a, b| a.0.cmp(&b.0));
    let mut manifest = manifests
        .first()
        .map(|m| m.1.clone())
        .unwrap_or_else(|| serde_json::json!({}));
    manifest["merged_from"] = serde_json::json!(manifests.iter().map(|m| &m.0).collect::<Vec<_>>());
    manifest["shard"] = serde_json::Value::Null;
    let run_plan: RunPlan = serde_json::from_slice(&std::fs::read(dir.join("plan.json"))?)?;
    let assembled = assemble(dir, &run_plan, None)?;
    manifest["items"] = serde_json::json!({ "ok": assembled.ok, "failed": assembled.failed });
    write_bytes(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    write_pages(dir, &manifest, &assembled)
}

/// The process's peak resident set size (Linux `VmHWM`), in MiB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `summary.md` and the self-contained `index.html` (figures inlined as data URIs).
fn write_pages(dir: &Path, manifest: &serde_json::Value, a: &Assembled) -> Result<()> {
    let name = manifest["config"]["experiment"]["name"]
        .as_str()
        .unwrap_or("experiment")
        .to_string();
    let table = lantern_metrics::summary_markdown(&a.summary, 0.95);
    let failed: Vec<&Row> = a.rows.iter().filter(|r| r.failed()).collect();
    let mut md = format!("# {name}\n\n{} items ok, {} failed.\n\n", a.ok, a.failed);
    let head_md = manifest
        .get("head")
        .filter(|h| !h.is_null())
        .map(crate::head::report::markdown)
        .unwrap_or_default();
    md.push_str(&head_md);
    md.push_str("## Summary (mean ± std, 95 % bootstrap CI over images)\n\n");
    md.push_str(&table);
    let standings = crate::floor::standings(&a.summary);
    let floor_md = crate::floor::markdown(&standings);
    if !floor_md.is_empty() {
        md.push('\n');
        md.push_str(&floor_md);
    }
    if !failed.is_empty() {
        md.push_str("\n## Failed items\n\n| item | error |\n|---|---|\n");
        for r in &failed {
            md.push_str(&format!(
                "| {} | {} |\n",
                r.item,
                r.error.as_deref().unwrap_or("").replace('|', "\\|")
            ));
        }
    }
    write_bytes(&dir.join("summary.md"), md.as_bytes())?;

    let floor_html = if floor_md.is_empty() {
        String::new()
    } else {
        format!(
            "<p>{}</p>{}",
            escape(floor_md.lines().nth(2).unwrap_or(""), false),
            markdown_table_to_html(&floor_md)
        )
    };
    let page = Page {
        head: crate::head::report::html(&head_md, &|t: &str| escape(t, false)),
        floor: floor_html,
        name: &name,
        ok: a.ok,
        failed: a.failed,
        model: manifest["model"]["path"].as_str().unwrap_or(""),
        provider: manifest["execution_provider"].as_str().unwrap_or(""),
        header: table_cells(&table).next().unwrap_or_default(),
        rows: table_cells(&table).skip(1).collect(),
        figures: a
            .figures
            .iter()
            .map(|(title, path)| PageImage::of(title, path))
            .collect(),
        maps: a
            .rows
            .iter()
            .filter(|r| r.figure_file.is_some())
            .take(60)
            .map(|r| {
                PageImage::of(
                    &r.item,
                    &dir.join(r.figure_file.as_ref().expect("filtered")),
                )
            })
            .collect(),
        failures: failed
            .iter()
            .map(|r| Failure {
                item: &r.item,
                error: r.error.as_deref().unwrap_or(""),
            })
            .collect(),
        config: manifest["config_toml"].as_str().unwrap_or(""),
        manifest: serde_json::to_string_pretty(manifest)?,
    };
    write_bytes(&dir.join("index.html"), render_page(&page)?.as_bytes())
        .context("writing index.html")
}

/// What `report.html` shows.
#[derive(serde::Serialize)]
struct Page<'a> {
    /// The fitted head's section (field accuracy, per-leaf table), HTML already escaped.
    head: String,
    /// The random-floor note and table, HTML already escaped.
    floor: String,
    name: &'a str,
    ok: usize,
    failed: usize,
    model: &'a str,
    provider: &'a str,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    figures: Vec<PageImage>,
    maps: Vec<PageImage>,
    failures: Vec<Failure<'a>>,
    config: &'a str,
    manifest: String,
}

#[derive(serde::Serialize)]
struct PageImage {
    title: String,
    path: String,
    /// The figure file in base64 (PNG or SVG), `None` when the file cannot be read.
    png: Option<String>,
    /// Its media type: `image/svg+xml` for `[output] format = "svg"` figures, else `image/png`.
    mime: &'static str,
}

impl PageImage {
    fn of(title: &str, path: &Path) -> PageImage {
        PageImage {
            title: title.to_string(),
            path: path.display().to_string(),
            png: std::fs::read(path).ok().map(|b| BASE64_STANDARD.encode(b)),
            mime: match path.extension().and_then(|e| e.to_str()) {
                Some("svg") => "image/svg+xml",
                _ => "image/png",
            },
        }
    }
}

#[derive(serde::Serialize)]
struct Failure<'a> {
    item: &'a str,
    error: &'a str,
}

/// A markdown table as an HTML table, every cell escaped (the head's field-accuracy and the
/// random-floor tables).
pub fn markdown_table_to_html(md: &str) -> String {
    let mut html = String::from("<table>");
    for (i, line) in md.lines().filter(|l| l.starts_with('|')).enumerate() {
        if i == 1 {
            continue; // the |---| separator
        }
        let tag = if i == 0 { "th" } else { "td" };
        html.push_str("<tr>");
        for cell in line.trim_matches('|').split('|') {
            html.push_str(&format!("<{tag}>{}</{tag}>", escape(cell.trim(), false)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

/// The cells of a markdown table's rows (header first), without the `|---|` separator.
fn table_cells(md: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    md.lines()
        .filter(|l| l.starts_with('|'))
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, line)| {
            line.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
}

/// Text content needs `&`, `<` and `>` escaped; attribute values (`attr`) quotes as well.
fn escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `report.html` rendered with every value escaped.
fn render_page(page: &Page) -> Result<String> {
    let source: String = include_str!("report.html")
        .lines()
        .map(str::trim_start)
        .collect();
    let mut env = minijinja::Environment::new();
    env.set_formatter(|out, _state, value| {
        if value.is_safe() {
            write!(out, "{value}")?;
        } else if !value.is_undefined() && !value.is_none() {
            write!(out, "{}", escape(&value.to_string(), false))?;
        }
        Ok(())
    });
    env.add_filter("attr", |v: String| {
        minijinja::Value::from_safe_string(escape(&v, true))
    });
    env.add_template("report.html", &source)?;
    Ok(env.get_template("report.html")?.render(page)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_text_are_escaped_in_the_page() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a \"quoted\" <b>.png");
        std::fs::write(&path, b"M").unwrap();
        let page = Page {
            head: String::new(),
            floor: String::new(),
            name: "x<script>",
            ok: 1,
            failed: 1,
            model: "m.onnx",
            provider: "cpu",
            header: vec!["method".into()],
            rows: vec![vec!["a&b".into()]],
            figures: vec![PageImage::of("fig \"1\"", &path)],
            maps: vec![PageImage::of("missing", &dir.path().join("gone<.png"))],
            failures: vec![Failure {
                item: "i",
                error: "bad <input>",
            }],
            config: "name = \"x\"",
            manifest: "{}".into(),
        };
        let html = render_page(&page).unwrap();
        assert!(html.contains("<h1>x&lt;script&gt;</h1>"), "{html}");
        assert!(html.contains("<td>a&amp;b</td>"), "{html}");
        assert!(
            html.contains("src=\"data:image/png;base64,TQ==\""),
            "{html}"
        );
        assert!(
            html.contains("a &quot;quoted&quot; &lt;b&gt;.png\">"),
            "{html}"
        );
        assert!(html.contains("(missing figure "), "{html}");
        assert!(html.contains("gone&lt;.png"), "{html}");
        assert!(html.contains("bad &lt;input&gt;"), "{html}");
        assert!(!html.contains('\n'), "one line, as before");
    }
}
