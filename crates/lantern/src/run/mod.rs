//! `lantern run`: config → plan → run → artifacts → report. Every work item writes its map,
//! figure and row the moment it finishes (atomically), so an interrupted run keeps what it has
//! and a rerun skips finished items (verified by the map's content hash). The tables, summary
//! and report are then assembled from the item rows — the same code `lantern merge` uses.
//!
//! [`run_experiment`] is the stages in order: [`load_config`] → [`open_model`] →
//! [`build_methods`] → [`plan_items`] → [`execute`] (one image at a time, `item.rs`) →
//! [`sanity_check`] → [`assemble`]. What they keep on disk is `store.rs`.

mod item;
pub mod store;

use crate::commands::RuntimeArgs;
use crate::config::{Config, ExperimentFile, SweepPoint, TargetMode, value_text};
use crate::datasets::Boxes;
use crate::files::safe_name;
use crate::head::HeadReport;
use crate::pipeline::{self, TargetSpec};
use crate::plan::{self, WorkItem};
use crate::{report, scoring};
use anyhow::{Context as _, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use item::Runner;
use lantern_data::{ClassNames, Dataset, Preprocess};
use lantern_explain::{Method, ParamValue, Params};
use lantern_runtime::{Model, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use store::{RunPlan, config_hash, finished_items, point_params, result_key};

/// A method built for one sweep point, with the parameters it was built from.
struct PlannedMethod {
    method: Box<dyn Method>,
    layer_param: bool,
}

/// The methods of every sweep point, by name, in the order of the file.
type PlannedMethods = Vec<Vec<(String, PlannedMethod)>>;

/// Stage 1: the experiment file with `--set` applied, typed once per sweep point.
struct Loaded {
    file: ExperimentFile,
    points: Vec<SweepPoint>,
    configs: Vec<Config>,
    shard: Option<(usize, usize)>,
    out_dir: PathBuf,
}

impl Loaded {
    /// The first point's config: everything a sweep may not vary.
    fn config(&self) -> &Config {
        &self.configs[0]
    }
}

/// Stage 2: the model (with its fitted head), its inputs and the dataset.
struct Opened {
    runtime: &'static Runtime,
    model: Model,
    head_report: Option<HeadReport>,
    names: Option<ClassNames>,
    preprocess: Preprocess,
    dataset: Dataset,
    boxes: Boxes,
    spec: TargetSpec,
    /// Images per ONNX Runtime call, per sweep point.
    batches: Vec<usize>,
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
    let loaded = load_config(path, out, sets, shard)?;
    let opened = open_model(&loaded, path, rt, &mut timings)?;
    let methods = build_methods(&loaded, path)?;
    let (run_plan, config_hash) = plan_items(&loaded, &opened, &methods, path, sets)?;
    let t = Instant::now();
    execute(&loaded, &opened, &methods, &run_plan, &config_hash)?;
    timings.insert("run".into(), t.elapsed().as_secs_f64());
    let sanity_figures = sanity_check(&loaded, &opened, &config_hash, &mut timings)?;
    assemble(
        &loaded,
        &opened,
        &run_plan,
        &config_hash,
        sets,
        sanity_figures,
        started,
        timings,
    )
}

/// Reads the file, applies the overrides, expands the sweep and prepares the output folder.
fn load_config(
    path: &Path,
    out: Option<PathBuf>,
    sets: &[String],
    shard: Option<&str>,
) -> Result<Loaded> {
    let mut file = ExperimentFile::load(path)?;
    for s in sets {
        file.apply_set(s)?;
    }
    let points = file.sweep_points()?;
    let configs: Vec<Config> = points
        .iter()
        .map(|p| file.typed(p))
        .collect::<Result<_>>()?;
    check_sweep_scope(&configs, path)?;
    for c in &configs {
        crate::figure_style::check(&c.output).with_context(|| path.display().to_string())?;
    }
    let shard = shard.map(plan::parse_shard).transpose()?;
    let out_dir = out
        .unwrap_or_else(|| PathBuf::from("reports").join(safe_name(&configs[0].experiment.name)));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;
    probe_writable(&out_dir)?;
    Ok(Loaded {
        file,
        points,
        configs,
        shard,
        out_dir,
    })
}

/// Starts ONNX Runtime, loads the model (fitting its head if asked), the class names, the
/// preprocessing and the dataset, and resolves targets and batch sizes.
fn open_model(
    loaded: &Loaded,
    path: &Path,
    rt: &RuntimeArgs,
    timings: &mut BTreeMap<String, f64>,
) -> Result<Opened> {
    let config = loaded.config();
    let device = config.runtime.device.to_string();
    let runtime = pipeline::open_runtime(
        rt.device.as_deref().or(Some(device.as_str())),
        rt.threads.or(config.runtime.threads),
        config.runtime.library.clone(),
    )?;
    let t = Instant::now();
    let (model, head_report) = crate::head::model_for(runtime, config, &loaded.out_dir)?;
    timings.insert("model".into(), t.elapsed().as_secs_f64());
    let names = pipeline::class_names(config.model.labels.as_deref(), model.classes)?;
    let names = names.or_else(|| head_report.as_ref().map(|h| h.class_names.clone()));
    let preprocess = pipeline::preprocess_for(
        &model,
        config.model.preprocess,
        config.model.mean,
        config.model.std,
    )?;
    let t = Instant::now();
    let (dataset, boxes) = crate::datasets::load(config, path)?;
    timings.insert("data".into(), t.elapsed().as_secs_f64());
    let spec = target_spec(config, names.as_ref())?;
    let batches: Vec<usize> = loaded
        .configs
        .iter()
        .map(|c| pipeline::resolve_batch(c.runtime.batch, &model, c.runtime.memory_budget_mb))
        .collect::<Result<_>>()?;
    Ok(Opened {
        runtime,
        model,
        head_report,
        names,
        preprocess,
        dataset,
        boxes,
        spec,
        batches,
    })
}

/// Builds every method of every point up front, and checks the metrics: a bad parameter fails
/// before any work.
fn build_methods(loaded: &Loaded, path: &Path) -> Result<PlannedMethods> {
    let config = loaded.config();
    let file = &loaded.file;
    let layer = if config.model.layer == "auto" {
        None
    } else {
        Some(config.model.layer.clone())
    };
    let mut methods: PlannedMethods = Vec::new();
    for (cfg, point) in loaded.configs.iter().zip(&loaded.points) {
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
                build_method(name, table, layer.as_deref(), file, point)?,
            ));
        }
        if built.is_empty() {
            bail!(
                "{}: no methods: add e.g. [methods.occlusion]",
                path.display()
            );
        }
        for (name, table) in &cfg.metrics.settings {
            scoring::check_settings(name, table).map_err(|e| {
                let line = crate::config::find_line(&file.source, &format!("[metrics.{name}]"))
                    .map(|l| format!(":{l}"))
                    .unwrap_or_default();
                anyhow!("{}{line}: {e}", path.display())
            })?;
        }
        for m in &cfg.metrics.list {
            scoring::check_names(std::slice::from_ref(m))
                .with_context(|| format!("{}: [metrics] list", path.display()))?;
        }
        methods.push(built);
    }
    Ok(methods)
}

/// Expands images × points × methods × targets into work items and records the plan in
/// `plan.json`, with the config hash the results are keyed by.
fn plan_items(
    loaded: &Loaded,
    opened: &Opened,
    methods: &PlannedMethods,
    path: &Path,
    sets: &[String],
) -> Result<(RunPlan, String)> {
    let method_names: Vec<Vec<String>> = methods
        .iter()
        .map(|ms| ms.iter().map(|(n, _)| n.clone()).collect())
        .collect();
    let items = plan::plan(
        &opened.dataset.samples,
        &loaded.points,
        &method_names,
        opened.spec.slots(),
    );
    let config_hash = config_hash(&loaded.file, sets)?;
    let run_plan = RunPlan {
        experiment: loaded.config().experiment.name.clone(),
        config_file: path.to_path_buf(),
        sets: sets.to_vec(),
        config_hash: config_hash.clone(),
        items,
        points: loaded.points.iter().map(point_params).collect(),
        grid_images: loaded.config().output.grid_images,
        figure_format: loaded.config().output.format,
    };
    crate::files::write_bytes(
        &loaded.out_dir.join("plan.json"),
        &serde_json::to_vec_pretty(&run_plan)?,
    )?;
    Ok((run_plan, config_hash))
}

/// Runs this shard's items that have no reusable result yet.
fn execute(
    loaded: &Loaded,
    opened: &Opened,
    methods: &PlannedMethods,
    run_plan: &RunPlan,
    config_hash: &str,
) -> Result<()> {
    let (config, shard, out_dir) = (loaded.config(), loaded.shard, &loaded.out_dir);
    let items = &run_plan.items;
    let mine: Vec<&WorkItem> = items
        .iter()
        .filter(|it| plan::in_shard(it, shard))
        .collect();
    let result_key = result_key(config_hash);
    let done = finished_items(out_dir, &mine, &result_key);
    let todo: Vec<&WorkItem> = mine
        .iter()
        .copied()
        .filter(|it| !done.contains_key(&it.id))
        .collect();
    eprintln!(
        "{}: {} images × {} point(s) → {} work items{}; {} already finished, {} to run (model on {})",
        config.experiment.name,
        opened.dataset.samples.len(),
        loaded.points.len(),
        items.len(),
        shard
            .map(|(i, n)| format!(" (shard {i}/{n}: {})", mine.len()))
            .unwrap_or_default(),
        done.len(),
        todo.len(),
        opened.model.device_used
    );

    let progress = ProgressBar::new(todo.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} items · eta {eta} · {msg}",
        )
        .expect("static template"),
    );
    let runner = Runner {
        config,
        configs: &loaded.configs,
        points: &loaded.points,
        methods,
        model: &opened.model,
        names: opened.names.as_ref(),
        dataset: &opened.dataset,
        spec: &opened.spec,
        boxes: &opened.boxes,
        batches: &opened.batches,
        out_dir,
        progress: &progress,
        result_key: &result_key,
    };
    runner.run(&todo, &opened.preprocess)?;
    progress.finish_and_clear();
    Ok(())
}

/// `[sanity]`: the cascading randomisation check, reused while the config is unchanged.
fn sanity_check(
    loaded: &Loaded,
    opened: &Opened,
    config_hash: &str,
    timings: &mut BTreeMap<String, f64>,
) -> Result<Vec<(String, PathBuf)>> {
    let (config, out_dir) = (loaded.config(), &loaded.out_dir);
    let mut sanity_figures = Vec::new();
    if let (Some(section), None) = (&config.sanity, loaded.shard) {
        let t = Instant::now();
        let stamp = out_dir.join("sanity.config-hash");
        let ext = config.output.format.extension();
        let figures = [
            out_dir.join(format!("figures/sanity-spearman.{ext}")),
            out_dir.join(format!("figures/sanity-ssim.{ext}")),
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
                config,
                section,
                &opened.model,
                &opened.dataset,
                &opened.preprocess,
                opened.batches[0],
                out_dir,
            )?;
            crate::files::write_bytes(&stamp, config_hash.as_bytes())?;
        }
        timings.insert("sanity".into(), t.elapsed().as_secs_f64());
    }
    Ok(sanity_figures)
}

/// Tables, figures, manifest and report from the item rows; the exit code says whether any
/// item failed.
#[allow(clippy::too_many_arguments)]
fn assemble(
    loaded: &Loaded,
    opened: &Opened,
    run_plan: &RunPlan,
    config_hash: &str,
    sets: &[String],
    sanity_figures: Vec<(String, PathBuf)>,
    started: Instant,
    mut timings: BTreeMap<String, f64>,
) -> Result<ExitCode> {
    let (config, shard, out_dir) = (loaded.config(), loaded.shard, &loaded.out_dir);
    let t = Instant::now();
    let mut assembled = report::assemble(out_dir, run_plan, shard)?;
    assembled.figures.extend(sanity_figures);
    timings.insert("report".into(), t.elapsed().as_secs_f64());
    timings.insert("total".into(), started.elapsed().as_secs_f64());
    report::write_manifest(
        out_dir,
        &loaded.file,
        sets,
        config_hash,
        &opened.model,
        opened.runtime,
        &timings,
        &assembled,
        opened.head_report.as_ref().map(|h| &h.summary),
        shard,
        &opened.batches,
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

fn probe_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".lantern-write-test");
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("output folder {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

fn target_spec(config: &Config, names: Option<&ClassNames>) -> Result<TargetSpec> {
    let t = &config.targets;
    match t.mode {
        TargetMode::Top1 => Ok(TargetSpec::Top1),
        TargetMode::Label => Ok(TargetSpec::Label),
        TargetMode::TopK => Ok(TargetSpec::TopK(t.k.max(1))),
        TargetMode::Class => {
            let class = t.class.as_ref().ok_or_else(|| {
                anyhow!("targets.mode = \"class\" needs targets.class (an index or a name)")
            })?;
            TargetSpec::parse(&value_text(class), t.k, names)
        }
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
