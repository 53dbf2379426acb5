//! `[sanity]`: the model parameter randomisation test (Adebayo et al. 2018) for chosen methods.
//! Layers are randomised cumulatively from the top; at each step ONE randomised model is built
//! and every (image, method) map is recomputed on it and compared with the intact model's map
//! (Spearman rank correlation of |map|, and SSIM of the min-max normalised maps). Writes
//! `sanity.csv` and the classic plots `figures/sanity-spearman.png` / `sanity-ssim.png` (`.svg`
//! with `[output] format = "svg"`).

use crate::config::{Config, SanitySection};
use crate::pipeline;
use anyhow::{Context as _, Result, anyhow};
use lantern_data::Dataset;
use lantern_explain::{Context, Method, ParamValue, Params};
use lantern_plot::{LinePlot, Series};
use lantern_runtime::Model;
use ndarray::{Array2, Array3, Axis};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// One row of `sanity.csv`.
#[derive(Debug, Clone, Serialize)]
struct SanityRow {
    method: String,
    image: String,
    layers_randomised: usize,
    down_to: String,
    spearman: f64,
    spearman_abs: f64,
    ssim: f64,
}

pub fn run(
    config: &Config,
    section: &SanitySection,
    model: &Model,
    dataset: &Dataset,
    preprocess: &lantern_data::Preprocess,
    batch: usize,
    out_dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let methods = build_methods(config, section)?;
    let images = first_images(section, model, dataset, preprocess)?;
    let cascade = Cascade {
        methods: &methods,
        images: &images,
        batch,
        seed: config.experiment.seed,
    };
    let rows = cascade.run(model, section)?;
    write_csv(&rows, &out_dir.join("sanity.csv"))?;
    plot_rows(&rows, &methods, out_dir, config.output.format)
}

/// The methods under test, with their `[methods.NAME]` parameters.
fn build_methods(
    config: &Config,
    section: &SanitySection,
) -> Result<Vec<(String, Box<dyn Method>)>> {
    section
        .methods
        .iter()
        .map(|name| {
            let mut values = BTreeMap::new();
            if let Some(table) = config.methods.get(name).and_then(|t| t.as_table()) {
                for (k, v) in table {
                    let v = match v {
                        toml::Value::Integer(i) => ParamValue::Int(*i),
                        toml::Value::Float(f) => ParamValue::Float(*f),
                        toml::Value::Boolean(b) => ParamValue::Bool(*b),
                        other => ParamValue::Text(crate::config::value_text(other)),
                    };
                    values.insert(k.clone(), v);
                }
            }
            let params = Params::new(name, values);
            Ok((
                name.clone(),
                lantern_explain::build_method(name, &params)
                    .with_context(|| format!("[sanity] method {name}"))?,
            ))
        })
        .collect()
}

/// The first usable images with their targets (top-1 of the intact model).
fn first_images(
    section: &SanitySection,
    model: &Model,
    dataset: &Dataset,
    preprocess: &lantern_data::Preprocess,
) -> Result<Vec<(String, Array3<f32>, usize)>> {
    let mut images: Vec<(String, Array3<f32>, usize)> = Vec::new();
    for s in dataset.samples.iter().filter(|s| s.error.is_none()) {
        if images.len() >= section.images {
            break;
        }
        if let Ok(p) = lantern_data::load_image(&s.path, preprocess, &Default::default()) {
            let logits = model.forward(p.tensor.view().insert_axis(Axis(0)))?;
            let target = pipeline::top_k(logits.row(0), 1)[0];
            images.push((s.id.clone(), p.tensor, target));
        }
    }
    if images.is_empty() {
        return Err(anyhow!("[sanity] no usable images"));
    }
    Ok(images)
}

/// The cascading randomisation: layers randomised from the top, maps compared per step.
struct Cascade<'a> {
    methods: &'a [(String, Box<dyn Method>)],
    images: &'a [(String, Array3<f32>, usize)],
    batch: usize,
    seed: u64,
}

impl Cascade<'_> {
    /// Per image, per method: the map on model `m`.
    fn maps_of(&self, m: &Model) -> Result<Vec<Vec<Array2<f32>>>> {
        self.images
            .iter()
            .map(|(_, x, target)| {
                let logits = m.forward(x.view().insert_axis(Axis(0)))?.row(0).to_owned();
                let ctx = Context {
                    model: m,
                    logits: logits.view(),
                    batch_size: self.batch,
                    seed: self.seed,
                };
                self.methods
                    .iter()
                    .map(|(_, method)| Ok(method.explain(&ctx, x.view(), *target)?.spatial()))
                    .collect()
            })
            .collect()
    }

    fn run(&self, model: &Model, section: &SanitySection) -> Result<Vec<SanityRow>> {
        let intact = self.maps_of(model)?;
        let layers = lantern_metrics::sanity::layers_top_first(model);
        let limit = section.max_layers.unwrap_or(layers.len()).min(layers.len());
        let mut rows = Vec::new();
        let mut chosen: HashSet<String> = HashSet::new();
        let mut done = 0;
        let progress = indicatif::ProgressBar::new(limit as u64);
        while done < limit {
            let next = (done + section.layers_step.max(1)).min(limit);
            for (_, inits) in &layers[done..next] {
                chosen.extend(inits.iter().cloned());
            }
            done = next;
            progress.set_position(done as u64);
            let random = lantern_metrics::sanity::randomised_model(model, &chosen, self.seed)?;
            let maps = self.maps_of(&random)?;
            for ((image, _, _), (before, after)) in self.images.iter().zip(intact.iter().zip(&maps))
            {
                for ((name, _), (a, b)) in self.methods.iter().zip(before.iter().zip(after)) {
                    let (spearman, spearman_abs, ssim) =
                        lantern_metrics::sanity::compare_maps(a.view(), b.view());
                    rows.push(SanityRow {
                        method: name.clone(),
                        image: image.clone(),
                        layers_randomised: done,
                        down_to: layers[done - 1].0.clone(),
                        spearman,
                        spearman_abs,
                        ssim,
                    });
                }
            }
        }
        progress.finish_and_clear();
        Ok(rows)
    }
}

fn write_csv(rows: &[SanityRow], path: &Path) -> Result<()> {
    let mut csv =
        String::from("method,image,layers_randomised,down_to,spearman,spearman_abs,ssim\n");
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.method, r.image, r.layers_randomised, r.down_to, r.spearman, r.spearman_abs, r.ssim
        ));
    }
    crate::files::write_bytes(path, csv.as_bytes())
}

/// The classic plots: mean similarity over images per step, one line per method.
fn plot_rows(
    rows: &[SanityRow],
    methods: &[(String, Box<dyn Method>)],
    out_dir: &Path,
    format: lantern_plot::FigureFormat,
) -> Result<Vec<(String, PathBuf)>> {
    let steps: Vec<(usize, String)> = {
        let mut s: Vec<(usize, String)> = rows
            .iter()
            .map(|r| (r.layers_randomised, r.down_to.clone()))
            .collect();
        s.dedup();
        s.sort();
        s.dedup();
        s
    };
    // The paper's plots start at the intact model (similarity 1 with itself).
    let labels: Vec<String> = std::iter::once("original".to_string())
        .chain(steps.iter().map(|(_, d)| d.clone()))
        .collect();
    let mut figures = Vec::new();
    for (metric, title) in [
        ("spearman_abs", "Spearman rank correlation (|map|)"),
        ("ssim", "SSIM"),
    ] {
        let mut plot = LinePlot::randomisation(
            format!("Cascading randomisation: {title}"),
            labels.clone(),
            title,
        );
        for (name, _) in methods {
            let values: Vec<f64> = std::iter::once(1.0)
                .chain(steps.iter().map(|(n, _)| {
                    let v: Vec<f64> = rows
                        .iter()
                        .filter(|r| &r.method == name && r.layers_randomised == *n)
                        .map(|r| {
                            if metric == "ssim" {
                                r.ssim
                            } else {
                                r.spearman_abs
                            }
                        })
                        .collect();
                    v.iter().sum::<f64>() / v.len().max(1) as f64
                }))
                .collect();
            plot = plot.series(Series::over_categories(name.clone(), &values));
        }
        let stem = format!("sanity-{}", metric.replace("_abs", ""));
        let path = crate::figures::save(&plot, &out_dir.join("figures"), &stem, format)?;
        figures.push((format!("Sanity check: {title} vs layers randomised"), path));
    }
    Ok(figures)
}
