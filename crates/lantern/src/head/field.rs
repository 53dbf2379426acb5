//! `[[model.head.evaluate]]`: after fitting, the classifier (backbone + head, the model every
//! method explains) is scored on other labelled sources — for `plant.toml`, every field leaf in
//! the assets — so the report says how good it is where the study used it, not only on the
//! lab photos it was fitted on. Each source is relabelled by its `map`; what the map does not
//! name is left out and counted.

use crate::class_map;
use crate::config::{Config, HeadSection};
use anyhow::{Context as _, Result};
use lantern_data::Preprocess;
use lantern_runtime::Model;
use ndarray::{Axis, stack};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One scored image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldLeaf {
    /// The source, as `kind root`.
    pub source: String,
    pub image: String,
    pub truth: String,
    pub predicted: String,
    /// The softmax probability of the prediction.
    pub probability: f64,
    pub right: bool,
}

/// Accuracy over every evaluate source together, the per-image table, and what was left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FieldReport {
    pub accuracy: Option<f64>,
    pub images: usize,
    pub right: usize,
    pub leaves: Vec<FieldLeaf>,
    pub left_out: BTreeMap<String, usize>,
    pub failed: Vec<String>,
}

pub fn evaluate(
    config: &Config,
    head: &HeadSection,
    model: &Model,
    classes: &[String],
    preprocess: &Preprocess,
) -> Result<FieldReport> {
    let mut report = FieldReport::default();
    for (i, source) in head.evaluate.iter().enumerate() {
        let what = super::train::describe(source);
        let place = format!("[[model.head.evaluate]] {}", i + 1);
        let loaded = crate::datasets::load_section(source, config, Path::new(&place))
            .with_context(|| format!("{place} ({what})"))?;
        let mapped = class_map::apply(loaded, &source.map, classes, false)
            .with_context(|| format!("{place} ({what})"))?;
        for (reason, n) in mapped.left_out {
            *report.left_out.entry(reason).or_default() += n;
        }
        let samples = &mapped.dataset.samples;
        let paths: Vec<&Path> = samples.iter().map(|s| s.path.as_path()).collect();
        let loaded = lantern_data::load_batch(&paths, preprocess);
        let mut ok = Vec::new();
        for (sample, image) in samples.iter().zip(loaded) {
            match (&sample.error, image, sample.label) {
                (Some(e), _, _) => report.failed.push(e.clone()),
                (None, Err(e), _) => report.failed.push(e.to_string()),
                (None, Ok(p), Some(label)) => ok.push((sample, p, label)),
                (None, Ok(_), None) => unreachable!("the class map drops unlabelled samples"),
            }
        }
        if ok.is_empty() {
            continue;
        }
        let views: Vec<_> = ok.iter().map(|(_, p, _)| p.tensor.view()).collect();
        let logits = model.forward_batched(stack(Axis(0), &views)?.view(), 8)?;
        for ((sample, _, label), row) in ok.iter().zip(logits.outer_iter()) {
            let probs = lantern_runtime::softmax(row);
            let predicted = crate::pipeline::top_k(row, 1)[0];
            report.leaves.push(FieldLeaf {
                source: what.clone(),
                image: sample.id.clone(),
                truth: classes[*label].clone(),
                predicted: classes.get(predicted).cloned().unwrap_or_default(),
                probability: probs[predicted] as f64,
                right: predicted == *label,
            });
        }
    }
    report.images = report.leaves.len();
    report.right = report.leaves.iter().filter(|l| l.right).count();
    report.accuracy = (report.images > 0).then(|| report.right as f64 / report.images as f64);
    Ok(report)
}

/// `field.csv`: source, image, true, predicted, probability, right.
pub fn write_table(path: &Path, report: &FieldReport) -> Result<()> {
    let mut csv = String::from("source,image,true,predicted,probability,right\n");
    for l in &report.leaves {
        csv.push_str(&format!(
            "{},{},{},{},{:.4},{}\n",
            l.source, l.image, l.truth, l.predicted, l.probability, l.right
        ));
    }
    crate::files::write_bytes(path, csv.as_bytes())
}

/// The per-leaf table in Markdown, with the accuracy line above it.
pub fn markdown(report: &FieldReport) -> String {
    let mut md = format!(
        "Field accuracy: {} of {} right ({:.1} %){}.\n\n| source | image | true | predicted | p | |\n|---|---|---|---|---:|---|\n",
        report.right,
        report.images,
        100.0 * report.accuracy.unwrap_or(f64::NAN),
        if report.left_out.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", class_map::describe(&report.left_out))
        }
    );
    for l in &report.leaves {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {} |\n",
            l.source,
            l.image,
            l.truth,
            l.predicted,
            l.probability,
            if l.right { "✓" } else { "✗" }
        ));
    }
    md
}
