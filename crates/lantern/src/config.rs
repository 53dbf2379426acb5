//! The experiment file: serde structs with unknown keys rejected, errors located as
//! `file:line:column`, `--set key=value` overrides and `[sweep]` expansion applied to the TOML
//! tree before it is typed (so a sweep over a key that does not exist fails like a typo would).

use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::Preset;
use lantern_runtime::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub experiment: ExperimentSection,
    pub model: ModelSection,
    #[serde(default)]
    pub runtime: RuntimeSection,
    pub data: DataSection,
    #[serde(default)]
    pub targets: TargetsSection,
    /// One table per method: `[methods.occlusion] window = 32`, in the order of the file.
    pub methods: toml::Table,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub output: OutputSection,
    /// The model parameter randomisation sanity check (optional).
    #[serde(default)]
    pub sanity: Option<SanitySection>,
    /// `"occlusion.window" = [16, 32]`: config paths (a method name first means `methods.<path>`)
    /// to lists; the cartesian product of all lists is run.
    #[serde(default)]
    pub sweep: BTreeMap<String, Vec<toml::Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The ONNX classifier (relative paths are relative to the project root).
    pub path: PathBuf,
    /// Preprocessing preset: `imagenet`, `imagenet-squash`, `caffe`, `raw` (see `lantern-data`).
    #[serde(default = "default_preprocess")]
    pub preprocess: Preset,
    /// Explicit overrides of the preset.
    #[serde(default)]
    pub mean: Option<[f32; 3]>,
    #[serde(default)]
    pub std: Option<[f32; 3]>,
    #[serde(default)]
    pub resize: Option<u32>,
    #[serde(default)]
    pub crop: Option<u32>,
    /// Class names: ImageNet `imagenet_classes.txt` / `imagenet_class_index.tsv`, or one per line.
    #[serde(default)]
    pub labels: Option<PathBuf>,
    /// The CAM layer: `auto` (the one `lantern layers` marks) or a tensor name.
    #[serde(default = "default_layer")]
    pub layer: String,
    /// Fit a linear head on a backbone (plant classifier); see `head.rs`.
    #[serde(default)]
    pub head: Option<HeadSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadSection {
    /// Labelled images (ImageFolder layout) the head is fitted on: shorthand for
    /// `[model.head.train] kind = "imagefolder"`, `root = …`. Give this or `train`.
    #[serde(default)]
    pub train_root: Option<PathBuf>,
    /// The data source the head is fitted on: the keys of `[data]`, with `map` from the
    /// source's labels to `class_names` (see `head/train.rs`).
    #[serde(default)]
    pub train: Option<DataSection>,
    /// Data sources scored after fitting (`[[model.head.evaluate]]`, same keys): the field
    /// accuracy in the manifest, report and summary.
    #[serde(default)]
    pub evaluate: Vec<DataSection>,
    /// How training images are turned into feature rows (`[model.head.augment]`): the lab →
    /// field levers; see `head/augment.rs`.
    #[serde(default)]
    pub augment: Option<crate::head::augment::AugmentSection>,
    /// The feature tensor: `auto` = the input of the final Gemm/MatMul.
    #[serde(default = "default_layer")]
    pub features: String,
    #[serde(default = "default_validation")]
    pub validation: f64,
    #[serde(default = "default_l2")]
    pub l2: f64,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Display names for the classes: in folder order for an ImageFolder source without
    /// `map`, else the classes `map` maps onto (order = the head's class indices).
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
    #[serde(default)]
    pub per_class: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    /// `cpu`, `cuda` (or `gpu`) or `auto`.
    #[serde(default)]
    pub device: Device,
    #[serde(default)]
    pub threads: Option<usize>,
    /// Images per ONNX Runtime call, or `"auto"`: as many as fit `memory_budget_mb`.
    #[serde(default)]
    pub batch: BatchSize,
    /// The memory budget `batch = "auto"` sizes batches for.
    #[serde(default = "default_budget")]
    pub memory_budget_mb: u64,
    #[serde(default)]
    pub library: Option<PathBuf>,
}

impl Default for RuntimeSection {
    fn default() -> Self {
        RuntimeSection {
            device: Device::default(),
            threads: None,
            batch: BatchSize::default(),
            memory_budget_mb: default_budget(),
            library: None,
        }
    }
}

/// `batch = 32` or `batch = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchSize {
    Fixed(usize),
    Auto(AutoWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoWord {
    Auto,
}

impl Default for BatchSize {
    fn default() -> Self {
        BatchSize::Fixed(32)
    }
}

/// `[sanity]`: the model parameter randomisation test (see `sanity.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanitySection {
    /// Methods to check (their `[methods.*]` parameters are used when present).
    pub methods: Vec<String>,
    /// The first N usable images of the dataset.
    #[serde(default = "default_sanity_images")]
    pub images: usize,
    /// Layers randomised per step (1 = every layer, as in the paper).
    #[serde(default = "default_sanity_step")]
    pub layers_step: usize,
    /// Stop after this many layers (from the top).
    #[serde(default)]
    pub max_layers: Option<usize>,
}

fn default_sanity_images() -> usize {
    2
}
fn default_sanity_step() -> usize {
    4
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Where the images come from; the keys each kind needs are checked when it loads.
    pub kind: DataKind,
    #[serde(default)]
    pub root: Option<PathBuf>,
    #[serde(default)]
    pub images: Vec<PathBuf>,
    #[serde(default)]
    pub csv: Option<PathBuf>,
    /// Keep at most this many images (deterministic: the first ones in dataset order).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Keep at most this many images per class.
    #[serde(default)]
    pub per_class: Option<usize>,
    /// For `imagefolder`: use only the held-out validation part of the head's split.
    #[serde(default)]
    pub split: Option<String>,
    /// Object boxes for the pointing games: CSV `image,x0,y0,x1,y1` in original-image pixels
    /// (`image` = the sample id or its file name).
    #[serde(default)]
    pub boxes: Option<PathBuf>,
    /// More sources appended to this one (`[[data.extra]]`, same keys); class lists are merged.
    #[serde(default)]
    pub extra: Vec<DataSection>,
    /// Class mapping from the source's labels to class names (`rust = "cedar apple rust"`):
    /// labels not named are left out of a head's train/evaluate source and counted, and become
    /// unlabelled in `[data]` (see `class_map.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
}

/// `data.kind`. A plain tag beside the section's other keys rather than
/// `#[serde(tag = "kind")]` on a per-kind enum: serde cannot combine an internally tagged enum
/// with `deny_unknown_fields` on the shared keys (`limit`, `boxes`, `extra`, …), and buffering
/// the table would lose toml's spans, i.e. the `file:line` of a misspelled key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DataKind {
    /// Explicit `images`.
    #[default]
    #[serde(rename = "list")]
    List,
    /// Every image in `root`.
    #[serde(rename = "folder")]
    Folder,
    /// One folder per class under `root`.
    #[serde(rename = "imagefolder")]
    ImageFolder,
    /// Kaggle `train.csv` + `images/` under `root`.
    #[serde(rename = "plant-pathology-2020")]
    PlantPathology2020,
    /// Kaggle 2021 `train.csv` (space-separated labels) + `train_images/` under `root`.
    #[serde(rename = "plant-pathology-2021")]
    PlantPathology2021,
}

impl DataKind {
    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::List => "list",
            DataKind::Folder => "folder",
            DataKind::ImageFolder => "imagefolder",
            DataKind::PlantPathology2020 => "plant-pathology-2020",
            DataKind::PlantPathology2021 => "plant-pathology-2021",
        }
    }
}

/// `targets.mode`: which classes each image is explained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TargetMode {
    /// The predicted class.
    #[default]
    #[serde(rename = "top1")]
    Top1,
    /// The dataset's label.
    #[serde(rename = "label")]
    Label,
    /// `targets.class` (an index or a name).
    #[serde(rename = "class")]
    Class,
    /// The `targets.k` most probable classes.
    #[serde(rename = "top-k")]
    TopK,
}

/// `output.panels`: the per-image figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Panels {
    /// Image | heatmap | overlay.
    #[default]
    Three,
    /// Image | heatmap: the study's saliency figure.
    Two,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsSection {
    #[serde(default)]
    pub mode: TargetMode,
    /// For `class`: an index or a class name.
    #[serde(default)]
    pub class: Option<toml::Value>,
    #[serde(default = "default_k")]
    pub k: usize,
}

impl Default for TargetsSection {
    fn default() -> Self {
        TargetsSection {
            mode: TargetMode::default(),
            class: None,
            k: default_k(),
        }
    }
}

/// No `deny_unknown_fields` here: serde rejects every key of a flattened map with it, so
/// `typed` refuses keys other than `list` that are not tables instead.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetricsSection {
    /// Metric names, e.g. `["deletion", "insertion"]`.
    #[serde(default)]
    pub list: Vec<String>,
    /// Per-metric settings: `[metrics.deletion] step = 224`.
    #[serde(flatten)]
    pub settings: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Write a figure per image × method.
    #[serde(default = "yes")]
    pub figures: bool,
    /// Write a methods-comparison grid per experiment (first `grid_images` images).
    #[serde(default = "default_grid_images")]
    pub grid_images: usize,
    #[serde(default)]
    pub panels: Panels,
    /// With `panels = "two"`: add the heatmap-over-image panel after the two.
    #[serde(default)]
    pub overlay: bool,
    /// Clip map values for display at this percentile, Captum's `visualize_image_attr`
    /// convention (cumulative-sum threshold; 100 = no clipping). See `figure_style.rs`.
    #[serde(default = "default_clip_percentile")]
    pub clip_percentile: f32,
    /// Colormap of unsigned maps: `jet`, `hot`, `gray` (or `viridis`); signed maps stay red-blue.
    #[serde(default = "default_colormap")]
    pub colormap: String,
    /// The file format of figures: `png` (default) or `svg`.
    #[serde(default)]
    pub format: lantern_plot::FigureFormat,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            figures: true,
            grid_images: default_grid_images(),
            panels: Panels::default(),
            overlay: false,
            clip_percentile: default_clip_percentile(),
            colormap: default_colormap(),
            format: Default::default(),
        }
    }
}

fn default_clip_percentile() -> f32 {
    99.0
}
fn default_colormap() -> String {
    "jet".into()
}

fn default_preprocess() -> Preset {
    Preset::Imagenet
}
fn default_layer() -> String {
    "auto".into()
}
fn default_budget() -> u64 {
    2048
}
fn default_k() -> usize {
    3
}
fn default_validation() -> f64 {
    0.2
}
fn default_l2() -> f64 {
    1e-3
}
fn default_epochs() -> usize {
    200
}
fn default_grid_images() -> usize {
    4
}
fn yes() -> bool {
    true
}

/// The most sweep points one experiment may have.
pub const MAX_SWEEP_POINTS: usize = 10_000;

/// A loaded experiment: the raw TOML tree (for sweeps and overrides) and where it came from.
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    pub path: PathBuf,
    pub source: String,
    pub tree: toml::Table,
    /// Whether `--set` changed the tree (then errors cannot always point into the file).
    pub overridden: bool,
}

/// One point of the sweep: the overridden paths and values (empty without a sweep).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepPoint {
    pub values: Vec<(String, toml::Value)>,
}

impl SweepPoint {
    /// A short stable label for file names: `window=32,stride=14`.
    pub fn slug(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), value_text(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl ExperimentFile {
    pub fn load(path: &Path) -> Result<ExperimentFile> {
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment file {}", path.display()))?;
        let tree: toml::Table = toml::from_str(&source).map_err(|e| locate(path, &source, &e))?;
        Ok(ExperimentFile {
            path: path.to_path_buf(),
            source,
            tree,
            overridden: false,
        })
    }

    /// Applies `--set key=value` (value parsed as TOML, else taken as a string).
    pub fn apply_set(&mut self, assignment: &str) -> Result<()> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            anyhow!("--set {assignment:?}: expected key=value, e.g. --set runtime.batch=16")
        })?;
        let value = parse_value(value.trim());
        let path = self.resolve_path(key.trim());
        set_path(&mut self.tree, &path, value).with_context(|| format!("--set {assignment}"))?;
        self.overridden = true;
        // Re-type now so a bad key or value is reported against the override, not later.
        self.typed(&SweepPoint::default())
            .with_context(|| format!("after --set {assignment}"))?;
        Ok(())
    }

    /// A sweep key names a config path; a leading method name means `methods.<key>`.
    pub fn resolve_path(&self, key: &str) -> Vec<String> {
        let parts: Vec<String> = key.split('.').map(str::to_string).collect();
        let top_level = [
            "experiment",
            "model",
            "runtime",
            "data",
            "targets",
            "methods",
            "metrics",
            "output",
            "sweep",
            "sanity",
        ];
        if top_level.contains(&parts[0].as_str()) {
            parts
        } else {
            std::iter::once("methods".to_string())
                .chain(parts)
                .collect()
        }
    }

    /// The typed config at one sweep point. Errors name the file (and line when TOML knows it).
    pub fn typed(&self, point: &SweepPoint) -> Result<Config> {
        if point.values.is_empty() && !self.overridden {
            // The file as written: serde's spans point at the offending key or value.
            let config = toml::from_str::<Config>(&self.source)
                .map_err(|e| locate(&self.path, &self.source, &e))?;
            self.check_metrics(&config)?;
            return Ok(config);
        }
        let mut tree = self.tree.clone();
        tree.remove("sweep");
        for (key, value) in &point.values {
            let path = self.resolve_path(key);
            set_path(&mut tree, &path, value.clone())
                .with_context(|| format!("{}: [sweep] key {key:?}", self.path.display()))?;
        }
        let text = toml::to_string(&tree)?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            // Errors in the merged tree: report them against the original file, locating the key.
            let message = e.message().to_string();
            let line = e
                .span()
                .and_then(|span| text.get(span))
                .and_then(|snippet| {
                    find_line(
                        &self.source,
                        snippet.split('=').next().unwrap_or(snippet).trim(),
                    )
                });
            let during = match point.values.is_empty() {
                true => "with the --set overrides".to_string(),
                false => format!("at sweep point {}", point.slug()),
            };
            match line {
                Some(line) => anyhow!("{}:{line}: {message} ({during})", self.path.display()),
                None => anyhow!("{}: {message} ({during})", self.path.display()),
            }
        })?;
        config.sweep = self.sweep_lists()?;
        self.check_metrics(&config)?;
        Ok(config)
    }

    /// `[metrics]` holds `list` and one table of settings per metric; anything else is a typo.
    fn check_metrics(&self, config: &Config) -> Result<()> {
        for (key, value) in &config.metrics.settings {
            if !value.is_table() {
                let line = find_line(&self.source, key)
                    .map(|l| format!(":{l}"))
                    .unwrap_or_default();
                bail!(
                    "{}{line}: [metrics] {key}: unknown key (expected `list` or a [metrics.<name>] table of settings)",
                    self.path.display()
                );
            }
        }
        Ok(())
    }

    fn sweep_lists(&self) -> Result<BTreeMap<String, Vec<toml::Value>>> {
        let Some(sweep) = self.tree.get("sweep") else {
            return Ok(BTreeMap::new());
        };
        let table = sweep.as_table().ok_or_else(|| {
            anyhow!(
                "{}: [sweep] must be a table of key = [values]",
                self.path.display()
            )
        })?;
        let mut out = BTreeMap::new();
        for (k, v) in table {
            let list = v.as_array().ok_or_else(|| {
                anyhow!(
                    "{}:{}: [sweep] {k:?} must be a list of values, e.g. {k:?} = [16, 32]",
                    self.path.display(),
                    find_line(&self.source, k).unwrap_or(0)
                )
            })?;
            if list.is_empty() {
                bail!("{}: [sweep] {k:?} is an empty list", self.path.display());
            }
            out.insert(k.clone(), list.clone());
        }
        Ok(out)
    }

    /// Every sweep point (the cartesian product, in key order; one empty point without a sweep).
    pub fn sweep_points(&self) -> Result<Vec<SweepPoint>> {
        let lists = self.sweep_lists()?;
        // Count before enumerating: a typo'd sweep must not exhaust memory.
        let count = lists
            .values()
            .fold(1u128, |n, l| n.saturating_mul(l.len() as u128));
        if count > MAX_SWEEP_POINTS as u128 {
            bail!(
                "{}: [sweep] has {count} points (the product of its list lengths); at most {MAX_SWEEP_POINTS} are allowed",
                self.path.display()
            );
        }
        let mut points = vec![SweepPoint::default()];
        for (key, values) in &lists {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.values.push((key.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        // Type every point now: a bad sweep value fails before any work starts.
        for p in &points {
            self.typed(p)?;
        }
        Ok(points)
    }
}

fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

fn set_path(tree: &mut toml::Table, path: &[String], value: toml::Value) -> Result<()> {
    let (last, parents) = path.split_last().ok_or_else(|| anyhow!("empty key"))?;
    let mut table = tree;
    for p in parents {
        table = table
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or_else(|| anyhow!("{} is not a table", p))?;
    }
    table.insert(last.clone(), value);
    Ok(())
}

/// The 1-based line that assigns `key`, or, for a `[table]` header, the line that opens it.
pub fn find_line(source: &str, key: &str) -> Option<usize> {
    if key.starts_with('[') {
        return source.lines().position(|l| l.trim() == key).map(|i| i + 1);
    }
    let key = key.trim_matches('"');
    source
        .lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
                || l.starts_with(&format!("\"{key}\""))
        })
        .map(|i| i + 1)
}

fn locate(path: &Path, source: &str, e: &toml::de::Error) -> anyhow::Error {
    match e.span() {
        Some(span) => {
            let before = source.get(..span.start).unwrap_or(source);
            let line = before.matches('\n').count() + 1;
            // Name the key when the message does not (e.g. "invalid type: string, expected usize").
            let key = source
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().trim_matches('"'))
                .filter(|k| !k.is_empty() && !k.starts_with('[') && !e.message().contains(*k));
            match key {
                Some(key) => anyhow!("{}:{line}: {key}: {}", path.display(), e.message()),
                None => anyhow!("{}:{line}: {}", path.display(), e.message()),
            }
        }
        None => anyhow!("{}: {}", path.display(), e.message()),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
