//! The head's training set: `[model.head.train]` — any data source, with the keys of `[data]`
//! — or the older `train_root` (an ImageFolder), relabelled onto the head's class names.
//!
//! With a `map`, the source's labels become class names through it and every label it does not
//! name is left out and counted (Plant Pathology 2020's `multiple_diseases` unless mapped to a
//! class of its own). Without one, an ImageFolder's class folders are the classes in folder
//! order, renamed by `class_names` when given (what `train_root` always did).

use crate::class_map;
use crate::config::{Config, DataKind, DataSection, HeadSection};
use anyhow::{Context as _, Result, bail};
use lantern_data::Dataset;
use std::collections::BTreeMap;
use std::path::Path;

/// What the head is fitted on.
pub struct TrainingSet {
    pub dataset: Dataset,
    pub classes: Vec<String>,
    /// Samples the class map left out, by reason.
    pub left_out: BTreeMap<String, usize>,
    /// The source in words, for the manifest: `plant-pathology-2020 data/plant-pathology-2020`.
    pub source: String,
}

/// The source `[model.head]` names: `train`, or `train_root` as an ImageFolder.
pub fn source(head: &HeadSection) -> Result<DataSection> {
    let mut source = match (&head.train_root, &head.train) {
        (Some(root), None) => DataSection {
            kind: DataKind::ImageFolder,
            root: Some(root.clone()),
            ..DataSection::default()
        },
        (None, Some(train)) => train.clone(),
        (Some(_), Some(_)) => {
            bail!("[model.head]: give train_root or [model.head.train], not both")
        }
        (None, None) => bail!(
            "[model.head]: no training data: set train_root = \"folder\" or a [model.head.train] source (kind, root, map)"
        ),
    };
    if source.split.is_some() {
        bail!("[model.head.train]: split is for [data] sources (the head makes its own split)");
    }
    if source.per_class.is_none() {
        source.per_class = head.per_class;
    }
    Ok(source)
}

/// A data source in messages: its kind and root folder.
pub fn describe(source: &DataSection) -> String {
    let root = source.root.as_deref().map(|r| r.display().to_string());
    format!("{} {}", source.kind.name(), root.unwrap_or_default())
}

pub fn training_set(config: &Config, head: &HeadSection) -> Result<TrainingSet> {
    let source = source(head)?;
    let what = describe(&source);
    let loaded = crate::datasets::load_section(&source, config, Path::new("[model.head.train]"))
        .with_context(|| format!("[model.head] training data ({what})"))?;
    let (dataset, classes, left_out) = if source.map.is_empty() {
        let classes = match &head.class_names {
            Some(names) if names.len() == loaded.classes.len() => names.clone(),
            Some(names) => bail!(
                "[model.head] class_names has {} names but the training source ({what}) has {} classes ({}); name them in order, or give the source a map",
                names.len(),
                loaded.classes.len(),
                loaded.classes.join(", ")
            ),
            None => loaded.classes.clone(),
        };
        let mut dataset = loaded;
        dataset.classes = classes.clone();
        (dataset, classes, BTreeMap::new())
    } else {
        let classes = head
            .class_names
            .clone()
            .unwrap_or_else(|| class_map::classes_of(&source.map));
        let mapped = class_map::apply(loaded, &source.map, &classes, false)
            .with_context(|| format!("[model.head.train] ({what})"))?;
        (mapped.dataset, classes, mapped.left_out)
    };
    let counts = dataset.class_counts();
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        bail!(
            "[model.head] training data ({what}) has usable images in {} class(es); need at least 2",
            counts.iter().filter(|&&c| c > 0).count()
        );
    }
    if let Some(empty) = classes.iter().zip(&counts).find(|(_, c)| **c == 0) {
        bail!(
            "[model.head] class {:?} has no training image in {what}: drop it from class_names or map a label onto it",
            empty.0
        );
    }
    Ok(TrainingSet {
        dataset,
        classes,
        left_out,
        source: what,
    })
}
