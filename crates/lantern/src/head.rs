//! `[model.head]`: fit a plant-disease classifier on a backbone, as the study's fine-tuned
//! ResNet18 cannot be fetched here. Features at the input of the backbone's final Gemm (or a
//! named tensor) are extracted in batches, a multinomial logistic regression (L2, full-batch
//! gradient descent with a fixed schedule — deterministic) is fitted on a seeded stratified
//! split, and the new classifier is the backbone with that Gemm's weights replaced: an ordinary
//! ONNX model every method runs on. Cached by the hash of everything that goes into it.
//!
//! The training data is any data source (`train.rs`), optionally augmented (`augment.rs`: the
//! lab → field levers); after fitting, the classifier is scored on the `evaluate` sources
//! (`field.rs`), every run, cached or not.

pub mod augment;
pub mod field;
pub mod report;
mod train;

use crate::config::{Config, HeadSection};
use crate::files::sha256_hex;
use crate::pipeline;
use crate::run::store::HeadSummary;
use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::{ClassNames, Dataset};
use lantern_graph::ModelProto;
use lantern_runtime::{Model, Runtime};
use ndarray::{Array1, Array2, Axis};
use std::collections::BTreeMap;
use std::path::Path;

pub struct HeadReport {
    pub summary: HeadSummary,
    pub class_names: ClassNames,
}

/// The model an experiment explains: the file as given, or backbone + fitted head.
pub fn model_for(
    runtime: &'static Runtime,
    config: &Config,
    out_dir: &Path,
) -> Result<(Model, Option<HeadReport>)> {
    let Some(head) = &config.model.head else {
        return Ok((pipeline::load_model(runtime, &config.model.path)?, None));
    };
    let backbone = pipeline::load_model(runtime, &config.model.path)?;
    let set = train::training_set(config, head)?;
    let (train_all, classes) = (&set.dataset, set.classes.clone());
    let feature = match head.features.as_str() {
        "auto" => final_gemm_input(&backbone.proto)?,
        t => t.to_string(),
    };
    let key = head_key(&backbone, train_all, &classes, head, &feature, config)?;
    let cache_dir = lantern_runtime::cache::cache_root()
        .join("heads")
        .join(&key[..16]);
    let model_file = cache_dir.join("classifier.onnx");
    let summary_file = cache_dir.join("head.json");
    let head_dir = out_dir.join("head");
    std::fs::create_dir_all(&head_dir)?;
    let classes_file = head_dir.join("classes.txt");
    crate::files::write_bytes(
        &classes_file,
        format!("{}\n", classes.join("\n")).as_bytes(),
    )?;
    let class_names = ClassNames::from_lines(&classes_file)?;
    let preprocess = pipeline::preprocess_for(
        &backbone,
        config.model.preprocess,
        config.model.mean,
        config.model.std,
    )?;

    // The cached and the freshly fitted classifier end alike: load it, then evaluate it.
    let load_and_finish =
        |bytes: &[u8], summary: HeadSummary| -> Result<(Model, Option<HeadReport>)> {
            let model = Model::from_bytes(runtime, &model_file, bytes)?;
            finish(
                config,
                head,
                model,
                summary,
                class_names,
                &preprocess,
                &head_dir,
            )
        };

    if let (Ok(bytes), Ok(json)) = (std::fs::read(&model_file), std::fs::read(&summary_file))
        && let Ok(mut summary) = serde_json::from_slice::<HeadSummary>(&json)
    {
        summary.cached = true;
        eprintln!(
            "head: cached classifier {} (validation accuracy {:.1} %)",
            model_file.display(),
            100.0 * summary.validation_accuracy
        );
        return load_and_finish(&bytes, summary);
    }

    let split = train_all.stratified_split(head.validation, config.experiment.seed)?;
    let batch = pipeline::resolve_batch(
        config.runtime.batch,
        &backbone,
        config.runtime.memory_budget_mb,
    )?;
    let augmenter = augmenter_for(head, config.experiment.seed, &split.train)?;
    eprintln!(
        "head: extracting {} features for {} train{} + {} validation images ({})",
        feature,
        split.train.samples.len(),
        augmenter
            .as_ref()
            .map(|a| format!(" × {} views", a.views()))
            .unwrap_or_default(),
        split.validation.samples.len(),
        set.source
    );
    let (x_train, y_train, mut failed) = features(
        &backbone,
        &split.train,
        &preprocess,
        &feature,
        batch,
        augmenter.as_ref(),
    )?;
    let (x_val, y_val, failed_val) = features(
        &backbone,
        &split.validation,
        &preprocess,
        &feature,
        batch,
        None,
    )?;
    failed.extend(failed_val);
    let k = classes.len();
    let fit = fit_logistic(&x_train, &y_train, k, head.l2, head.epochs);
    let train_accuracy = accuracy(&fit.predict(&x_train), &y_train);
    let val_pred = fit.predict(&x_val);
    let validation_accuracy = accuracy(&val_pred, &y_val);
    let mut confusion = vec![vec![0usize; k]; k];
    for (&t, &p) in y_val.iter().zip(&val_pred) {
        confusion[t][p] += 1;
    }
    let (w, b) = fit.folded();
    let proto = replace_final_gemm(&backbone.proto, &w, &b)?;
    let bytes = lantern_graph::encode_model(&proto);
    crate::files::write_bytes(&model_file, &bytes)?;
    let summary = HeadSummary {
        model_file: model_file.clone(),
        classes: classes.clone(),
        feature_tensor: feature,
        train_images: y_train.len(),
        validation_images: y_val.len(),
        train_accuracy,
        validation_accuracy,
        confusion,
        failed_images: failed,
        cached: false,
        train_source: set.source.clone(),
        train_left_out: set.left_out.clone(),
        augment: augmenter.as_ref().map(|a| a.describe()),
        field_accuracy: None,
        field_images: 0,
        field: Vec::new(),
        field_left_out: BTreeMap::new(),
    };
    crate::files::write_bytes(&summary_file, &serde_json::to_vec_pretty(&summary)?)?;
    eprintln!(
        "head: train accuracy {:.1} %, validation accuracy {:.1} % ({} validation images)",
        100.0 * train_accuracy,
        100.0 * validation_accuracy,
        y_val.len()
    );
    load_and_finish(&bytes, summary)
}

/// The `[model.head.augment]` augmenter, with the training leaves cut out as collage
/// backgrounds where it pastes leaves over foliage; `None` without augmentation.
fn augmenter_for(
    head: &HeadSection,
    seed: u64,
    train: &lantern_data::Dataset,
) -> Result<Option<augment::Augmenter>> {
    let Some(a) = &head.augment else {
        return Ok(None);
    };
    let backgrounds = if augment::Augmenter::needs_backgrounds(a) {
        cut_leaves(train)
    } else {
        Vec::new()
    };
    Ok(Some(augment::Augmenter::new(a, seed, backgrounds)?))
}

/// Scores the classifier on the evaluate sources, writes `<out>/head/`, and hands back both.
fn finish(
    config: &Config,
    head: &HeadSection,
    model: Model,
    mut summary: HeadSummary,
    class_names: ClassNames,
    preprocess: &lantern_data::Preprocess,
    head_dir: &Path,
) -> Result<(Model, Option<HeadReport>)> {
    if !head.evaluate.is_empty() {
        let report = field::evaluate(config, head, &model, &summary.classes, preprocess)?;
        eprintln!(
            "head: field accuracy {} of {} ({})",
            report.right,
            report.images,
            report
                .leaves
                .iter()
                .map(|l| format!(
                    "{}: {} → {} {:.2}",
                    l.image, l.truth, l.predicted, l.probability
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        field::write_table(&head_dir.join("field.csv"), &report)?;
        summary.field_accuracy = report.accuracy;
        summary.field_images = report.images;
        summary.field = report.leaves;
        summary.field_left_out = report.left_out;
        summary.failed_images.extend(report.failed);
    }
    write_head_outputs(head_dir, &summary, config.output.format)?;
    Ok((
        model,
        Some(HeadReport {
            summary,
            class_names,
        }),
    ))
}

/// The confusion matrix as a table and a figure, and the accuracies, in `<out>/head/`.
fn write_head_outputs(
    dir: &Path,
    summary: &HeadSummary,
    format: lantern_plot::FigureFormat,
) -> Result<()> {
    let mut csv = format!("true\\predicted,{}\n", summary.classes.join(","));
    for (name, row) in summary.classes.iter().zip(&summary.confusion) {
        csv.push_str(&format!(
            "{name},{}\n",
            row.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    crate::files::write_bytes(&dir.join("confusion.csv"), csv.as_bytes())?;
    crate::files::write_bytes(&dir.join("head.json"), &serde_json::to_vec_pretty(summary)?)?;
    crate::figures::confusion(dir, summary, format)?;
    Ok(())
}

/// The tensor feeding the Gemm that produces the graph output (`lantern-graph`'s surgery).
fn final_gemm_input(proto: &ModelProto) -> Result<String> {
    lantern_graph::surgery::final_gemm_input(proto).map_err(|e| {
        anyhow!(
            "[model.head] features = \"auto\" needs the model output to come from a Gemm ({e}); name the feature tensor"
        )
    })
}

/// The backbone with its final Gemm's weights replaced by the head (`W: [K,F]`, `b: [K]`).
fn replace_final_gemm(proto: &ModelProto, w: &Array2<f32>, b: &Array1<f32>) -> Result<ModelProto> {
    let weight: Vec<f32> = w.iter().copied().collect();
    Ok(lantern_graph::surgery::replace_final_gemm(
        proto,
        &weight,
        [w.nrows(), w.ncols()],
        &b.to_vec(),
    )?)
}

/// Features of every sample (batched), with labels; images that fail are listed, not used.
/// With an augmenter, each image gives `views` rows (its augmented copies) instead of one.
fn features(
    model: &Model,
    data: &Dataset,
    preprocess: &lantern_data::Preprocess,
    tensor: &str,
    batch: usize,
    augmenter: Option<&augment::Augmenter>,
) -> Result<(Array2<f32>, Vec<usize>, Vec<String>)> {
    use rayon::prelude::*;
    let tap = model.tap_session(&[tensor.to_string()])?;
    let mut rows: Vec<Array1<f32>> = Vec::new();
    let mut labels = Vec::new();
    let mut failed = Vec::new();
    let progress = indicatif::ProgressBar::new(data.samples.len() as u64);
    let per_chunk = match augmenter {
        Some(a) => (batch / a.views()).max(1),
        None => batch.max(1),
    };
    for (c, chunk) in data.samples.chunks(per_chunk).enumerate() {
        // Decode, augment and preprocess on the rayon pool; sample i's views are seeded by i.
        let inputs: Vec<std::result::Result<Vec<ndarray::Array3<f32>>, String>> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, sample)| {
                if let Some(e) = &sample.error {
                    return Err(e.clone());
                }
                let decoded = lantern_data::decode_rgb8(&sample.path).map_err(|e| e.to_string())?;
                let images = match augmenter {
                    Some(a) => a.views_of(&decoded.image, (c * per_chunk + i) as u64),
                    None => vec![decoded.image],
                };
                images
                    .iter()
                    .map(|im| {
                        preprocess
                            .apply(im)
                            .map(|p| p.tensor)
                            .map_err(|e| format!("{}: {e}", sample.path.display()))
                    })
                    .collect()
            })
            .collect();
        let mut ok = Vec::new();
        for (sample, r) in chunk.iter().zip(inputs) {
            match (r, sample.label) {
                (Ok(views), Some(label)) => ok.extend(views.into_iter().map(|v| (v, label))),
                (Err(e), _) => failed.push(e),
                (Ok(_), None) => failed.push(format!("{}: no label", sample.path.display())),
            }
        }
        progress.inc(chunk.len() as u64);
        if ok.is_empty() {
            continue;
        }
        let views: Vec<_> = ok.iter().map(|(t, _)| t.view()).collect();
        let x = ndarray::stack(Axis(0), &views)?;
        let tapped = tap.run(x.view())?;
        let f = &tapped.tensors[tensor];
        let n = ok.len();
        let f = f.to_shape((n, f.len() / n))?.to_owned();
        for (i, (_, label)) in ok.iter().enumerate() {
            rows.push(f.row(i).to_owned());
            labels.push(*label);
        }
    }
    progress.finish_and_clear();
    if rows.is_empty() {
        bail!("[model.head] no usable training images");
    }
    let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
    Ok((ndarray::stack(Axis(0), &views)?, labels, failed))
}

/// Every decodable training leaf, cut out of its board, for the background collages.
fn cut_leaves(data: &Dataset) -> Vec<augment::Sprite> {
    use rayon::prelude::*;
    data.samples
        .par_iter()
        .filter(|s| s.error.is_none())
        .filter_map(|s| lantern_data::decode_rgb8(&s.path).ok())
        .map(|d| augment::Sprite::cut(d.image))
        .collect()
}

/// A fitted multinomial logistic regression on standardised features.
struct Logistic {
    mean: Array1<f32>,
    scale: Array1<f32>,
    w: Array2<f32>,
    b: Array1<f32>,
}

impl Logistic {
    fn predict(&self, x: &Array2<f32>) -> Vec<usize> {
        let z = ((x - &self.mean) / &self.scale).dot(&self.w.t()) + &self.b;
        z.outer_iter().map(|r| pipeline::top_k(r, 1)[0]).collect()
    }

    /// Standardisation folded into the weights, so the ONNX head takes raw features:
    /// W' = W / σ, b' = b − W'·μ.
    fn folded(&self) -> (Array2<f32>, Array1<f32>) {
        let w = &self.w / &self.scale;
        let b = &self.b - &w.dot(&self.mean);
        (w, b)
    }
}

/// Full-batch gradient descent with Nesterov momentum and a fixed step: deterministic for a
/// given input, no shuffling.
fn fit_logistic(x: &Array2<f32>, y: &[usize], k: usize, l2: f64, epochs: usize) -> Logistic {
    let (n, f) = x.dim();
    let mean = x.mean_axis(Axis(0)).expect("non-empty");
    let scale = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-6 { s } else { 1.0 });
    let xs = (x - &mean) / &scale;
    let mut onehot = Array2::<f32>::zeros((n, k));
    for (i, &c) in y.iter().enumerate() {
        onehot[[i, c]] = 1.0;
    }
    let (mut w, mut b) = (Array2::<f32>::zeros((k, f)), Array1::<f32>::zeros(k));
    let (mut vw, mut vb) = (w.clone(), b.clone());
    let (lr, momentum, l2) = (0.5f32, 0.9f32, l2 as f32);
    for _ in 0..epochs {
        let (lw, lb) = (&w + &(&vw * momentum), &b + &(&vb * momentum));
        let mut p = xs.dot(&lw.t()) + &lb;
        for row in p.outer_iter_mut() {
            lantern_runtime::softmax_in_place(row);
        }
        let d = (p - &onehot) / n as f32;
        let gw = d.t().dot(&xs) + &(&lw * l2);
        let gb = d.sum_axis(Axis(0));
        vw = &vw * momentum - &(gw * lr);
        vb = &vb * momentum - &(gb * lr);
        w += &vw;
        b += &vb;
    }
    Logistic { mean, scale, w, b }
}

fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    pred.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

fn head_key(
    backbone: &Model,
    data: &Dataset,
    classes: &[String],
    head: &HeadSection,
    feature: &str,
    config: &Config,
) -> Result<String> {
    let mut text = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{:?}|{}|",
        backbone.hash,
        feature,
        head.validation,
        head.l2,
        head.epochs,
        config.experiment.seed,
        config.model.preprocess,
        env!("CARGO_PKG_VERSION"),
        classes,
        serde_json::to_string(&head.augment)?
    );
    for s in &data.samples {
        let bytes =
            std::fs::read(&s.path).with_context(|| format!("reading {}", s.path.display()))?;
        text.push_str(&format!("{}:{:?}:{};", s.id, s.label, sha256_hex(&bytes)));
    }
    Ok(sha256_hex(text.as_bytes()))
}
