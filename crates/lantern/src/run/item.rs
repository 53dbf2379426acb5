//! One image → its rows: decode and preprocess (a chunk ahead, on another thread), one
//! batched clean forward pass, then every pending (point, method) of the image explained over
//! all its targets at once, each item's map, scores, figure and row written as it finishes.

use super::PlannedMethod;
use super::PlannedMethods;
use super::store::{point_params, relative, write_curves, write_row};
use crate::config::{Config, SweepPoint};
use crate::pipeline::{self, TargetSpec};
use crate::plan::WorkItem;
use crate::rows::Row;
use crate::scoring;
use anyhow::Result;
use indicatif::ProgressBar;
use lantern_data::{ClassNames, Dataset, Preprocess, Preprocessed, Sample};
use lantern_explain::{Context, Explanation};
use lantern_runtime::Model;
use ndarray::{Array1, Array4, Axis};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Images decoded ahead of the model, and per clean-forward batch.
const IMAGE_CHUNK: usize = 8;

pub(super) struct Runner<'a> {
    pub(super) config: &'a Config,
    pub(super) configs: &'a [Config],
    pub(super) points: &'a [SweepPoint],
    pub(super) methods: &'a PlannedMethods,
    pub(super) model: &'a Model,
    pub(super) names: Option<&'a ClassNames>,
    pub(super) dataset: &'a Dataset,
    pub(super) spec: &'a TargetSpec,
    /// Object boxes for the pointing games, by image path.
    pub(super) boxes: &'a crate::datasets::Boxes,
    /// Images per ONNX Runtime call, per sweep point.
    pub(super) batches: &'a [usize],
    pub(super) out_dir: &'a Path,
    pub(super) progress: &'a ProgressBar,
    /// Stamped on every row ([`result_key`]).
    pub(super) result_key: &'a str,
}

/// An image being explained: its sample, input, clean logits and prediction.
struct ImageRun<'a> {
    sample: &'a Sample,
    input: &'a Preprocessed,
    logits: &'a Array1<f32>,
    probs: &'a Array1<f32>,
    predicted: usize,
}

/// One (point, method) explanation of one target, as an item's row needs it.
#[derive(Clone, Copy)]
struct Explained<'a> {
    explanation: &'a Explanation,
    target: usize,
    seconds: f64,
    point: usize,
    method_name: &'a str,
    planned: &'a PlannedMethod,
}

/// One decoded image with its clean forward pass.
struct Prepared {
    image: usize,
    input: std::result::Result<(Preprocessed, Array1<f32>), String>,
}

impl Runner<'_> {
    pub(super) fn run(&self, todo: &[&WorkItem], preprocess: &Preprocess) -> Result<()> {
        // Group pending items by image, in plan order.
        let mut by_image: BTreeMap<usize, Vec<&WorkItem>> = BTreeMap::new();
        for it in todo {
            by_image.entry(it.image).or_default().push(it);
        }
        let images: Vec<usize> = by_image.keys().copied().collect();
        let chunks: Vec<Vec<usize>> = images.chunks(IMAGE_CHUNK).map(<[usize]>::to_vec).collect();
        // Decode the next chunk on another thread while ONNX Runtime works on this one.
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(1);
            scope.spawn(move || {
                for chunk in chunks {
                    if tx.send(self.prepare(&chunk, preprocess)).is_err() {
                        break;
                    }
                }
            });
            for prepared in rx {
                for p in prepared {
                    self.run_image(&p, &by_image[&p.image])?;
                }
            }
            Ok(())
        })
    }

    /// Decode + preprocess in parallel, then one batched clean forward pass for the chunk.
    fn prepare(&self, chunk: &[usize], preprocess: &Preprocess) -> Vec<Prepared> {
        let samples: Vec<_> = chunk.iter().map(|&i| &self.dataset.samples[i]).collect();
        let paths: Vec<&Path> = samples.iter().map(|s| s.path.as_path()).collect();
        let loaded = lantern_data::load_batch(&paths, preprocess);
        let mut out: Vec<Prepared> = Vec::with_capacity(chunk.len());
        let mut ok: Vec<(usize, Preprocessed)> = Vec::new();
        for ((&i, sample), result) in chunk.iter().zip(&samples).zip(loaded) {
            match (&sample.error, result) {
                (Some(e), _) => out.push(Prepared {
                    image: i,
                    input: Err(e.clone()),
                }),
                (None, Err(e)) => out.push(Prepared {
                    image: i,
                    input: Err(e.to_string()),
                }),
                (None, Ok(p)) => ok.push((i, p)),
            }
        }
        if !ok.is_empty() {
            let views: Vec<_> = ok.iter().map(|(_, p)| p.tensor.view()).collect();
            let batch: Array4<f32> =
                ndarray::stack(Axis(0), &views).expect("same shape by preprocessing");
            match self.model.forward_batched(batch.view(), self.batches[0]) {
                Ok(logits) => {
                    for ((i, p), row) in ok.into_iter().zip(logits.outer_iter()) {
                        let input = pipeline::check_finite(row, &self.dataset.samples[i].id)
                            .map(|_| (p, row.to_owned()))
                            .map_err(|e| e.to_string());
                        out.push(Prepared { image: i, input });
                    }
                }
                Err(e) => out.extend(ok.into_iter().map(|(i, _)| Prepared {
                    image: i,
                    input: Err(e.to_string()),
                })),
            }
        }
        out.sort_by_key(|p| p.image);
        out
    }

    fn base_row(&self, item: &WorkItem) -> Row {
        let sample = &self.dataset.samples[item.image];
        let label_name = sample.label.map(|l| {
            self.dataset
                .classes
                .get(l)
                .cloned()
                .unwrap_or_else(|| pipeline::class_name(self.names, l))
        });
        Row {
            item: item.id.clone(),
            image: sample.id.clone(),
            path: sample.path.display().to_string(),
            label: sample.label.map(|l| l as i64),
            label_name,
            method: item.method.clone(),
            point: self.points[item.point].slug(),
            params: point_params(&self.points[item.point]),
            status: "ok".into(),
            result_key: self.result_key.to_string(),
            ..Row::default()
        }
    }

    fn fail(&self, item: &WorkItem, mut row: Row, error: String) -> Result<()> {
        row.status = "failed".into();
        row.error = Some(error.clone());
        self.progress
            .println(format!("failed: {}: {error}", item.id));
        write_row(self.out_dir, &row)?;
        self.progress.inc(1);
        Ok(())
    }

    fn run_image(&self, prepared: &Prepared, items: &[&WorkItem]) -> Result<()> {
        let sample = &self.dataset.samples[prepared.image];
        let (input, logits) = match &prepared.input {
            Ok(x) => x,
            Err(e) => {
                for it in items {
                    self.fail(it, self.base_row(it), e.clone())?;
                }
                return Ok(());
            }
        };
        let probs = lantern_runtime::softmax(logits.view());
        let predicted = pipeline::top_k(logits.view(), 1)[0];
        let image = ImageRun {
            sample,
            input,
            logits,
            probs: &probs,
            predicted,
        };
        // The model-input-resolution image, once per image, for grids and the report.
        let image_file = self
            .out_dir
            .join("images")
            .join(format!("{}.png", items[0].stem));
        lantern_plot::write_png_atomic(&input.display, &image_file)?;
        let targets = match self
            .spec
            .resolve(logits.view(), sample.label, self.model.classes)
        {
            Ok(t) => t,
            Err(e) => {
                for it in items {
                    self.fail(it, self.base_row(it), format!("{e:#}"))?;
                }
                return Ok(());
            }
        };
        // Items of one (point, method) share one explain call over all their targets.
        let mut groups: BTreeMap<(usize, String), Vec<&WorkItem>> = BTreeMap::new();
        for it in items {
            groups
                .entry((it.point, it.method.clone()))
                .or_default()
                .push(it);
        }
        for ((point, method_name), group) in groups {
            let planned = &self.methods[point]
                .iter()
                .find(|(n, _)| *n == method_name)
                .expect("planned")
                .1;
            let ctx = Context {
                model: self.model,
                logits: logits.view(),
                batch_size: self.batches[point],
                seed: self.config.experiment.seed,
            };
            let group_targets: Vec<usize> = group
                .iter()
                .filter_map(|it| targets.get(it.slot).copied())
                .collect();
            let started = Instant::now();
            let result = planned
                .method
                .explain_many(&ctx, input.tensor.view(), &group_targets);
            let seconds = started.elapsed().as_secs_f64() / group_targets.len().max(1) as f64;
            let explanations = match result {
                Ok(e) => e,
                Err(e) => {
                    for it in &group {
                        self.fail(it, self.base_row(it), format!("{method_name}: {e}"))?;
                    }
                    continue;
                }
            };
            for (it, (e, &target)) in group.iter().zip(explanations.iter().zip(&group_targets)) {
                let done = Explained {
                    explanation: e,
                    target,
                    seconds,
                    point,
                    method_name: &method_name,
                    planned,
                };
                self.write_item(it, &image, &done)?;
            }
        }
        Ok(())
    }

    /// One item's row from its explanation: map, stats, scores, figure, written as it finishes.
    fn write_item(&self, it: &WorkItem, image: &ImageRun, done: &Explained) -> Result<()> {
        let ImageRun {
            sample,
            input,
            logits,
            probs,
            predicted,
        } = image;
        let (sample, input, logits, predicted) = (*sample, *input, *logits, *predicted);
        let Explained {
            explanation: e,
            target,
            seconds,
            point,
            method_name,
            planned,
        } = *done;
        let cfg = &self.configs[point];
        let mut row = self.base_row(it);
        row.notes = input.notes.clone();
        row.target = Some(target as i64);
        row.target_name = Some(pipeline::class_name(self.names, target));
        row.target_probability = Some(probs[target] as f64);
        row.predicted = Some(predicted as i64);
        row.predicted_name = Some(pipeline::class_name(self.names, predicted));
        row.predicted_probability = Some(probs[predicted] as f64);
        row.seconds = seconds;
        // Occlusion's own time, without its fidelity check against the exact map.
        if let Some(s) = e.stats.get("measured_seconds") {
            row.seconds = *s;
        }
        row.forward_passes = e.passes.forward as i64;
        row.backward_passes = e.passes.backward as i64;
        if planned.layer_param {
            row.notes
                .push(format!("CAM layer {}", self.config.model.layer));
        }
        let spatial = e.spatial();
        let region = self.boxes.get(&sample.path).map(|bs| {
            let (w, h) = (spatial.ncols(), spatial.nrows());
            lantern_metrics::Region::Boxes(
                bs.iter()
                    .filter_map(|b| lantern_data::box_to_input(b, &input.geometry, w, h))
                    .map(|[x0, y0, x1, y1]| lantern_metrics::BoundingBox::new(x0, y0, x1, y1))
                    .collect(),
            )
        });
        row.stats.extend(pipeline::map_stats(&spatial));
        row.stats.extend(e.stats.clone());
        let saved = pipeline::save_map(&self.out_dir.join("maps"), &it.id, e)?;
        row.map_file = Some(relative(self.out_dir, &saved.map_file));
        row.map_sha256 = Some(saved.map_sha256);
        if !cfg.metrics.list.is_empty() {
            let scores = scoring::metric_settings(&cfg.metrics.settings).and_then(|settings| {
                Ok(lantern_metrics::score_map(
                    self.model,
                    input.tensor.view(),
                    &spatial,
                    target,
                    &cfg.metrics.list,
                    &settings,
                    self.batches[point],
                    Some(logits.view()),
                    region.as_ref(),
                )?)
            });
            match scores {
                Ok(scores) => {
                    row.metrics = scores.values.clone();
                    row.stats.insert("metric_seconds".into(), scores.seconds);
                    row.stats
                        .insert("metric_forward_passes".into(), scores.forward_passes as f64);
                    write_curves(self.out_dir, &it.id, &scores.curves)?;
                }
                Err(err) => {
                    self.fail(it, row, format!("metrics: {err:#}"))?;
                    return Ok(());
                }
            }
        }
        if cfg.output.figures {
            let figure = (self.out_dir.join("figures")).join(format!(
                "{}.{}",
                it.id,
                cfg.output.format.extension()
            ));
            let (target_name, predicted_name) = (
                pipeline::class_name(self.names, target),
                pipeline::class_name(self.names, predicted),
            );
            let title = lantern_plot::PredictionTitle {
                truth: row.label_name.as_deref(),
                predicted: &predicted_name,
                predicted_index: predicted,
                predicted_probability: probs[predicted],
                target: (target != predicted)
                    .then(|| (target_name.as_str(), target, probs[target])),
                method: method_name,
            }
            .text();
            let subtitle =
                (!self.points[point].values.is_empty()).then(|| self.points[point].slug());
            let signed = pipeline::is_signed(method_name) && e.map.ndim() == 2;
            if let Err(err) = crate::figure_style::save(
                &figure,
                input,
                &spatial,
                title,
                subtitle,
                signed,
                method_name,
                &cfg.output,
            ) {
                self.fail(it, row, format!("figure: {err:#}"))?;
                return Ok(());
            }
            row.figure_file = Some(relative(self.out_dir, &figure));
        }
        write_row(self.out_dir, &row)?;
        self.progress.set_message(it.id.clone());
        self.progress.inc(1);
        Ok(())
    }
}
