//! The `[data]` section → a dataset (lantern-data loaders) with the selection applied.

use crate::config::{Config, DataKind, DataSection};
use anyhow::{Result, anyhow, bail};
use lantern_data::Dataset;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Object boxes per image path (original-image pixels), for the pointing games.
pub type Boxes = HashMap<PathBuf, Vec<lantern_data::PixelBox>>;

pub fn load(config: &Config, config_path: &Path) -> Result<(Dataset, Boxes)> {
    let mut boxes = Boxes::new();
    let mut dataset = relabel(
        load_section(&config.data, config, config_path)?,
        &config.data,
        config,
    )?;
    attach_boxes(&config.data, &dataset, &mut boxes)?;
    for extra in &config.data.extra {
        let more = relabel(load_section(extra, config, config_path)?, extra, config)?;
        attach_boxes(extra, &more, &mut boxes)?;
        dataset = concatenate(dataset, more);
    }
    if dataset.samples.is_empty() {
        bail!(
            "{}: the dataset is empty after selection",
            config_path.display()
        );
    }
    Ok((dataset, boxes))
}

/// A `[data]` source's `map` onto the head's class names (or the classes the map names):
/// labels it does not name become unlabelled, so those images are still explained.
fn relabel(dataset: Dataset, d: &DataSection, config: &Config) -> Result<Dataset> {
    if d.map.is_empty() {
        return Ok(dataset);
    }
    let classes = config
        .model
        .head
        .as_ref()
        .and_then(|h| h.class_names.clone())
        .unwrap_or_else(|| crate::class_map::classes_of(&d.map));
    Ok(crate::class_map::apply(dataset, &d.map, &classes, true)?.dataset)
}

/// Boxes of a section's `boxes` CSV, matched to its samples by id or file name.
fn attach_boxes(d: &DataSection, dataset: &Dataset, boxes: &mut Boxes) -> Result<()> {
    let Some(csv) = &d.boxes else { return Ok(()) };
    let table = lantern_data::load_boxes(csv)?;
    for s in &dataset.samples {
        let file = s
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(b) = table.get(&s.id).or_else(|| table.get(file)) {
            boxes.insert(s.path.clone(), b.clone());
        }
    }
    Ok(())
}

/// Appends `b` to `a`, merging class lists by name and remapping `b`'s labels.
fn concatenate(mut a: Dataset, b: Dataset) -> Dataset {
    let mut map = Vec::with_capacity(b.classes.len());
    for name in &b.classes {
        let index = match a.classes.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                a.classes.push(name.clone());
                a.classes.len() - 1
            }
        };
        map.push(index);
    }
    for mut s in b.samples {
        s.label = s.label.map(|l| map[l]);
        a.samples.push(s);
    }
    a.notes.extend(b.notes);
    a
}

/// One source (`[data]`, a `[[data.extra]]`, or a head's train/evaluate source) with its
/// selection applied; its `map`, if any, is applied by the caller.
pub fn load_section(d: &DataSection, config: &Config, config_path: &Path) -> Result<Dataset> {
    let missing = |p: &Path| {
        anyhow!(
            "{}: data folder {} does not exist{}",
            config_path.display(),
            p.display(),
            if p.starts_with("data") {
                " (run `just fetch`)"
            } else {
                ""
            }
        )
    };
    // The source's root folder, which must exist.
    let root = || -> Result<PathBuf> {
        let root = d.root.clone().ok_or_else(|| {
            anyhow!(
                "{}: data.kind = {:?} needs data.root",
                config_path.display(),
                d.kind.name()
            )
        })?;
        if !root.is_dir() {
            return Err(missing(&root));
        }
        Ok(root)
    };
    let mut dataset = match d.kind {
        DataKind::List => {
            if d.images.is_empty() {
                bail!(
                    "{}: data.kind = \"list\" needs data.images = [\"path\", …]",
                    config_path.display()
                );
            }
            Dataset::from_paths(config.experiment.name.clone(), d.images.iter().cloned())
        }
        DataKind::Folder => {
            let root = root()?;
            Dataset::folder_of_images(&root)?
        }
        DataKind::ImageFolder => {
            let root = root()?;
            let all = Dataset::image_folder(&root)?;
            match d.split.as_deref() {
                None => all,
                Some(part @ ("train" | "validation")) => {
                    let head = config.model.head.as_ref().ok_or_else(|| {
                        anyhow!("{}: data.split needs [model.head] (the split is the head's train/validation split)", config_path.display())
                    })?;
                    let split = all.stratified_split(head.validation, config.experiment.seed)?;
                    if part == "train" {
                        split.train
                    } else {
                        split.validation
                    }
                }
                Some(other) => bail!(
                    "{}: data.split = {other:?}: expected \"train\" or \"validation\"",
                    config_path.display()
                ),
            }
        }
        DataKind::PlantPathology2020 => {
            let root = root()?;
            match &d.csv {
                Some(csv) => Dataset::plant_pathology_2020_from(csv, root.join("images"))?,
                None => Dataset::plant_pathology_2020(&root)?,
            }
        }
        DataKind::PlantPathology2021 => {
            let root = root()?;
            match &d.csv {
                Some(csv) => Dataset::plant_pathology_2021_from(csv, root.join("train_images"))?,
                None => Dataset::plant_pathology_2021(&root)?,
            }
        }
    };
    if let Some(n) = d.per_class {
        dataset = dataset.per_class(n);
    }
    if let Some(n) = d.limit {
        dataset = dataset.limit(n);
    }
    Ok(dataset)
}
