//! Steps shared by `run` and `explain`: opening the runtime and model, preprocessing, class
//! names, target resolution, and writing one explanation's map and figure.

use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::{ClassNames, Layout as DataLayout, ModelInput, Preprocess, Preset};
use lantern_explain::Explanation;
use lantern_runtime::{Device, Model, Runtime, RuntimeOptions};
use ndarray::{Array2, ArrayView1};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Opens the process-wide runtime. CLI flags win over the config.
pub fn open_runtime(
    device: Option<&str>,
    threads: Option<usize>,
    library: Option<PathBuf>,
) -> Result<&'static Runtime> {
    let device = Device::from_str(device.unwrap_or("cpu"))?;
    Ok(Runtime::init(RuntimeOptions {
        device,
        threads,
        library,
    })?)
}

pub fn load_model(runtime: &'static Runtime, path: &Path) -> Result<Model> {
    check_model_file(path)?;
    Ok(Model::load(runtime, path)?)
}

/// A missing model file, with the command that provides the shipped ones.
pub fn check_model_file(path: &Path) -> Result<()> {
    if !path.is_file() {
        bail!(
            "model file {} does not exist{}",
            path.display(),
            if path.starts_with("data") {
                " (run `just fetch` to put the assets under data/)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The preprocessing for a model: a preset by name, adapted to the model's input (always NCHW:
/// the runtime transposes for NHWC models), with explicit overrides.
pub fn preprocess_for(
    model: &Model,
    preset: Preset,
    mean: Option<[f32; 3]>,
    std: Option<[f32; 3]>,
) -> Result<Preprocess> {
    let input = ModelInput::new(
        model.input.channels,
        model.input.height as u32,
        model.input.width as u32,
        DataLayout::Nchw,
    )?;
    let mut p = preset.for_model(input)?;
    if let Some(m) = mean {
        p.mean = m;
    }
    if let Some(s) = std {
        p.std = s;
    }
    Ok(p)
}

/// Class names for figures and `class = "name"` targets: the given file, else ImageNet's when
/// the model has 1000 classes and the assets are linked, else "class N".
pub fn class_names(path: Option<&Path>, classes: usize) -> Result<Option<ClassNames>> {
    if let Some(p) = path {
        return Ok(Some(
            ClassNames::load(p).with_context(|| format!("class names {}", p.display()))?,
        ));
    }
    if classes == 1000 {
        for candidate in [
            "data/imagenet/labels/imagenet_class_index.tsv",
            "data/imagenet/labels/imagenet_classes.txt",
        ] {
            let p = Path::new(candidate);
            if p.is_file() {
                return Ok(ClassNames::load(p).ok());
            }
        }
    }
    Ok(None)
}

pub fn class_name(names: Option<&ClassNames>, index: usize) -> String {
    names
        .and_then(|n| n.name(index))
        .map(str::to_string)
        .unwrap_or_else(|| format!("class {index}"))
}

/// How targets are chosen for an image.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    Top1,
    Label,
    Class(usize),
    TopK(usize),
}

impl TargetSpec {
    /// `top1`, `label`, `top-k` / `top3`, an index, or a class name.
    pub fn parse(text: &str, k: usize, names: Option<&ClassNames>) -> Result<TargetSpec> {
        Ok(match text {
            "top1" => TargetSpec::Top1,
            "label" => TargetSpec::Label,
            "top-k" => TargetSpec::TopK(k),
            t if t.starts_with("top") && t[3..].parse::<usize>().is_ok() => {
                TargetSpec::TopK(t[3..].parse()?)
            }
            t => match t.parse::<usize>() {
                Ok(i) => TargetSpec::Class(i),
                Err(_) => {
                    let names = names.ok_or_else(|| {
                        anyhow!("target {t:?} is a class name but no class names are loaded (set model.labels)")
                    })?;
                    TargetSpec::Class(
                        names
                            .index_of(t)
                            .map_err(|e| anyhow!("target {t:?}: {e}"))?,
                    )
                }
            },
        })
    }

    /// How many maps per image this spec asks for.
    pub fn slots(&self) -> usize {
        match self {
            TargetSpec::TopK(k) => *k,
            _ => 1,
        }
    }

    /// The target classes for one image, given its logits and dataset label.
    pub fn resolve(
        &self,
        logits: ArrayView1<f32>,
        label: Option<usize>,
        classes: usize,
    ) -> Result<Vec<usize>> {
        let targets =
            match self {
                TargetSpec::Top1 => vec![top_k(logits, 1)[0]],
                TargetSpec::TopK(k) => top_k(logits, *k),
                TargetSpec::Class(c) => vec![*c],
                TargetSpec::Label => vec![label.ok_or_else(|| {
                    anyhow!("targets.mode = \"label\" but this image has no label")
                })?],
            };
        if let Some(&bad) = targets.iter().find(|&&t| t >= classes) {
            bail!(
                "target class {bad} is out of range: the model has {classes} classes (0..{classes})"
            );
        }
        Ok(targets)
    }
}

/// Indices of the k largest logits, ties to the lower index (argmax convention).
pub fn top_k(logits: ArrayView1<f32>, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    idx.truncate(k.min(logits.len()));
    idx
}

/// Refuses a model output that is not finite, naming the image.
pub fn check_finite(logits: ArrayView1<f32>, image: &str) -> Result<()> {
    if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
        bail!(
            "the model output for {image} contains {} at class {i}; the model or its input is broken",
            logits[i]
        );
    }
    Ok(())
}

/// Files written for one explanation.
pub struct SavedMap {
    pub map_file: PathBuf,
    pub map_sha256: String,
}

/// Writes `<dir>/<file_stem>.npy` (raw map, float32) and, for CAM methods, `<file_stem>.raw.npy`
/// (the map at layer resolution).
pub fn save_map(dir: &Path, file_stem: &str, e: &Explanation) -> Result<SavedMap> {
    let map_file = dir.join(format!("{file_stem}.npy"));
    let bytes = lantern_data::write_npy_bytes(&e.map);
    crate::files::write_bytes(&map_file, &bytes)?;
    if let Some(raw) = &e.raw {
        let p = dir.join(format!("{file_stem}.raw.npy"));
        crate::files::write_bytes(&p, &lantern_data::write_npy_bytes(raw))?;
    }
    Ok(SavedMap {
        map_sha256: crate::files::sha256_hex(&bytes),
        map_file,
    })
}

/// Map statistics recorded with every row (until metrics say more).
pub fn map_stats(map: &Array2<f32>) -> Vec<(String, f64)> {
    let n = map.len().max(1) as f64;
    let mean = map.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = map.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    vec![
        (
            "map_min".into(),
            map.iter().copied().fold(f32::INFINITY, f32::min) as f64,
        ),
        (
            "map_max".into(),
            map.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64,
        ),
        ("map_mean".into(), mean),
        ("map_std".into(), var.sqrt()),
    ]
}

/// Whether a method's map is signed (diverging colour map in figures), by the method's name.
pub fn is_signed(method: &str) -> bool {
    lantern_explain::method_info(method).is_some_and(|i| i.signed)
}

/// Whether a method explains at a layer and so takes the experiment's `model.layer`.
pub fn takes_layer(method: &str) -> bool {
    lantern_explain::method_info(method).is_some_and(|i| i.takes_layer)
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
