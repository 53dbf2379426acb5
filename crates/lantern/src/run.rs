//! `lantern run`: config → plan → run → artifacts → report. Every work item writes its map,
//! figure and row the moment it finishes (atomically), so an interrupted run keeps what it has
//! and a rerun skips finished items (verified by the map's content hash). The tables, summary
//! and report are then assembled from the item rows — the same code `lantern merge` uses.

use crate::config::{Config, ExperimentFile, SweepPoint, value_text};
use crate::files::{safe_name, sha256_hex};
use crate::pipeline::{self, TargetSpec};
use crate::plan::{self, WorkItem};
use crate::rows::Row;
use crate::{RuntimeArgs, report, scoring};
use anyhow::{Context as _, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use lantern_data::{ClassNames, Dataset, Preprocess, Preprocessed};
use lantern_explain::{Context, Method, ParamValue, Params};
use lantern_runtime::Model;
use ndarray::{Array1, Array4, Axis};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Images decoded ahead of the model, and per clean-forward batch.
const IMAGE_CHUNK: usize = 8;

/// What a run records at its start so that `merge` can assemble the same tables later.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunPlan {
    pub experiment: String,
    pub config_file: PathBuf,
    pub sets: Vec<String>,
    pub config_hash: String,
    pub items: Vec<WorkItem>,
    pub points: Vec<BTreeMap<String, String>>,
    /// Images in the methods grid of the report.
    pub grid_images: usize,
}

/// A method built for one sweep point, with the parameters it was built from.
struct PlannedMethod {
    method: Box<dyn Method>,
    layer_param: bool,
}

pub fn run_experiment(
    path: &Path,
    out: Option<PathBuf>,
    sets: &[String],
    shard: Option<&str>,
    rt: &RuntimeArgs,
) -> Result<ExitCode> {
    let started = Instant::now();
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    let mut file = ExperimentFile::load(path)?;
    for s in sets {
        file.apply_set(s)?;
    }
    let points = file.sweep_points()?;
    let configs: Vec<Config> = points
        .iter()
        .map(|p| file.typed(p))
        .collect::<Result<_>>()?;
    let config = configs[0].clone();
    check_sweep_scope(&configs, path)?;
    let shard = shard.map(plan::parse_shard).transpose()?;
    let out_dir =
        out.unwrap_or_else(|| PathBuf::from("reports").join(safe_name(&config.experiment.name)));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;
    probe_writable(&out_dir)?;

    let runtime = pipeline::open_runtime(
        rt.device
            .as_deref()
            .or(Some(config.runtime.device.as_str())),
        rt.threads.or(config.runtime.threads),
        config.runtime.library.clone(),
    )?;
    let t = Instant::now();
    let (model, head_report) = crate::head::model_for(runtime, &config, &out_dir)?;
    timings.insert("model".into(), t.elapsed().as_secs_f64());
    let names = pipeline::class_names(config.model.labels.as_deref(), model.classes)?;
    let names = names.or_else(|| head_report.as_ref().map(|h| h.class_names.clone()));
    let preprocess = pipeline::preprocess_for(
        &model,
        &config.model.preprocess,
        config.model.mean,
        config.model.std,
    )?;
    let t = Instant::now();
    let (dataset, boxes) = crate::datasets::load(&config, path)?;
    timings.insert("data".into(), t.elapsed().as_secs_f64());
    let spec = target_spec(&config, names.as_ref())?;
    let batches: Vec<usize> = configs
        .iter()
        .map(|c| resolve_batch(c.runtime.batch, &model, c.runtime.memory_budget_mb))
        .collect::<Result<_>>()?;

    // Build every method of every point up front: a bad parameter fails before any work.
    let layer = if config.model.layer == "auto" {
        None
    } else {
        Some(config.model.layer.clone())
    };
    let mut methods: Vec<Vec<(String, PlannedMethod)>> = Vec::new();
    for (cfg, point) in configs.iter().zip(&points) {
        let mut built = Vec::new();
        for (name, table) in &cfg.methods {
            let table = table.as_table().ok_or_else(|| {
                anyhow!(
                    "{}: [methods.{name}] must be a table of parameters",
                    path.display()
                )
            })?;
            built.push((
                name.clone(),
                build_method(name, table, layer.as_deref(), &file, point)?,
            ));
        }
        if built.is_empty() {
            bail!(
                "{}: no methods: add e.g. [methods.occlusion]",
                path.display()
            );
        }
        scoring::check_settings(&cfg.metrics.settings).map_err(|e| {
            let key = e
                .to_string()
                .split(']')
                .next()
                .unwrap_or("")
                .trim_start_matches('[')
                .to_string();
            let line = crate::config::find_line(&file.source, &format!("[{key}]"))
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            anyhow!("{}{line}: {e}", path.display())
        })?;
        for m in &cfg.metrics.list {
            scoring::check_names(std::slice::from_ref(m))
                .with_context(|| format!("{}: [metrics] list", path.display()))?;
        }
        methods.push(built);
    }
    let method_names: Vec<Vec<String>> = methods
        .iter()
        .map(|ms| ms.iter().map(|(n, _)| n.clone()).collect())
        .collect();
    let items = plan::plan(&dataset.samples, &points, &method_names, spec.slots());
    let config_hash = config_hash(&file, sets)?;
    let run_plan = RunPlan {
        experiment: config.experiment.name.clone(),
        config_file: path.to_path_buf(),
        sets: sets.to_vec(),
        config_hash: config_hash.clone(),
        items: items.clone(),
        points: points.iter().map(point_params).collect(),
        grid_images: config.output.grid_images,
    };
    crate::files::write_bytes(
        &out_dir.join("plan.json"),
        &serde_json::to_vec_pretty(&run_plan)?,
    )?;

    let mine: Vec<&WorkItem> = items
        .iter()
        .filter(|it| plan::in_shard(it, shard))
        .collect();
    let result_key = result_key(&config_hash);
    let done = finished_items(&out_dir, &mine, &result_key);
    let todo: Vec<&WorkItem> = mine
        .iter()
        .copied()
        .filter(|it| !done.contains_key(&it.id))
        .collect();
    eprintln!(
        "{}: {} images × {} point(s) → {} work items{}; {} already finished, {} to run (model on {})",
        config.experiment.name,
        dataset.samples.len(),
        points.len(),
        items.len(),
        shard
            .map(|(i, n)| format!(" (shard {i}/{n}: {})", mine.len()))
            .unwrap_or_default(),
        done.len(),
        todo.len(),
        model.device_used
    );

    let progress = ProgressBar::new(todo.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} items · eta {eta} · {msg}",
        )
        .expect("static template"),
    );
    let t = Instant::now();
    let runner = Runner {
        config: &config,
        configs: &configs,
        points: &points,
        methods: &methods,
        model: &model,
        names: names.as_ref(),
        dataset: &dataset,
        spec: &spec,
        boxes: &boxes,
        batches: &batches,
        out_dir: &out_dir,
        progress: &progress,
        result_key: &result_key,
    };
    runner.run(&todo, &preprocess)?;
    progress.finish_and_clear();
    timings.insert("run".into(), t.elapsed().as_secs_f64());

    let mut sanity_figures = Vec::new();
    if let (Some(section), None) = (&config.sanity, shard) {
        let t = Instant::now();
        let stamp = out_dir.join("sanity.config-hash");
        let figures = [
            out_dir.join("figures/sanity-spearman.png"),
            out_dir.join("figures/sanity-ssim.png"),
        ];
        let fresh = std::fs::read_to_string(&stamp).is_ok_and(|h| h == config_hash)
            && figures.iter().all(|f| f.is_file());
        if fresh {
            sanity_figures = vec![
                (
                    "Sanity check: Spearman rank correlation (|map|) vs layers randomised"
                        .to_string(),
                    figures[0].clone(),
                ),
                (
                    "Sanity check: SSIM vs layers randomised".to_string(),
                    figures[1].clone(),
                ),
            ];
        } else {
            eprintln!(
                "sanity check: cascading randomisation for {}",
                section.methods.join(", ")
            );
            sanity_figures = crate::sanity::run(
                &config,
                section,
                &model,
                &dataset,
                &preprocess,
                batches[0],
                &out_dir,
            )?;
            crate::files::write_bytes(&stamp, config_hash.as_bytes())?;
        }
        timings.insert("sanity".into(), t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let mut assembled = report::assemble(&out_dir, &run_plan, shard)?;
    assembled.figures.extend(sanity_figures);
    timings.insert("report".into(), t.elapsed().as_secs_f64());
    timings.insert("total".into(), started.elapsed().as_secs_f64());
    report::write_manifest(
        &out_dir,
        &file,
        sets,
        &config_hash,
        &model,
        runtime,
        &timings,
        &assembled,
        head_report.as_ref(),
        shard,
        &batches,
    )?;
    eprintln!(
        "{}: {} ok, {} failed → {}",
        config.experiment.name,
        assembled.ok,
        assembled.failed,
        out_dir.display()
    );
    if assembled.failed > 0 {
        eprintln!(
            "{} item(s) failed; see the error column of {}",
            assembled.failed,
            out_dir.join("scores.csv").display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `lantern merge DIR`: assemble tables and report from every shard's item rows.
pub fn merge(dir: &Path) -> Result<ExitCode> {
    let plan_path = dir.join("plan.json");
    let run_plan: RunPlan =
        serde_json::from_slice(&std::fs::read(&plan_path).with_context(|| {
            format!("{} not found: is this a run folder?", plan_path.display())
        })?)
        .with_context(|| format!("reading {}", plan_path.display()))?;
    let assembled = report::assemble(dir, &run_plan, None)?;
    let missing = run_plan.items.len() - assembled.ok - assembled.failed;
    eprintln!(
        "merged {}: {} ok, {} failed, {} missing",
        dir.display(),
        assembled.ok,
        assembled.failed,
        missing
    );
    if missing > 0 {
        bail!(
            "{missing} work item(s) have no result yet: run the remaining shards, then merge again"
        );
    }
    report::merge_manifests(dir)?;
    Ok(if assembled.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Only methods, metrics, batch sizes and output settings may vary across sweep points: one
/// model and one dataset per run.
fn check_sweep_scope(configs: &[Config], path: &Path) -> Result<()> {
    let fixed = |c: &Config| -> Result<String> {
        Ok(serde_json::to_string(&(
            &c.model,
            &c.data,
            &c.targets,
            &c.experiment,
            &c.runtime.device,
        ))?)
    };
    let first = fixed(&configs[0])?;
    for c in &configs[1..] {
        if fixed(c)? != first {
            bail!(
                "{}: [sweep] may vary methods.*, metrics.*, runtime.batch and output.*; sweeping the model, data, targets or device needs separate experiments",
                path.display()
            );
        }
    }
    Ok(())
}

/// The batch for `model`: fixed, or sized from the memory budget.
pub fn resolve_batch(
    batch: crate::config::BatchSize,
    model: &Model,
    budget_mb: u64,
) -> Result<usize> {
    match batch {
        crate::config::BatchSize::Fixed(0) => {
            bail!("runtime.batch must be at least 1 (or \"auto\")")
        }
        crate::config::BatchSize::Fixed(n) => Ok(n),
        crate::config::BatchSize::Auto(_) => Ok(model.auto_batch(budget_mb * 1024 * 1024)?),
    }
}

fn probe_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".lantern-write-test");
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("output folder {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

fn target_spec(config: &Config, names: Option<&ClassNames>) -> Result<TargetSpec> {
    let t = &config.targets;
    match t.mode.as_str() {
        "top1" => Ok(TargetSpec::Top1),
        "label" => Ok(TargetSpec::Label),
        "top-k" => Ok(TargetSpec::TopK(t.k.max(1))),
        "class" => {
            let class = t.class.as_ref().ok_or_else(|| {
                anyhow!("targets.mode = \"class\" needs targets.class (an index or a name)")
            })?;
            TargetSpec::parse(&value_text(class), t.k, names)
        }
        other => bail!("targets.mode = {other:?}: expected top1, label, class or top-k"),
    }
}

fn build_method(
    name: &str,
    table: &toml::Table,
    layer: Option<&str>,
    file: &ExperimentFile,
    point: &SweepPoint,
) -> Result<PlannedMethod> {
    let mut values: BTreeMap<String, ParamValue> = BTreeMap::new();
    for (k, v) in table {
        let value = match v {
            toml::Value::Integer(i) => ParamValue::Int(*i),
            toml::Value::Float(f) => ParamValue::Float(*f),
            toml::Value::Boolean(b) => ParamValue::Bool(*b),
            toml::Value::String(s) => ParamValue::Text(s.clone()),
            other => bail!(
                "{}: [methods.{name}] {k} = {other}: expected a number, boolean or string",
                file.path.display()
            ),
        };
        values.insert(k.clone(), value);
    }
    let mut layer_param = false;
    if let Some(layer) = layer
        && pipeline::takes_layer(name)
        && !values.contains_key("layer")
    {
        values.insert("layer".into(), ParamValue::Text(layer.to_string()));
        layer_param = true;
    }
    let params = Params::new(name, values);
    let method = lantern_explain::build_method(name, &params).map_err(|e| {
        let line = crate::config::find_line(&file.source, &format!("[methods.{name}]"))
            .map(|l| format!(":{l}"))
            .unwrap_or_default();
        let at = if point.values.is_empty() {
            String::new()
        } else {
            format!(" (sweep point {})", point.slug())
        };
        anyhow!("{}{line}: {e}{at}", file.path.display())
    })?;
    Ok(PlannedMethod {
        method,
        layer_param,
    })
}

fn point_params(p: &SweepPoint) -> BTreeMap<String, String> {
    p.values
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect()
}

/// The hash of everything that affects results: the resolved config tree (after `--set`),
/// excluding `output.*` display settings. Key order is canonical (sorted), so formatting and
/// comments do not change it.
pub fn config_hash(file: &ExperimentFile, _sets: &[String]) -> Result<String> {
    let mut tree = file.tree.clone();
    tree.remove("output");
    let canonical = serde_json::to_string(&toml::Value::Table(tree))?;
    Ok(sha256_hex(canonical.as_bytes()))
}

/// What a row's result depends on beyond its item id: the config hash and the revision of
/// Lantern's numbers (the crate version and the gradient graphs' revision).
pub fn result_key(config_hash: &str) -> String {
    format!(
        "{config_hash}:lantern-{}:graph-{}",
        env!("CARGO_PKG_VERSION"),
        lantern_graph::autodiff::GRAPH_REVISION
    )
}

/// Rows of items that finished before from the same config and Lantern ([`result_key`]):
/// status ok, map file present with the recorded hash.
pub fn finished_items(
    out_dir: &Path,
    items: &[&WorkItem],
    result_key: &str,
) -> HashMap<String, Row> {
    let mut done = HashMap::new();
    for item in items {
        let Some(row) = read_row(out_dir, &item.id) else {
            continue;
        };
        if row.failed() || row.result_key != result_key {
            continue;
        }
        let intact = match (&row.map_file, &row.map_sha256) {
            (Some(f), Some(h)) => std::fs::read(out_dir.join(f))
                .map(|b| &sha256_hex(&b) == h)
                .unwrap_or(false),
            _ => false,
        };
        if intact {
            done.insert(item.id.clone(), row);
        }
    }
    done
}

/// The item's row: `None` when the item has not finished; a failed row naming the file when
/// the file exists but cannot be read back.
pub fn read_row(out_dir: &Path, id: &str) -> Option<Row> {
    let file = out_dir.join("items").join(format!("{id}.json"));
    let bytes = std::fs::read(&file).ok()?;
    Some(
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| Row::unreadable(id, &file, &e.to_string())),
    )
}

fn write_row(out_dir: &Path, row: &Row) -> Result<()> {
    crate::files::write_bytes(
        &out_dir.join("items").join(format!("{}.json", row.item)),
        &serde_json::to_vec_pretty(row)?,
    )
}

fn write_curves(out_dir: &Path, item: &str, curves: &[lantern_metrics::CausalCurve]) -> Result<()> {
    if curves.is_empty() {
        return Ok(());
    }
    crate::files::write_bytes(
        &out_dir.join("curves").join(format!("{item}.json")),
        &serde_json::to_vec(curves)?,
    )
}

struct Runner<'a> {
    config: &'a Config,
    configs: &'a [Config],
    points: &'a [SweepPoint],
    methods: &'a [Vec<(String, PlannedMethod)>],
    model: &'a Model,
    names: Option<&'a ClassNames>,
    dataset: &'a Dataset,
    spec: &'a TargetSpec,
    /// Object boxes for the pointing games, by image path.
    boxes: &'a crate::datasets::Boxes,
    /// Images per ONNX Runtime call, per sweep point.
    batches: &'a [usize],
    out_dir: &'a Path,
    progress: &'a ProgressBar,
    /// Stamped on every row ([`result_key`]).
    result_key: &'a str,
}

/// One decoded image with its clean forward pass.
struct Prepared {
    image: usize,
    input: std::result::Result<(Preprocessed, Array1<f32>), String>,
}

impl Runner<'_> {
    fn run(&self, todo: &[&WorkItem], preprocess: &Preprocess) -> Result<()> {
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
            let cfg = &self.configs[point];
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
                .explain_targets(&ctx, input.tensor.view(), &group_targets);
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
                    row.seconds = s / group_targets.len().max(1) as f64;
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
                            .map(|[x0, y0, x1, y1]| {
                                lantern_metrics::BoundingBox::new(x0, y0, x1, y1)
                            })
                            .collect(),
                    )
                });
                row.stats.extend(pipeline::map_stats(&spatial));
                row.stats.extend(e.stats.clone());
                let saved = pipeline::save_map(&self.out_dir.join("maps"), &it.id, e)?;
                row.map_file = Some(relative(self.out_dir, &saved.map_file));
                row.map_sha256 = Some(saved.map_sha256);
                if !cfg.metrics.list.is_empty() {
                    match scoring::score_map(
                        self.model,
                        input.tensor.view(),
                        &spatial,
                        target,
                        &cfg.metrics.list,
                        &cfg.metrics.settings,
                        self.batches[point],
                        Some(logits.view()),
                        region.as_ref(),
                    ) {
                        Ok(scores) => {
                            row.metrics = scores.values.clone();
                            row.stats.insert("metric_seconds".into(), scores.seconds);
                            row.stats.insert(
                                "metric_forward_passes".into(),
                                scores.forward_passes as f64,
                            );
                            write_curves(self.out_dir, &it.id, &scores.curves)?;
                        }
                        Err(err) => {
                            self.fail(it, row, format!("metrics: {err:#}"))?;
                            continue;
                        }
                    }
                }
                if cfg.output.figures {
                    let figure = self.out_dir.join("figures").join(format!("{}.png", it.id));
                    let title = lantern_plot::prediction_title(
                        &pipeline::class_name(self.names, target),
                        target,
                        probs[target],
                        &method_name,
                    );
                    let subtitle =
                        (!self.points[point].values.is_empty()).then(|| self.points[point].slug());
                    let signed = pipeline::is_signed(&method_name) && e.map.ndim() == 2;
                    let two = (cfg.output.panels == "two").then_some(method_name.as_str());
                    if let Err(err) = pipeline::save_figure(
                        &figure, input, &spatial, title, subtitle, signed, two,
                    ) {
                        self.fail(it, row, format!("figure: {err:#}"))?;
                        continue;
                    }
                    row.figure_file = Some(relative(self.out_dir, &figure));
                }
                write_row(self.out_dir, &row)?;
                self.progress.set_message(it.id.clone());
                self.progress.inc(1);
            }
        }
        Ok(())
    }
}

pub fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}
