//! Assembling a run's artifacts from its item rows: `scores.parquet`/`.csv`, `curves.parquet`,
//! `summary.csv`/`summary.md`, summary figures, `manifest.json` and a self-contained
//! `index.html`. Used by `run` (after the items) and by `merge` (after the shards).

use crate::config::ExperimentFile;
use crate::files::write_bytes;
use crate::rows::{Row, write_scores};
use crate::run::store::{CausalCurveRecord, HeadSummary, RunPlan, read_curves, read_row};
use anyhow::{Context as _, Result};
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
    if let Some(head) = manifest.get("head").filter(|h| !h.is_null()) {
        md.push_str(&format!(
            "Fitted head: train accuracy {:.1} %, validation accuracy {:.1} % ({} validation images).\n\n",
            100.0 * head["train_accuracy"].as_f64().unwrap_or(f64::NAN),
            100.0 * head["validation_accuracy"].as_f64().unwrap_or(f64::NAN),
            head["validation_images"]
        ));
    }
    md.push_str("## Summary (mean ± std, 95 % bootstrap CI over images)\n\n");
    md.push_str(&table);
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

    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0} — Lantern report</title><style>\
         body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f3f3f3}}img{{max-width:100%;margin:6px 0}}\
         pre{{background:#f6f6f6;padding:1em;overflow:auto;max-height:30em}}.failed{{color:#a00}}</style></head><body>\
         <h1>{0}</h1><p>{1} items ok, <span class=\"{5}\">{2} failed</span>. Model <code>{3}</code> on {4}.</p>",
        esc(&name),
        a.ok,
        a.failed,
        esc(manifest["model"]["path"].as_str().unwrap_or("")),
        esc(manifest["execution_provider"].as_str().unwrap_or("")),
        if a.failed > 0 { "failed" } else { "" },
    );
    html.push_str("<h2>Summary</h2>");
    html.push_str(&markdown_table_to_html(&table));
    for (title, path) in &a.figures {
        html.push_str(&format!("<h2>{}</h2>{}", esc(title), img_tag(path)));
    }
    html.push_str("<h2>Maps</h2>");
    for r in a.rows.iter().filter(|r| r.figure_file.is_some()).take(60) {
        let f = dir.join(r.figure_file.as_ref().expect("filtered"));
        html.push_str(&format!("<h3>{}</h3>{}", esc(&r.item), img_tag(&f)));
    }
    if !failed.is_empty() {
        html.push_str(
            "<h2 class=\"failed\">Failed items</h2><table><tr><th>item</th><th>error</th></tr>",
        );
        for r in &failed {
            html.push_str(&format!(
                "<tr><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(&r.item),
                esc(r.error.as_deref().unwrap_or(""))
            ));
        }
        html.push_str("</table>");
    }
    html.push_str(&format!(
        "<h2>Config</h2><pre>{}</pre><h2>Manifest</h2><pre>{}</pre></body></html>",
        esc(manifest["config_toml"].as_str().unwrap_or("")),
        esc(&serde_json::to_string_pretty(manifest)?)
    ));
    write_bytes(&dir.join("index.html"), html.as_bytes()).context("writing index.html")
}

fn img_tag(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => format!(
            "<img src=\"data:image/png;base64,{}\" alt=\"{}\">",
            base64(&bytes),
            path.display()
        ),
        Err(_) => format!("<p>(missing figure {})</p>", path.display()),
    }
}

fn markdown_table_to_html(md: &str) -> String {
    let mut html = String::from("<table>");
    for (i, line) in md.lines().filter(|l| l.starts_with('|')).enumerate() {
        if i == 1 {
            continue; // the |---| separator
        }
        let tag = if i == 0 { "th" } else { "td" };
        html.push_str("<tr>");
        for cell in line.trim_matches('|').split('|') {
            html.push_str(&format!(
                "<{tag}>{}</{tag}>",
                cell.trim().replace('<', "&lt;")
            ));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

/// Standard base64 (RFC 4648) for inlining PNGs.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b"Man"), "TWFu");
        assert_eq!(super::base64(b"Ma"), "TWE=");
        assert_eq!(super::base64(b"M"), "TQ==");
    }
}
